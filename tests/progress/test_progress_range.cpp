// cf::progress over ranges (API.md "Progress"): the same elements by the same reference
// category, the total from the range's size or .total, .on_update instead of drawing (at most
// ten times a second, and once at the end), the line on a stream that is asked to draw (a
// memory stream standing in for a terminal: test_terminal.cpp runs a real one), nothing on a
// stream that is not a terminal, and the final line when the range ends or is destroyed early.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <forward_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

namespace cf = concurrent::futures;
using namespace std::chrono_literals;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

using Update = std::pair<std::size_t, std::optional<std::size_t>>;

// A FILE* writing into memory; text() is what was written so far.
class MemoryStream {
 public:
  MemoryStream() : file_(open_memstream(&data_, &size_)) {}
  MemoryStream(const MemoryStream&) = delete;
  MemoryStream& operator=(const MemoryStream&) = delete;
  ~MemoryStream() {
    std::fclose(file_);
    std::free(data_);
  }
  std::FILE* get() const { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

// Busy for `duration` (the time between elements is the subject of the throttling tests).
void busy_for(std::chrono::microseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
  }
}

TEST(Progress, YieldsTheSameElementsByTheSameReferenceCategory) {
  std::vector<int> numbers{1, 2, 3};
  for (int& x : cf::progress(numbers, {.on_update = [](std::size_t, std::optional<std::size_t>) {}})) x *= 10;
  EXPECT_EQ(numbers, (std::vector<int>{10, 20, 30})) << "a named range's elements by reference";

  static_assert(std::is_same_v<decltype(cf::progress(numbers)), cf::Progress<std::vector<int>&>>);
  static_assert(std::is_same_v<std::iter_reference_t<cf::Progress<std::vector<int>&>::iterator>, int&>);
  static_assert(std::is_same_v<std::iter_reference_t<cf::Progress<const std::vector<int>&>::iterator>, const int&>);
  using Completed = cf::AsCompleted<cf::Future<int>>;
  static_assert(std::is_same_v<decltype(cf::progress(std::declval<Completed>())), cf::Progress<Completed>>,
                "a temporary range is owned");
  static_assert(std::is_same_v<std::iter_reference_t<cf::Progress<Completed>::iterator>, cf::Future<int>>);
  static_assert(std::is_same_v<std::iter_reference_t<cf::Progress<cf::MapRange<int>>::iterator>, int>);

  int plain[] = {4, 5};
  int sum = 0;
  for (const int& x : cf::progress(plain)) sum += x;
  EXPECT_EQ(sum, 9);
}

TEST(Progress, WrapsAsCompletedAndMapRanges) {
  cf::ThreadPoolExecutor pool(2);
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([i] { return i; }));
  std::vector<Update> updates;
  const auto record = [&updates](std::size_t done, std::optional<std::size_t> total) {
    updates.emplace_back(done, total);
  };
  int sum = 0;
  for (cf::Future<int> f : cf::progress(cf::as_completed(fs, 30s), {.on_update = record})) sum += f.result();
  EXPECT_EQ(sum, 190);
  ASSERT_GE(updates.size(), 2u);
  EXPECT_EQ(updates.front(), Update(0, 20)) << "as_completed's size() is the total";
  EXPECT_EQ(updates.back(), Update(20, 20));

  updates.clear();
  std::vector<int> squares;
  for (int r : cf::progress(pool.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3}), {.on_update = record})) {
    squares.push_back(r);
  }
  EXPECT_EQ(squares, (std::vector<int>{1, 4, 9}));
  EXPECT_EQ(updates.back(), Update(3, std::nullopt)) << "a map range has no size";

  updates.clear();
  for (int r :
       cf::progress(pool.map([](int x) { return x; }, std::vector<int>{1, 2}), {.total = 2, .on_update = record})) {
    (void)r;
  }
  EXPECT_EQ(updates.front(), Update(0, 2)) << ".total stands in for a size";
  EXPECT_EQ(updates.back(), Update(2, 2));
}

TEST(Progress, TheRangesSizeWinsOverTotal) {
  std::vector<int> numbers(4);
  std::vector<Update> updates;
  for (int x : cf::progress(numbers, {.total = 99, .on_update = [&](std::size_t d, std::optional<std::size_t> t) {
                                        updates.emplace_back(d, t);
                                      }})) {
    (void)x;
  }
  EXPECT_EQ(updates.back(), Update(4, 4));
  std::forward_list<int> no_size{1, 2};
  updates.clear();
  for (int x : cf::progress(
           no_size, {.on_update = [&](std::size_t d, std::optional<std::size_t> t) { updates.emplace_back(d, t); }})) {
    (void)x;
  }
  EXPECT_EQ(updates.back(), Update(2, std::nullopt));
}

TEST(Progress, OnUpdateAtMostTenTimesASecondAndOnceAtTheEnd) {
  std::vector<int> numbers(400);
  std::vector<std::chrono::steady_clock::time_point> times;
  std::vector<std::size_t> counts;
  const auto started = std::chrono::steady_clock::now();
  for (int x : cf::progress(numbers, {.on_update = [&](std::size_t done, std::optional<std::size_t>) {
                              times.push_back(std::chrono::steady_clock::now());
                              counts.push_back(done);
                            }})) {
    (void)x;
    busy_for(1ms);  // 400 ms in all
  }
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_GE(times.size(), 3u) << "a start, at least one redraw in 400 ms, and the end";
  EXPECT_EQ(counts.front(), 0u);
  EXPECT_EQ(counts.back(), 400u);
  // The meter reads the clock just before calling on_update: allow the callbacks' own reads a
  // generous lag (a preempted thread) behind the 100 ms the meter keeps between its reads.
  for (std::size_t i = 1; i + 1 < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1], 50ms) << "redraw " << i << " came too soon";
    EXPECT_GT(counts[i], counts[i - 1]);
  }
  EXPECT_LE(times.size(), static_cast<std::size_t>(took / 100ms) + 2);
}

TEST(Progress, DrawsTheLineOnAStreamAskedToDraw) {
  MemoryStream stream;
  std::vector<int> numbers(5);
  for (int x : cf::progress(numbers, {.description = "test", .stream = stream.get(), .always_draw = true})) (void)x;
  const std::string text = stream.text();
  EXPECT_THAT(text, StartsWith("\rtest:   0%|          | 0/5 [00:00<?, ?it/s]"));
  // The final line, over the first, then a newline.
  EXPECT_THAT(text, MatchesRegex(".*\rtest: 100%\\|##########\\| 5/5 \\[[0-9:]+<[0-9:]+, +[0-9.]+it/s\\]\n"));
}

TEST(Progress, PrintsNothingOnAStreamThatIsNotATerminal) {
  MemoryStream stream;
  std::vector<int> numbers(5);
  for (int x : cf::progress(numbers, {.description = "quiet", .stream = stream.get()})) (void)x;
  EXPECT_EQ(stream.text(), "");
}

TEST(Progress, AnEarlyEndWritesTheFinalLine) {
  MemoryStream stream;
  std::vector<int> numbers(10);
  for (int& x : cf::progress(numbers, {.description = "cut", .stream = stream.get(), .always_draw = true})) {
    if (&x == &numbers[3]) break;
  }
  EXPECT_THAT(stream.text(), MatchesRegex(".*\rcut:  30%\\|###       \\| 3/10 \\[[0-9:]+<[0-9:]+, +[0-9.]+it/s\\]\n"));

  MemoryStream thrown;
  try {
    for (int& x : cf::progress(numbers, {.description = "boom", .stream = thrown.get(), .always_draw = true})) {
      if (&x == &numbers[2]) throw std::runtime_error("in the loop");
    }
  } catch (const std::runtime_error&) {
  }
  EXPECT_THAT(thrown.text(), MatchesRegex(".*\rboom:  20%\\|##        \\| 2/10 \\[.*\\]\n"));

  MemoryStream never;
  { auto unused = cf::progress(numbers, {.stream = never.get(), .always_draw = true}); }
  EXPECT_EQ(never.text(), "") << "a range never begun draws nothing";
}

TEST(Progress, OnUpdateErrorsPropagateOrAreReported) {
  std::vector<int> numbers(3);
  const auto throw_at_the_end = [](std::size_t done, std::optional<std::size_t> total) {
    if (done == total) throw std::runtime_error("ui gone");
  };
  const auto loop = [&] {
    for (int x : cf::progress(numbers, {.on_update = throw_at_the_end})) (void)x;
  };
  EXPECT_THROW(loop(), std::runtime_error);

  const auto throw_when_cut = [](std::size_t done, std::optional<std::size_t>) {
    if (done == 1) throw std::runtime_error("ui gone");
  };
  ::testing::internal::CaptureStderr();
  for (int& x : cf::progress(numbers, {.on_update = throw_when_cut})) {
    if (&x == &numbers[1]) break;  // the final update, from the destructor, throws
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "cf::progress: on_update threw at the end of the range: ui gone\n");
}

TEST(Progress, ANullStreamIsAnError) {
  std::vector<int> numbers(1);
  EXPECT_THROW((void)cf::progress(numbers, {.stream = nullptr}), std::invalid_argument);
  int count = 0;
  for (int x : cf::progress(
           numbers, {.stream = nullptr, .on_update = [&](std::size_t, std::optional<std::size_t>) { ++count; }})) {
    (void)x;
  }
  EXPECT_EQ(count, 2) << "with on_update the stream is not used";
}

}  // namespace
