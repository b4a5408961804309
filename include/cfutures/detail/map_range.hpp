// The state behind Executor::map's result range: the futures in flight, in input order, and
// (for a lazy map with buffersize) the function that submits the next call.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures::detail {

// What a map position yields: the call's result, or std::monostate for a void function
// (Python yields None).
template <class R>
using MapValue = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class R>
class MapState {
 public:
  using Value = MapValue<R>;
  // Submits the next call into `pending`; returns false once the input is exhausted (or the
  // executor is gone). May throw (ExecutorShutdown), which reaches the reader.
  using SubmitNext = std::function<bool(std::deque<Future<R>>& pending)>;

  MapState(std::optional<std::chrono::steady_clock::time_point> deadline, SubmitNext submit_next)
      : deadline_(deadline), submit_next_(std::move(submit_next)) {}
  MapState(const MapState&) = delete;
  MapState& operator=(const MapState&) = delete;
  // Destroying the range cancels every call not yet started, read or not (CPython cancels
  // nothing if the iterator never started: we do not copy that).
  ~MapState() { cancel_pending(); }

  std::deque<Future<R>>& pending() noexcept { return pending_; }

  bool at_end() {
    if (finished_) return true;
    if (pending_.empty()) {
      if (!submit_more()) finished_ = true;
      if (pending_.empty()) finished_ = true;
    }
    return finished_;
  }

  // Waits for the current position and returns its result, rethrowing the call's exception.
  // A map timeout cancels every call not yet started and ends the range.
  Value take() {
    if (at_end()) throw std::out_of_range("cf::Executor::map: read past the end of the range");
    prefetch();
    StateBase* front = HandleAccess::state(pending_.front());
    const bool done = deadline_ ? front->wait_until(*deadline_) : (front->wait(), true);
    if (!done) {
      cancel_pending();
      finished_ = true;
      timed_out_ = true;
      throw TimeoutError();
    }
    front->check_result();  // the call's own exception (even a TimeoutError) is this position's
    if constexpr (std::is_void_v<R>) {
      return Value{};
    } else {
      return std::move(HandleAccess::typed_state(pending_.front())->mutable_value());
    }
  }

  void advance() {
    // Advancing past the read that timed out is how a loop that catches each position's
    // exception goes on: the range has ended there (Python: StopIteration after the timeout).
    if (timed_out_) return;
    if (at_end()) throw std::out_of_range("cf::Executor::map: advanced past the end of the range");
    prefetch();
    pending_.pop_front();
    prefetched_ = false;
  }

 private:
  // Python's buffered map submits one more call on every next(), before waiting.
  void prefetch() {
    if (!prefetched_) {
      prefetched_ = true;
      submit_more();
    }
  }
  bool submit_more() {
    if (!submit_next_) return false;
    if (!submit_next_(pending_)) {
      submit_next_ = nullptr;
      return false;
    }
    return true;
  }
  void cancel_pending() noexcept {
    for (auto& f : pending_) f.cancel();
    pending_.clear();
    submit_next_ = nullptr;
  }

  std::deque<Future<R>> pending_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  SubmitNext submit_next_;
  bool finished_ = false;
  bool timed_out_ = false;  // a map timeout ended the range
  bool prefetched_ = false;
};

}  // namespace concurrent::futures::detail

namespace concurrent::futures {

// The result of Executor::map: an input range of the calls' results, in input order.
//
//   for (int square : pool.map([](int x) { return x * x; }, std::vector{1, 2, 3})) { ... }
//
// Reading a position waits for its call and yields its result (moved out: read each position
// once), or rethrows the call's exception; the next position still yields its own result.
// A map timeout throws TimeoutError, cancels every call not yet started, and ends the range.
// Destroying the range cancels every call not yet started. The range stays valid after the
// executor is destroyed; a lazy (buffersize) range then ends after the calls in flight.
template <class R>
class MapRange {
 public:
  using value_type = detail::MapValue<R>;

  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = detail::MapValue<R>;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;

    iterator() = default;
    value_type operator*() const { return state_->take(); }
    iterator& operator++() {
      state_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.state_->at_end(); }

   private:
    friend class MapRange;
    explicit iterator(detail::MapState<R>* state) : state_(state) {}
    detail::MapState<R>* state_ = nullptr;
  };

  explicit MapRange(std::unique_ptr<detail::MapState<R>> state) : state_(std::move(state)) {}

  iterator begin() { return iterator(state_.get()); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::unique_ptr<detail::MapState<R>> state_;
};

}  // namespace concurrent::futures
