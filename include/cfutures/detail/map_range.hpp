// The state behind a map's result range (Executor::map): the calls in flight, in input order,
// and (for a lazy map with buffersize) what submits the next ones.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "cfutures/detail/chunk.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/future.hpp"

namespace concurrent::futures::detail {

// What MapRange reads: the positions of a map, in input order.
template <class R>
class MapReader {
 public:
  virtual ~MapReader() = default;
  // True once every position was read (or a map timeout ended the range).
  virtual bool at_end() = 0;
  // Waits for the current position and returns its result, rethrowing its exception.
  virtual MapValue<R> take() = 0;
  // Moves to the next position.
  virtual void advance() = 0;
};

// A map's calls are in flight either as one future per position (Future<R>, chunksize 1) or as
// one future per chunk of positions (ChunkSlot: one task, and for a process pool one message,
// per chunk, as in CPython), whose results the range hands out position by position.
template <class R>
struct ChunkSlot {
  using result_type = R;
  Future<ChunkResults<R>> future;
  std::uint32_t size = 0;  // positions in the chunk
  typename ChunkResults<R>::Cursor cursor;
};

template <class Slot>
inline constexpr bool is_chunk_slot_v = false;
template <class R>
inline constexpr bool is_chunk_slot_v<ChunkSlot<R>> = true;

template <class R>
StateBase* slot_state(const Future<R>& f) noexcept {
  return HandleAccess::state(f);
}
template <class R>
StateBase* slot_state(const ChunkSlot<R>& c) noexcept {
  return HandleAccess::state(c.future);
}
template <class R>
MapValue<R> slot_take(Future<R>& f) {
  if constexpr (std::is_void_v<R>) {
    return {};
  } else {
    return std::move(HandleAccess::typed_state(f)->mutable_value());
  }
}
template <class R>
MapValue<R> slot_take(ChunkSlot<R>& c) {
  return c.cursor.take(HandleAccess::typed_state(c.future)->mutable_value());
}
// Moves past the slot's current position; true if the slot has no position left.
template <class R>
bool slot_step(Future<R>&) noexcept {
  return true;
}
template <class R>
bool slot_step(ChunkSlot<R>& c) noexcept {
  c.cursor.advance();
  return c.cursor.position() == c.size;
}
template <class R>
void slot_cancel(Future<R>& f) noexcept {
  f.cancel();
}
template <class R>
void slot_cancel(ChunkSlot<R>& c) noexcept {
  c.future.cancel();
}

// The state behind a map's result range: the slots in flight, in input order, and (for a lazy
// map with buffersize) the function that submits the next one.
template <class R, class Slot = Future<R>>
class MapState final : public MapReader<R> {
 public:
  using Value = MapValue<R>;
  // Submits the next slot into `pending`; returns false once the input is exhausted (or the
  // executor is gone). May throw (ExecutorShutdown), which reaches the reader.
  using SubmitNext = std::function<bool(std::deque<Slot>& pending)>;

  MapState(std::optional<std::chrono::steady_clock::time_point> deadline, SubmitNext submit_next)
      : deadline_(deadline), submit_next_(std::move(submit_next)) {}
  MapState(const MapState&) = delete;
  MapState& operator=(const MapState&) = delete;
  // Destroying the range cancels every call not yet started, read or not (CPython cancels
  // nothing if the iterator never started: we do not copy that).
  ~MapState() override { cancel_pending(); }

  std::deque<Slot>& pending() noexcept { return pending_; }

  bool at_end() override {
    if (finished_) return true;
    if (pending_.empty()) {
      if (!submit_more()) finished_ = true;
      if (pending_.empty()) finished_ = true;
    }
    return finished_;
  }

  // A map timeout cancels every call not yet started and ends the range.
  Value take() override {
    if (at_end()) throw std::out_of_range("cf::Executor::map: read past the end of the range");
    prefetch();
    StateBase* front = slot_state(pending_.front());
    const bool done = deadline_ ? front->wait_until(*deadline_) : (front->wait(), true);
    if (!done) {
      cancel_pending();
      finished_ = true;
      timed_out_ = true;
      throw TimeoutError();
    }
    front->check_result();  // the call's own exception (even a TimeoutError) is this position's
    return slot_take(pending_.front());
  }

  void advance() override {
    // Advancing past the read that timed out is how a loop that catches each position's
    // exception goes on: the range has ended there (Python: StopIteration after the timeout).
    if (timed_out_) return;
    if (at_end()) throw std::out_of_range("cf::Executor::map: advanced past the end of the range");
    prefetch();
    if (slot_step(pending_.front())) {
      pending_.pop_front();
      prefetched_ = false;
    }
  }

 private:
  // Python's buffered map submits one more call on every next(), before waiting (for chunks:
  // one more chunk when reading of a chunk begins).
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
    for (auto& slot : pending_) slot_cancel(slot);
    pending_.clear();
    submit_next_ = nullptr;
  }

  std::deque<Slot> pending_;
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
    explicit iterator(detail::MapReader<R>* state) : state_(state) {}
    detail::MapReader<R>* state_ = nullptr;
  };

  explicit MapRange(std::unique_ptr<detail::MapReader<R>> state) : state_(std::move(state)) {}

  iterator begin() { return iterator(state_.get()); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::unique_ptr<detail::MapReader<R>> state_;
};

}  // namespace concurrent::futures
