// The MPI communication engine: one thread per process that makes every MPI call cfutures makes
// (environment.hpp says why, and who initializes and finalizes MPI). Other threads hand it work
// and never call MPI themselves:
//
//   send(comm, rank, tag, bytes)   queue bytes for a peer; returns at once (MPI_Isend + MPI_Testsome
//                                  on the engine thread; the engine owns the bytes until sent)
//   listen(comm, inbox)            deliver every message that arrives on comm to inbox
//                                  (MPI_Improbe + MPI_Mrecv over MPI_ANY_SOURCE / MPI_ANY_TAG)
//   run(fn)                        run fn on the engine thread and return its result: for the
//                                  rare calls that set things up or tear them down (spawn, dup,
//                                  disconnect, rank queries); the engine does nothing else meanwhile
//
// Work reaches the thread through a spin-locked queue and an eventfd. MPI has no descriptor to
// sleep on, so while it listens the engine polls: it spins for a bounded time after the last
// thing that happened (a stream of messages is answered at once), then sleeps on the eventfd
// with a timeout that doubles from 16 µs to 1 ms, so an idle engine wakes about a thousand times
// a second to probe each communicator (measured: 1-3% of a core) and a message that arrives while
// it sleeps waits about 1 ms at most. With nothing to listen to and no send pending it sleeps
// until it is given work. A send from another thread wakes it at once.
//
// Faults: every communicator the engine listens to gets MPI_ERRORS_RETURN; an error on it is
// delivered to its inbox as a Delivery::Kind::kFault naming MPI's error, and the engine stops
// listening to it. (What MPI implementations do when a peer rank dies: docs/mpi.md.)
//
// Example:
//   auto engine = Engine::acquire();              // MPI_Init_thread here if the program did not
//   auto inbox = std::make_shared<Inbox>();
//   engine->listen(comm, inbox);
//   engine->send(comm, 0, kTag, "hello");
//   std::vector<Delivery> got;
//   inbox->take(got, std::chrono::steady_clock::now() + std::chrono::seconds(5));
//   engine->unlisten(comm);
#pragma once

#include <mpi.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures/detail/spin_lock.hpp"
#include "cfutures/detail/thread_annotations.hpp"
#include "inbox.hpp"

namespace concurrent::futures::detail::mpi {

class Engine {
 public:
  // The process's engine, started on first use: MPI is initialized on its thread if the program
  // did not initialize it (and then finalized there when the process exits). Holders keep it
  // running; where the program owns MPI, the thread ends when the last holder lets go (and a
  // later acquire starts a new one). Throws std::runtime_error if MPI was finalized, if the
  // program's MPI thread level is too low (environment.hpp), or in a forked child of the
  // process that started the engine (MPI cannot be used there). Any thread.
  static std::shared_ptr<Engine> acquire();

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // True if cfutures initialized MPI (and so finalizes it at exit).
  bool owns_mpi() const noexcept { return owns_mpi_; }
  // The thread level MPI provided.
  int thread_level() const noexcept { return thread_level_; }
  // The engine thread's id (gettid), e.g. to read its CPU time in /proc.
  pid_t thread_id() const noexcept { return thread_id_; }
  bool on_engine_thread() const noexcept { return std::this_thread::get_id() == thread_.get_id(); }

  // Runs fn() on the engine thread, waits for it, and returns its result or rethrows what it
  // threw. Called on the engine thread (from inside another run), runs fn at once. Throws
  // std::runtime_error if the engine has stopped (the process is exiting).
  template <class F>
  std::invoke_result_t<F&> run(F&& fn);

  // Delivers every message that arrives on `comm` to `inbox`, from when this returns until
  // unlisten(comm) returns or a fault. Sets MPI_ERRORS_RETURN on comm. Throws
  // std::invalid_argument if the engine already listens to comm.
  void listen(MPI_Comm comm, std::shared_ptr<Inbox> inbox);
  // Stops delivering comm's messages (nothing is delivered for comm after it returns). Sends to
  // comm still in flight go on. A comm it does not listen to: nothing happens.
  void unlisten(MPI_Comm comm);

  // Queues `bytes` for `rank` of `comm` with `tag` and returns at once; the messages one thread
  // sends to one peer arrive in the order sent. If MPI fails to send them, the fault is delivered
  // to comm's inbox (if the engine listens to comm). After the engine stopped (the process is
  // exiting) the bytes are dropped. Throws std::invalid_argument for a tag outside
  // [0, 32767] (the range every MPI allows), a negative rank, or more than INT_MAX bytes.
  void send(MPI_Comm comm, int rank, int tag, std::string bytes);

  // How often the engine thread went to sleep (for tests of its idle behaviour).
  std::uint64_t sleeps() const noexcept { return sleeps_.load(std::memory_order_relaxed); }

  // Ends the engine thread after what it was given; if cfutures owns MPI, MPI is finalized on
  // it. Called at exit (and by the destructor). Waits for sends in flight for up to 2 s first.
  void stop() noexcept;

 private:
  struct RunRequest {
    void (*invoke)(void* body) = nullptr;
    void* body = nullptr;
    std::exception_ptr error;
    std::atomic<std::uint32_t> done{0};
  };
  struct Command {
    MPI_Comm comm = MPI_COMM_NULL;
    int rank = 0;
    int tag = 0;
    std::unique_ptr<std::string> bytes;  // a send (its address stays put while MPI sends it)
    RunRequest* run = nullptr;           // or a run request (on its caller's stack)
  };
  struct Listener {
    MPI_Comm comm;
    std::shared_ptr<Inbox> inbox;
  };
  struct PendingSends {  // parallel arrays, for MPI_Testsome
    std::vector<MPI_Request> requests;
    std::vector<std::unique_ptr<std::string>> buffers;
    std::vector<MPI_Comm> comms;
    std::vector<int> ranks;
  };

  explicit Engine(bool initialize_mpi);
  void submit_run(RunRequest& request);
  void enqueue(Command command);
  void wake_thread() noexcept;
  void loop();
  bool execute(std::vector<Command>& batch);
  void start_send(Command& command);
  bool receive_all();
  bool receive_from(Listener& listener);
  bool complete_sends();
  // Returns the buffers of the sends that did not complete by then.
  std::vector<std::unique_ptr<std::string>> finish_sends(std::chrono::steady_clock::time_point deadline);
  void idle(std::chrono::steady_clock::time_point last_busy);
  void fault(MPI_Comm comm, int rank, const std::string& what);
  Listener* listener_of(MPI_Comm comm);

  const int event_fd_;
  bool owns_mpi_ = false;
  int thread_level_ = 0;
  pid_t thread_id_ = 0;
  const pid_t process_ = 0;  // getpid() of the process that started the engine

  SpinLock queue_lock_;
  std::vector<Command> queue_ CF_GUARDED_BY(queue_lock_);
  bool stopping_ CF_GUARDED_BY(queue_lock_) = false;  // no new work accepted
  // kSleeping: the thread may be in ppoll, so a ring writes the eventfd; kRung: work was queued
  // since the thread last looked; kAwake: neither.
  enum Doorbell : std::uint32_t { kAwake, kRung, kSleeping };
  std::atomic<std::uint32_t> doorbell_{kAwake};
  std::atomic<std::uint64_t> sleeps_{0};

  // The engine thread's own state.
  std::vector<Listener> listeners_;
  PendingSends pending_;

  std::thread thread_;
  std::atomic<bool> joined_{false};
};

template <class F>
std::invoke_result_t<F&> Engine::run(F&& fn) {
  using Result = std::invoke_result_t<F&>;
  if (on_engine_thread()) return fn();
  if constexpr (std::is_void_v<Result>) {
    RunRequest request;
    request.body = &fn;
    request.invoke = [](void* body) { (*static_cast<std::remove_reference_t<F>*>(body))(); };
    submit_run(request);
  } else {
    std::optional<Result> result;
    auto body = [&] { result.emplace(fn()); };
    RunRequest request;
    request.body = &body;
    request.invoke = [](void* b) { (*static_cast<decltype(body)*>(b))(); };
    submit_run(request);
    return std::move(*result);
  }
}

// Throws std::runtime_error "<what>: <MPI's error string>" if rc is not MPI_SUCCESS.
void check_mpi(int rc, const char* what);

// MPI's text for an error code.
std::string mpi_error_string(int rc);

}  // namespace concurrent::futures::detail::mpi
