// A worker's side of a pool whose workers are other processes: the loop that reads its kInit,
// runs its initializer, then runs calls and writes their replies, whatever channel carries
// the messages (the process pool's rings, MPI).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cfutures/detail/remote/messages.hpp"

namespace concurrent::futures::detail::remote {

// Exit statuses a worker uses for its own reasons (the pool reports them as "exit code N").
inline constexpr int kInitializerFailedExit = 1;
inline constexpr int kProtocolErrorExit = 70;  // EX_SOFTWARE: a bad region or message

// The worker's end of its messages.
class WorkerChannel {
 public:
  // Blocks until a whole message arrives; false if the stream broke (the worker then exits).
  virtual bool receive(Kind& kind, std::uint64_t& id, std::string& payload) = 0;
  // Writes a whole message, waiting for room as needed.
  virtual void send(Kind kind, std::uint64_t id, std::string_view payload) = 0;

 protected:
  ~WorkerChannel() = default;
};

// What the worker does with the program state its kInit carries (process pools apply it, see
// process/inheritance.hpp); false if the state is malformed.
using ApplyInherited = bool (*)(std::string_view state);

// Serves until a kQuit, the worker's maximum number of calls, or a broken stream; returns the
// exit status. `site` says where calls run ("in worker process 1234"), for their errors.
int serve(WorkerChannel& channel, std::string_view site, ApplyInherited apply_inherited);

}  // namespace concurrent::futures::detail::remote
