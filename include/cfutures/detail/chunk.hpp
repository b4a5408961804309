// A map chunk: `chunksize` positions of a map run as one task (Executor::map with chunksize > 1),
// and its results: each position's value or exception, in order, in one object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "cfutures/detail/task.hpp"

namespace concurrent::futures::detail {

// What a map position yields: the call's result, or std::monostate for a void function
// (Python yields None).
template <class R>
using MapValue = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// True once any of the iterators `its` has reached its end in `ends` (a map stops at its
// shortest range).
template <class Its, class Ends, std::size_t... I>
bool any_at_end(const Its& its, const Ends& ends, std::index_sequence<I...>) {
  return ((std::get<I>(its) == std::get<I>(ends)) || ...);
}
template <class Its, class Ends>
bool any_at_end(const Its& its, const Ends& ends) {
  return any_at_end(its, ends, std::make_index_sequence<std::tuple_size_v<Its>>{});
}

// The outcomes of a chunk's calls in position order. Values are stored contiguously (none for
// void); the rare failed positions are listed apart, with their position.
template <class R>
class ChunkResults {
 public:
  using Value = MapValue<R>;

  // Appends the next position's value.
  template <class... A>
  void add_value(A&&... value) {
    if constexpr (!std::is_void_v<R>) values_.emplace_back(std::forward<A>(value)...);
    ++size_;
  }
  // Appends the next position's exception.
  void add_error(std::exception_ptr error) {
    errors_.emplace_back(size_, std::move(error));
    ++size_;
  }
  void reserve(std::size_t positions) {
    if constexpr (!std::is_void_v<R>) values_.reserve(positions);
  }
  std::uint32_t size() const noexcept { return size_; }

  // Reads the positions in order, each at most once; a position may be skipped unread.
  class Cursor {
   public:
    // The position read next.
    std::uint32_t position() const noexcept { return position_; }
    // Moves the current position's value out, or rethrows its exception.
    Value take(ChunkResults& chunk) {
      while (error_ < chunk.errors_.size() && chunk.errors_[error_].first < position_) ++error_;
      if (error_ < chunk.errors_.size() && chunk.errors_[error_].first == position_) {
        std::rethrow_exception(chunk.errors_[error_].second);
      }
      if constexpr (std::is_void_v<R>) {
        return {};
      } else {
        return std::move(chunk.values_[position_ - error_]);  // values skip the failed positions
      }
    }
    void advance() noexcept { ++position_; }

   private:
    std::uint32_t position_ = 0;
    std::size_t error_ = 0;  // errors before position_ (brought up to date by take)
  };

 private:
  std::vector<std::conditional_t<std::is_void_v<R>, char, Value>> values_;  // empty for void
  std::vector<std::pair<std::uint32_t, std::exception_ptr>> errors_;        // ascending positions
  std::uint32_t size_ = 0;
};

// The call of a chunk task in this process: fn applied to each argument tuple in turn, each
// position's exception kept as that position's outcome. A callable that takes a
// std::stop_token first gets the chunk task's token at every position.
template <class R, class F, class... A>
struct ChunkCall {
  static constexpr bool takes_stop_token = takes_stop_token_v<F&, A&&...>;
  F fn;
  std::vector<std::tuple<A...>> args;

  ChunkResults<R> operator()() && { return run(); }
  ChunkResults<R> operator()(std::stop_token token) && { return run(token); }

 private:
  template <class... Token>
  ChunkResults<R> run(const Token&... token) {
    ChunkResults<R> results;
    results.reserve(args.size());
    for (auto& tuple : args) {
      try {
        if constexpr (std::is_void_v<R>) {
          std::apply([&](A&... a) { std::invoke(fn, Token(token)..., std::move(a)...); }, tuple);
          results.add_value();
        } else {
          results.add_value(
              std::apply([&](A&... a) -> R { return std::invoke(fn, Token(token)..., std::move(a)...); }, tuple));
        }
      } catch (...) {
        results.add_error(std::current_exception());
      }
    }
    return results;
  }
};

}  // namespace concurrent::futures::detail
