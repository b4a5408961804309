// The unit the process pool sends to a worker: one kCall message and the futures its calls
// complete (one for submit, up to chunksize for a map chunk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures/detail/process/codec.hpp"
#include "cfutures/detail/state.hpp"

namespace concurrent::futures::detail::process {

struct Job {
  Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  // A job dropped without a reply (only possible if the pool itself failed to account for
  // it) fails its futures rather than leaving them pending forever.
  ~Job();

  std::uint64_t id = 0;
  std::string payload;             // the kCall message; freed once written to the ring
  std::vector<StateBase*> states;  // one retained future per call; null once cancelled
  // Decodes the reply's values into states[next...], advancing `next` past each one it
  // completed. Throws if the bytes cannot be decoded.
  void (*decode_values)(Job& job, Decoder& in, std::size_t& next) = nullptr;
  const char* callable = nullptr;  // typeid(F).name(), for messages
};

template <class R>
void decode_values(Job& job, Decoder& in, std::size_t& next) {
  constexpr std::size_t kAhead = 8;  // the states live in the caller's cache: fetch ahead
  for (; next < job.states.size(); ++next) {
    if (next + kAhead < job.states.size()) __builtin_prefetch(job.states[next + kAhead], 1);
    auto* state = static_cast<State<R>*>(job.states[next]);
    if constexpr (std::is_void_v<R>) {
      if (state != nullptr && state->try_claim()) state->emplace_and_publish();
    } else {
      R value{};
      in.archive()(value);
      if (state != nullptr && state->try_claim()) state->emplace_and_publish(std::move(value));
    }
  }
}

class PoolCore;

// Throws ExecutorShutdown or BrokenProcessPool if `core` takes no more work.
void check_open(PoolCore& core);
// Queues `job` (its futures PENDING) for a worker; throws as check_open.
void submit_job(PoolCore& core, std::unique_ptr<Job> job);

// "could not serialize the arguments of a call to <callable>: <what>", for the current
// exception (which the caller is handling).
std::exception_ptr argument_encoding_error(const char* callable) noexcept;

}  // namespace concurrent::futures::detail::process
