// cf::wait and cf::as_completed: waiting on many futures at once.
//
//   std::vector<cf::Future<int>> fs = ...;
//   auto [done, not_done] = cf::wait(fs, 2s, cf::FIRST_COMPLETED);   // never throws on timeout
//   for (cf::Future<int> f : cf::as_completed(fs, 10s))               // in completion order
//     std::cout << f.result() << "\n";
//
// Both take any range (begin()/end()) of Future<T> or AnyFuture, a map whose keys are futures
// (Python's `future_to_url` dict: they wait on the keys), or a braced list; a future that
// appears twice counts once. A cancelled future counts as done from the moment cancel()
// returns (CPython can hang there: gh-87893, gh-109934).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures/detail/state.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures {

// When wait() returns.
enum class ReturnWhen {
  FIRST_COMPLETED,  // any future finishes or is cancelled
  FIRST_EXCEPTION,  // any future finishes by throwing; else as ALL_COMPLETED
  ALL_COMPLETED,    // every future finishes or is cancelled
};
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

// wait()'s result: each list in the order of first appearance in the input.
template <class F>
struct DoneAndNotDone {
  std::vector<F> done;
  std::vector<F> not_done;
};

namespace detail {

// Waits on distinct states; returns when `return_when` holds or `deadline` passes.
void wait_for_states(const std::vector<StateBase*>& states, ReturnWhen return_when,
                     std::optional<std::chrono::steady_clock::time_point> deadline);

template <class T>
inline constexpr bool is_future_handle_v = std::is_same_v<T, AnyFuture>;
template <class T>
inline constexpr bool is_future_handle_v<Future<T>> = true;

// The future in one element of a range: the element itself, or the key of a map's element
// (Python's wait() and as_completed() iterate a dict's keys, as in its future_to_url idiom).
template <class Element>
const auto& future_in(const Element& element) noexcept {
  if constexpr (is_future_handle_v<Element>) {
    return element;
  } else {
    return element.first;
  }
}

template <class Element, class = void>
struct future_of_element {
  using type = void;  // not a future
};
template <class Element>
struct future_of_element<Element, std::enable_if_t<is_future_handle_v<Element>>> {
  using type = Element;
};
template <class Element>
struct future_of_element<Element, std::enable_if_t<is_future_handle_v<std::remove_cv_t<decltype(Element::first)>>>> {
  using type = std::remove_cv_t<decltype(Element::first)>;
};

template <class Range, class = void>
struct future_of_range {
  using type = void;  // not a range
};
template <class Range>
struct future_of_range<Range, std::void_t<decltype(*std::begin(std::declval<const Range&>()))>> {
  using type =
      typename future_of_element<std::remove_cvref_t<decltype(*std::begin(std::declval<const Range&>()))>>::type;
};

// The handle type that wait() and as_completed() return for a range: Future<T> or AnyFuture;
// void if `Range` is not a range of futures (nor a map whose keys are futures).
template <class Range>
using future_of_t = typename future_of_range<Range>::type;

// The one error for anything else (checked before anything is instantiated with it).
template <class F>
constexpr bool check_future_range() {
  static_assert(is_future_handle_v<F>,
                "cf::wait and cf::as_completed take a range (begin()/end()) of cf::Future<T> or cf::AnyFuture, "
                "or a map whose keys are futures (std::map, std::unordered_map: its keys are waited on, as Python "
                "iterates a dict)");
  return is_future_handle_v<F>;
}

// A set of pointers in one flat array (open addressing, linear probing): deduplicating the
// futures of a wait() allocates nothing per future and copies no handle twice.
class PointerSet {
 public:
  // Inserts `p`; false if it was already there.
  bool insert(const void* p) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = slot_of(p);
    while (slots_[i] != nullptr) {
      if (slots_[i] == p) return false;
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = p;
    ++size_;
    return true;
  }

 private:
  std::size_t slot_of(const void* p) const noexcept {  // Fibonacci hashing of the address
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(p) >> 4) * 0x9E3779B97F4A7C15ull) &
           (slots_.size() - 1);
  }
  void grow() {
    std::vector<const void*> old(slots_.empty() ? 16 : slots_.size() * 2, nullptr);
    old.swap(slots_);
    size_ = 0;
    for (const void* p : old) {
      if (p != nullptr) insert(p);
    }
  }
  std::vector<const void*> slots_;
  std::size_t size_ = 0;
};

// The distinct futures of `fs` in order of first appearance.
template <class F, class Range>
std::vector<F> unique_futures(const Range& fs) {
  std::vector<F> unique;
  PointerSet seen;
  for (const auto& element : fs) {
    const F& f = future_in(element);
    if (seen.insert(HandleAccess::state(f))) unique.push_back(f);
  }
  return unique;
}

template <class F, class Range>
DoneAndNotDone<F> wait_impl(const Range& fs, ReturnWhen return_when,
                            std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::vector<F> unique = unique_futures<F>(fs);
  std::vector<StateBase*> states;
  states.reserve(unique.size());
  for (const auto& f : unique) states.push_back(HandleAccess::state(f));
  wait_for_states(states, return_when, deadline);
  DoneAndNotDone<F> result;
  for (std::size_t i = 0; i < unique.size(); ++i) {
    (states[i]->done() ? result.done : result.not_done).push_back(std::move(unique[i]));
  }
  return result;
}

// The shared part of as_completed: a waiter that queues futures as they complete.
class CompletionQueue final : public Waiter {
 public:
  // `states` are distinct; next() returns positions in it.
  explicit CompletionQueue(const std::vector<StateBase*>& states);
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;
  ~CompletionQueue();
  // Position of the next completed state (those done at construction first, in input order);
  // throws TimeoutError with "N (of M) futures unfinished" once `deadline` passes with nothing
  // completed. The queue never touches a returned state again, so the caller may free it.
  std::size_t next(std::optional<std::chrono::steady_clock::time_point> deadline, std::size_t unfinished);
  void on_done(StateBase& state) noexcept override;

 private:
  std::size_t position_of(const StateBase* state) const noexcept;

  std::vector<StateBase*> states_;
  std::vector<std::pair<const StateBase*, std::size_t>> by_address_;  // sorted, for position_of
  std::vector<char> registered_;  // by position: this waiter is registered on the state
  std::vector<char> returned_;    // by position: next() returned it (reader only)
  SpinLock lock_;
  std::vector<std::size_t> arrived_ CF_GUARDED_BY(lock_);
  std::size_t next_arrived_ = 0;          // consumed prefix of arrived_ (touched by the reader only)
  std::atomic<std::uint32_t> signal_{0};  // futex word: bumped on every arrival
  std::atomic<bool> sleeping_{false};     // the reader is (about to be) in futex_wait
};

}  // namespace detail

// Waits until `return_when` holds for the futures in `fs` (or forever). `fs` is a range of
// futures, or a map whose keys are futures.
template <class Range>
auto wait(const Range& fs, ReturnWhen return_when = ALL_COMPLETED) {
  using F = detail::future_of_t<Range>;
  if constexpr (detail::check_future_range<F>()) return detail::wait_impl<F>(fs, return_when, std::nullopt);
}
// As above, but returns the partial result once `timeout` passes (never throws TimeoutError).
template <class Range, class Rep, class Period>
auto wait(const Range& fs, std::chrono::duration<Rep, Period> timeout, ReturnWhen return_when = ALL_COMPLETED) {
  using F = detail::future_of_t<Range>;
  if constexpr (detail::check_future_range<F>()) {
    return detail::wait_impl<F>(fs, return_when, detail::deadline_after(timeout));
  }
}
template <class F>
auto wait(std::initializer_list<F> fs, ReturnWhen return_when = ALL_COMPLETED) {
  if constexpr (detail::check_future_range<F>()) return detail::wait_impl<F>(fs, return_when, std::nullopt);
}
template <class F, class Rep, class Period>
auto wait(std::initializer_list<F> fs, std::chrono::duration<Rep, Period> timeout,
          ReturnWhen return_when = ALL_COMPLETED) {
  if constexpr (detail::check_future_range<F>()) {
    return detail::wait_impl<F>(fs, return_when, detail::deadline_after(timeout));
  }
}

// The lazy range returned by as_completed(): yields each distinct future once, those already
// done first (in input order), then each as it completes. It holds no reference to a future
// it has yielded. With a timeout, reading past the deadline throws TimeoutError("N (of M)
// futures unfinished"). Nothing is cancelled on timeout.
template <class F>
class AsCompleted {
 public:
  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = F;
    using difference_type = std::ptrdiff_t;
    using reference = F;

    iterator() = default;
    // Waits for the next future to complete (or the deadline) and returns it.
    F operator*() const { return owner_->current(); }
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class AsCompleted;
    bool at_end() const { return owner_->yielded_ == owner_->futures_.size(); }
    explicit iterator(AsCompleted* owner) : owner_(owner) {}
    AsCompleted* owner_ = nullptr;
  };

  template <class Range>
  AsCompleted(const Range& fs, std::optional<std::chrono::steady_clock::time_point> deadline)
      : deadline_(deadline), futures_(detail::unique_futures<F>(fs)) {
    std::vector<detail::StateBase*> states;
    states.reserve(futures_.size());
    for (const auto& f : futures_) states.push_back(detail::HandleAccess::state(f));
    queue_ = std::make_unique<detail::CompletionQueue>(states);
  }

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }
  // How many futures it yields in all (the distinct ones), read or not.
  std::size_t size() const noexcept { return futures_.size(); }

 private:
  F current() {
    if (!current_) fetch();
    return *current_;
  }
  void advance() {
    if (!current_) fetch();
    current_.reset();
    ++yielded_;
  }
  void fetch() {
    if (yielded_ == futures_.size()) throw std::out_of_range("cf::as_completed: read past the end");
    current_ = std::move(futures_[queue_->next(deadline_, futures_.size() - yielded_)]);  // ours dropped
  }

  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::vector<F> futures_;
  std::unique_ptr<detail::CompletionQueue> queue_;
  std::optional<F> current_;
  std::size_t yielded_ = 0;
};

// Iterates over `fs` as they complete (already-done ones first). `fs` is a range of futures,
// or a map whose keys are futures (it yields the keys).
template <class Range>
auto as_completed(const Range& fs) {
  using F = detail::future_of_t<Range>;
  if constexpr (detail::check_future_range<F>()) return AsCompleted<F>(fs, std::nullopt);
}
// As above; advancing past `timeout` (counted from this call) throws TimeoutError.
template <class Range, class Rep, class Period>
auto as_completed(const Range& fs, std::chrono::duration<Rep, Period> timeout) {
  using F = detail::future_of_t<Range>;
  if constexpr (detail::check_future_range<F>()) return AsCompleted<F>(fs, detail::deadline_after(timeout));
}
template <class F>
auto as_completed(std::initializer_list<F> fs) {
  if constexpr (detail::check_future_range<F>()) return AsCompleted<F>(fs, std::nullopt);
}
template <class F, class Rep, class Period>
auto as_completed(std::initializer_list<F> fs, std::chrono::duration<Rep, Period> timeout) {
  if constexpr (detail::check_future_range<F>()) return AsCompleted<F>(fs, detail::deadline_after(timeout));
}

}  // namespace concurrent::futures
