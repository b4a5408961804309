// cf::progress: a tqdm-like progress line over any input range.
//
//   for (cf::Future<int> f : cf::progress(cf::as_completed(fs), {.description = "downloads"}))
//     use(f.result());
//   for (int r : cf::progress(pool.map(fn, xs))) use(r);
//
// While the loop runs, a terminal shows one line, redrawn at most ten times a second:
//
//   downloads:  45%|####5     | 9/20 [00:01<00:01,  8.18it/s]
//
// and keeps its final state when the range ends (or is destroyed early: a `break`, an
// exception). It adds no thread; per element it costs a counter and a clock read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace concurrent::futures {

// How cf::progress reports. Fields in declaration order, as designated initializers need.
struct ProgressOptions {
  // Shown before the count: "downloads: 45%|...". Empty: nothing.
  std::string description{};
  // The number of elements, for a range that has no size() (a map range): the line then shows
  // a percentage and the remaining time. Ignored when the range has a size.
  std::optional<std::size_t> total{};
  // Where the line is drawn, only if it is a terminal (isatty); otherwise nothing is written
  // unless `always_draw`.
  std::FILE* stream = stderr;
  // Called instead of drawing, on every redraw and once at the end, with the number of
  // elements done and the total (if known); for programs with a user interface of their own.
  // Its exceptions propagate out of the loop (from the destructor, they are reported on stderr).
  std::function<void(std::size_t done, std::optional<std::size_t> total)> on_update{};
  // Draw on `stream` even when it is not a terminal (a log file, a test's fake stream).
  bool always_draw = false;
};

namespace detail {

// tqdm's line (its format_meter with ascii=True): "downloads:  45%|####5     | 9/20
// [00:01<00:01,  8.18it/s]" with a total; "downloads: 9it [00:01,  8.18it/s]" without one (or
// once the count passes it). With a `width` the bar fills the line and the line is cut to it;
// without one the bar is ten characters wide.
std::string format_progress_line(std::string_view description, std::size_t done, std::optional<std::size_t> total,
                                 std::chrono::duration<double> elapsed, std::optional<int> width);

// The counting, throttling and drawing of one cf::progress range.
class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kRedrawInterval{100};

  // Throws std::invalid_argument if it would have to draw on a null `options.stream`.
  ProgressMeter(ProgressOptions options, std::optional<std::size_t> size);
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;
  // Writes the final line if the range was begun and not finished.
  ~ProgressMeter();

  // At begin(): starts the clock and shows 0 done (once).
  void start();
  // After each element.
  void count_one() {
    ++done_;
    const Clock::time_point now = Clock::now();
    if (now >= next_update_) update(now, false);
  }
  // At the end of the range: the final line (once).
  void finish();

 private:
  enum class Output { none, callback, stream };
  void update(Clock::time_point now, bool final);
  void draw(Clock::time_point now, bool final);

  ProgressOptions options_;
  std::optional<std::size_t> total_;
  Output output_;
  std::size_t done_ = 0;
  Clock::time_point started_;
  Clock::time_point next_update_ = Clock::time_point::max();  // nothing before start()
  std::size_t drawn_width_ = 0;                               // of the line on screen now
  bool started_once_ = false;
  bool finished_ = false;
};

// The range's size if it has one (std::size: a size() member, or an array).
template <class Range>
std::optional<std::size_t> size_of(Range& range) {
  if constexpr (requires { std::size(range); }) {
    return static_cast<std::size_t>(std::size(range));
  } else {
    return std::nullopt;
  }
}

}  // namespace detail

// The range returned by cf::progress: the wrapped range's elements, by the same reference
// category (a vector's by reference, an as_completed or map range's by value), counted as
// the loop goes. It owns a temporary range and refers to a named one. An input range:
// iterate it once.
//
//   std::vector<std::string> urls = ...;
//   for (const std::string& url : cf::progress(urls, {.description = "urls"})) fetch(url);
template <class Range>
class Progress {
  using BaseIterator = decltype(std::begin(std::declval<Range&>()));
  using BaseSentinel = decltype(std::end(std::declval<Range&>()));

 public:
  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = std::iter_value_t<BaseIterator>;
    using difference_type = std::iter_difference_t<BaseIterator>;
    using reference = std::iter_reference_t<BaseIterator>;

    iterator() = default;
    // The wrapped range's element, as its iterator gives it.
    reference operator*() const { return *current_; }
    // Moves on and counts the element just done.
    iterator& operator++() {
      ++current_;
      owner_->meter_.count_one();
      return *this;
    }
    void operator++(int) { ++*this; }
    // At the end of the wrapped range; the final line is written when it first is.
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class Progress;
    iterator(Progress* owner, BaseIterator current) : owner_(owner), current_(std::move(current)) {}
    bool at_end() const { return owner_->at_end(current_); }
    Progress* owner_ = nullptr;
    BaseIterator current_{};
  };

  Progress(Range&& range, ProgressOptions options)
      : range_(std::forward<Range>(range)), meter_(std::move(options), detail::size_of(range_)) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Starts the clock and shows the first line (0 done).
  iterator begin() {
    meter_.start();
    end_.emplace(std::end(range_));
    return iterator(this, std::begin(range_));
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  bool at_end(const BaseIterator& current) {
    if (!(current == *end_)) return false;
    meter_.finish();
    return true;
  }

  Range range_;  // the range itself if it was a temporary, else a reference to it
  std::optional<BaseSentinel> end_;
  detail::ProgressMeter meter_;
};

// Wraps `range` (anything with begin()/end(): an as_completed range, a map range, a container)
// in a Progress range that yields the same elements and reports how many are done. The total
// is the range's size when it has one, else `options.total`, else unknown (the line then
// shows the count and the rate).
template <class Range>
Progress<Range> progress(Range&& range, ProgressOptions options = {}) {
  return Progress<Range>(std::forward<Range>(range), std::move(options));
}

}  // namespace concurrent::futures
