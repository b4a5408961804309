#include "cfutures/future.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "durations.hpp"

namespace concurrent::futures::detail {
void throw_timeout(const char* operation, std::chrono::duration<double> timeout, const StateBase& state) {
  throw TimeoutError(std::string(operation) + " timed out after " + format_duration(timeout) + " waiting for " +
                     state.describe());
}

bool is_last_reference(StateBase& state, bool patient) {
  // An executor lets go of a task's state right after completing it, so a caller woken by the
  // completion can see its reference for a moment: spin that moment out (a copy is the price of
  // missing it), and with `patient` (a move-only result, which fails otherwise) also wait out an
  // executor thread that was preempted in between.
  const auto last = [&state] { return state.use_count() == 1; };
  if (!spin_until(last, patient ? kSpinLimit : 64)) {
    if (!patient) return false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!last()) {
      if (std::chrono::steady_clock::now() >= give_up) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  // use_count() reads relaxed. The retain and release make an acquire read-modify-write on the
  // count (its release continues the chain of every earlier release), so whatever another
  // handle did with the result before letting go happens before the caller moves it.
  state.retain();
  state.release();
  return true;
}

}  // namespace concurrent::futures::detail
