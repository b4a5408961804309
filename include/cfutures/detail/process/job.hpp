// The unit the process pool sends to a worker: one kCall message and the future its calls
// complete (submit: one call; a map chunk: up to chunksize calls, one future for all).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures/detail/map_range.hpp"
#include "cfutures/detail/process/codec.hpp"
#include "cfutures/detail/state.hpp"

namespace concurrent::futures::detail::process {

struct Job {
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  // A job dropped without a reply (only possible if the pool itself failed to account for
  // it) fails its future rather than leaving it pending forever.
  ~Job();

  std::uint64_t id = 0;
  std::string payload;             // the kCall message; freed once written to the ring
  std::uint32_t calls = 1;         // calls in the message
  StateBase* state = nullptr;      // the retained future the reply completes; null once cancelled
  // Decodes the reply's values and completes `state` (not null) with them. Throws if the bytes
  // cannot be decoded.
  void (*decode)(Job& job, Decoder& in) = nullptr;
  const char* callable = nullptr;  // typeid(F).name(), for messages
};

// A submit's reply: one value for its one future.
template <class R>
void decode_value(Job& job, Decoder& in) {
  auto* state = static_cast<State<R>*>(job.state);
  if constexpr (std::is_void_v<R>) {
    if (state->try_claim()) state->emplace_and_publish();
  } else {
    R value{};
    in.archive()(value);
    if (state->try_claim()) state->emplace_and_publish(std::move(value));
  }
}

// A map chunk's reply: job.calls values, for the chunk's one future.
template <class R>
void decode_chunk(Job& job, Decoder& in) {
  auto* state = static_cast<State<std::vector<MapValue<R>>>*>(job.state);
  std::vector<MapValue<R>> values;
  if constexpr (std::is_void_v<R>) {
    values.resize(job.calls);
  } else {
    values.reserve(job.calls);
    for (std::uint32_t i = 0; i < job.calls; ++i) {
      R value{};
      in.archive()(value);
      values.push_back(std::move(value));
    }
  }
  if (state->try_claim()) state->emplace_and_publish(std::move(values));
}

class PoolCore;

// Throws ExecutorShutdown or BrokenProcessPool if `core` takes no more work.
void check_open(PoolCore& core);
// Queues `job` (its future PENDING) for a worker; throws as check_open.
void submit_job(PoolCore& core, std::unique_ptr<Job> job);

// "could not serialize the arguments of a call to <callable>: <what>", for the current
// exception (which the caller is handling).
std::exception_ptr argument_encoding_error(const char* callable) noexcept;

}  // namespace concurrent::futures::detail::process
