// The seam between a pool whose workers are other processes (RemotePool: its jobs, dispatch and
// faults) and what carries its messages: the shared-memory rings and fork server of the process
// pool (process/shm_transport.hpp), or MPI for the MPI executors.
//
// A transport starts and stops workers and moves (kind, id, payload) messages to and from them
// without looking inside a payload (detail/remote/messages.hpp owns the formats). It reports
// what happens through TransportEvents, only from inside poll(), on the pool's manager thread.
//
//   worker's life (as the transport reports it)
//     start(w) --> on_started(w, pid) --> on_message(w, ...)* --> on_exit(w, end)
//              \-> on_start_failed(w, why)          on_corrupt(w, why) --^ (it was killed)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cfutures/detail/remote/messages.hpp"

namespace concurrent::futures::detail::remote {

// A worker's number in its pool (never reused by that pool).
using WorkerId = std::uint32_t;

// How far a message has been written, for a transport that takes it in parts.
struct SendProgress {
  std::size_t offset = 0;
  bool started = false;
};
enum class SendStatus {
  kDone,    // the whole message is written
  kFull,    // part of it is; call send() again with the same progress after on_writable()
  kBroken,  // the worker's stream cannot be written (it is being reported as corrupt)
};

// How a worker ended.
struct WorkerEnd {
  std::string how;     // "exit code 3", "signal SIGKILL"
  bool clean = false;  // exit status 0
};

class TransportEvents {
 public:
  // The worker exists (pid, or rank): messages sent to it will be read.
  virtual void on_started(WorkerId worker, int pid) = 0;
  // No worker could be started for `worker` (it never existed).
  virtual void on_start_failed(WorkerId worker, const std::string& why) = 0;
  // A whole message from the worker.
  virtual void on_message(WorkerId worker, Kind kind, std::uint64_t id, std::string_view payload) = 0;
  // The worker wrote something that cannot be read; the transport has killed it (on_exit follows).
  virtual void on_corrupt(WorkerId worker, const std::string& why) = 0;
  // A send to the worker that returned kFull may continue.
  virtual void on_writable(WorkerId worker) = 0;
  // The worker ended, after every message it wrote was delivered.
  virtual void on_exit(WorkerId worker, const WorkerEnd& end) = 0;
  // No worker can be started any more (the fork server is gone).
  virtual void on_lost(const std::string& why) = 0;

 protected:
  ~TransportEvents() = default;
};

class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // Asks for a new worker; the answer comes as on_started or on_start_failed. Throws
  // (what() says why) if no worker can be started now; messages may be sent to it at once.
  virtual void start(WorkerId worker) = 0;
  // Writes what fits of a message to a started or starting worker.
  virtual SendStatus send(WorkerId worker, Kind kind, std::uint64_t id, std::string_view payload,
                          SendProgress& progress) = 0;
  // Sends `signal` to the worker (now, or as soon as it exists).
  virtual void kill(WorkerId worker, int signal) = 0;
  // Frees what the transport keeps for a worker whose end was reported.
  virtual void forget(WorkerId worker) = 0;
  // Reports what happened since the last call; waits for something to happen up to `deadline`
  // (no deadline: until something happens or wake() is called).
  virtual void poll(TransportEvents& events, std::optional<std::chrono::steady_clock::time_point> deadline) = 0;
  // Makes a poll() that waits, or the next one, return soon. Any thread; never blocks.
  virtual void wake() noexcept = 0;
  // Whether start(), send() and kill() may be called from any thread that holds the pool's
  // lock (else only from poll()'s thread, which the pool then wakes).
  virtual bool sends_from_any_thread() const noexcept = 0;
  // Ends the transport's own helpers, once every worker has ended.
  virtual void close() noexcept = 0;
};

}  // namespace concurrent::futures::detail::remote
