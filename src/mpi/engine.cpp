#include "engine.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "cfutures/detail/futex.hpp"
#include "cfutures/detail/mpi/environment.hpp"
#include "cfutures/detail/mutex.hpp"

namespace concurrent::futures::detail::mpi {
namespace {

using Clock = std::chrono::steady_clock;

// The idle policy (engine.hpp): spin this long after the last event, then sleep with a timeout
// that doubles from the first to the last value.
constexpr auto kSpinFor = std::chrono::microseconds(100);
constexpr auto kFirstSleep = std::chrono::microseconds(16);
constexpr auto kLongestSleep = std::chrono::microseconds(1024);
// At most this many messages are taken from one communicator per round, so that sends and other
// communicators are served between them.
constexpr int kReceivesPerRound = 64;
constexpr int kLargestTag = 32767;  // the smallest MPI_TAG_UB the standard allows
constexpr auto kSendDrainTime = std::chrono::seconds(2);

// Which engine is running, and whether cfutures finalized MPI.
struct Registry {
  Mutex mutex;
  std::weak_ptr<Engine> current CF_GUARDED_BY(mutex);
  std::shared_ptr<Engine> kept CF_GUARDED_BY(mutex);  // cfutures owns MPI: kept until exit
};

// Never destroyed: the atexit handler below and late holders may use it during exit.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

void finalize_at_exit() {
  std::shared_ptr<Engine> engine;
  {
    Registry& r = registry();
    MutexLock lock(r.mutex);
    engine = std::move(r.kept);
  }
  if (engine) engine->stop();  // MPI_Finalize, on the engine thread
}

}  // namespace

std::string mpi_error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(text, static_cast<std::size_t>(length));
}

void check_mpi(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(what) + ": " + mpi_error_string(rc));
}

std::shared_ptr<Engine> Engine::acquire() {
  Registry& r = registry();
  MutexLock lock(r.mutex);
  if (auto engine = r.current.lock()) {
    if (engine->process_ != getpid()) {
      throw std::runtime_error("cfutures::mpi: MPI cannot be used in a forked child of an MPI process");
    }
    return engine;
  }
  // MPI_Initialized, MPI_Finalized and MPI_Query_thread may be called from any thread.
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) {
    throw std::runtime_error("cfutures::mpi: MPI was finalized in this process, and MPI cannot be initialized again");
  }
  if (initialized) {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    require_program_thread_level(provided);
  }
  std::shared_ptr<Engine> engine(new Engine(!initialized));
  r.current = engine;
  if (engine->owns_mpi_) {
    r.kept = engine;
    std::atexit(finalize_at_exit);
  }
  return engine;
}

Engine::Engine(bool initialize_mpi) : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), process_(getpid()) {
  if (event_fd_ < 0) throw std::system_error(errno, std::generic_category(), "cfutures::mpi: eventfd");
  // The thread reports its id and MPI's thread level through `started` before it serves.
  std::atomic<std::uint32_t> started{0};
  thread_ = std::thread([this, initialize_mpi, &started] {
    pthread_setname_np(pthread_self(), "cf-mpi");
    thread_id_ = static_cast<pid_t>(gettid());
    if (initialize_mpi) {
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &thread_level_);
      owns_mpi_ = true;
    } else {
      MPI_Query_thread(&thread_level_);
    }
    started.store(1, std::memory_order_release);
    futex_wake_all(started);
    loop();
  });
  while (started.load(std::memory_order_acquire) == 0) futex_wait(started, 0);
}

Engine::~Engine() {
  stop();
  ::close(event_fd_);
}

void Engine::stop() noexcept {
  {
    SpinGuard guard(queue_lock_);
    stopping_ = true;
  }
  wake_thread();
  if (joined_.exchange(true)) return;
  if (on_engine_thread()) {
    // Only cfutures holds engines, never in a function it runs on the engine thread: joining
    // here would wait for itself.
    std::fputs("cfutures::mpi: internal error: the MPI engine was stopped from its own thread\n", stderr);
    std::abort();
  }
  thread_.join();
}

void Engine::submit_run(RunRequest& request) {
  Command command;
  command.run = &request;
  enqueue(std::move(command));
  while (request.done.load(std::memory_order_acquire) == 0) futex_wait(request.done, 0);
  if (request.error) std::rethrow_exception(request.error);
}

void Engine::enqueue(Command command) {
  {
    SpinGuard guard(queue_lock_);
    if (!stopping_) {
      queue_.push_back(std::move(command));
      command.run = nullptr;
      command.bytes.reset();
    }
  }
  if (command.run != nullptr) {
    command.run->error = std::make_exception_ptr(
        std::runtime_error("cfutures::mpi: the MPI communication thread has stopped (the process is exiting)"));
    command.run->done.store(1, std::memory_order_release);
    return;
  }
  if (command.bytes) return;  // a send after stop: dropped (the engine thread can no longer report it)
  wake_thread();
}

void Engine::wake_thread() noexcept {
  // One read-modify-write on the doorbell, as the engine's before it sleeps (idle()): the two are
  // ordered, so either the engine sees the ring and does not sleep, or this sees it asleep.
  if (doorbell_.exchange(kRung, std::memory_order_acq_rel) != kSleeping) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(event_fd_, &one, sizeof one);
}

void Engine::listen(MPI_Comm comm, std::shared_ptr<Inbox> inbox) {
  run([&] {
    if (listener_of(comm) != nullptr) {
      throw std::invalid_argument("cfutures::mpi: the engine already listens to this communicator");
    }
    check_mpi(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    listeners_.push_back(Listener{comm, std::move(inbox)});
  });
}

void Engine::unlisten(MPI_Comm comm) {
  run([&] { std::erase_if(listeners_, [&](const Listener& l) { return l.comm == comm; }); });
}

void Engine::send(MPI_Comm comm, int rank, int tag, std::string bytes) {
  if (tag < 0 || tag > kLargestTag) {
    throw std::invalid_argument("cfutures::mpi: tag " + std::to_string(tag) + " is outside [0, 32767]");
  }
  if (rank < 0) throw std::invalid_argument("cfutures::mpi: rank " + std::to_string(rank) + " is negative");
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("cfutures::mpi: a message of " + std::to_string(bytes.size()) +
                                " bytes is larger than MPI's int count allows (" + std::to_string(INT_MAX) + ")");
  }
  Command command;
  command.comm = comm;
  command.rank = rank;
  command.tag = tag;
  command.bytes = std::make_unique<std::string>(std::move(bytes));
  enqueue(std::move(command));
}

}  // namespace concurrent::futures::detail::mpi

// ---------------------------------------------------------------------------------------------
// The engine thread.

namespace concurrent::futures::detail::mpi {

void Engine::loop() {
  std::vector<Command> batch;
  auto last_busy = Clock::now();
  for (;;) {
    bool stopping = false;
    {
      SpinGuard guard(queue_lock_);
      batch.swap(queue_);
      stopping = stopping_;
    }
    bool busy = execute(batch);
    busy = receive_all() || busy;
    busy = complete_sends() || busy;
    if (stopping) {
      SpinGuard guard(queue_lock_);
      if (queue_.empty()) break;  // every command given before stop() was executed
      continue;
    }
    if (busy) {
      last_busy = Clock::now();
    } else {
      idle(last_busy);
    }
  }
  auto unfinished = finish_sends(Clock::now() + kSendDrainTime);
  listeners_.clear();
  if (owns_mpi_) {
    MPI_Finalize();  // no MPI call reads a buffer any more
    return;
  }
  // The program's MPI may still read them until it is finalized: they stay allocated, and
  // reachable (a leak checker sees them as kept, not lost).
  static auto* const kept = new std::vector<std::unique_ptr<std::string>>;
  static std::mutex kept_lock;
  const std::lock_guard lock(kept_lock);
  for (auto& buffer : unfinished) kept->push_back(std::move(buffer));
}

bool Engine::execute(std::vector<Command>& batch) {
  if (batch.empty()) return false;
  for (Command& command : batch) {
    if (command.run == nullptr) {
      start_send(command);
      continue;
    }
    RunRequest& request = *command.run;
    try {
      request.invoke(request.body);
    } catch (...) {
      request.error = std::current_exception();
    }
    request.done.store(1, std::memory_order_release);
    futex_wake_all(request.done);
  }
  batch.clear();
  return true;
}

void Engine::start_send(Command& command) {
  MPI_Request request = MPI_REQUEST_NULL;
  const int rc = MPI_Isend(command.bytes->data(), static_cast<int>(command.bytes->size()), MPI_BYTE, command.rank,
                           command.tag, command.comm, &request);
  if (rc != MPI_SUCCESS) {
    fault(command.comm, command.rank,
          "MPI_Isend to rank " + std::to_string(command.rank) + ": " + mpi_error_string(rc));
    return;
  }
  pending_.requests.push_back(request);
  pending_.buffers.push_back(std::move(command.bytes));
  pending_.comms.push_back(command.comm);
  pending_.ranks.push_back(command.rank);
}

bool Engine::receive_all() {
  bool any = false;
  // By index: a fault removes its listener from the vector.
  for (std::size_t i = 0; i < listeners_.size();) {
    const MPI_Comm comm = listeners_[i].comm;
    any = receive_from(listeners_[i]) || any;
    if (i < listeners_.size() && listeners_[i].comm == comm) ++i;
  }
  return any;
}

bool Engine::receive_from(Listener& listener) {
  for (int n = 0; n < kReceivesPerRound; ++n) {
    int flag = 0;
    MPI_Message message = MPI_MESSAGE_NULL;
    MPI_Status status;
    int rc = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, listener.comm, &flag, &message, &status);
    // OpenMPI's probe matches what already arrived, then progresses the transports and returns:
    // a message that the progress brought in is seen only by the next probe. Probing once more
    // at once finds it now, instead of after the next sleep (measured on an idle engine: one way
    // 1.7 ms with one probe per wake-up, 0.6 ms with two).
    if (rc == MPI_SUCCESS && !flag && n == 0) {
      rc = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, listener.comm, &flag, &message, &status);
    }
    if (rc != MPI_SUCCESS) {
      fault(listener.comm, -1, "MPI_Improbe: " + mpi_error_string(rc));
      return true;
    }
    if (!flag) return n > 0;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    Delivery delivery;
    delivery.rank = status.MPI_SOURCE;
    delivery.tag = status.MPI_TAG;
    delivery.bytes.resize(static_cast<std::size_t>(count));
    rc = MPI_Mrecv(delivery.bytes.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      fault(listener.comm, delivery.rank,
            "MPI_Mrecv from rank " + std::to_string(delivery.rank) + ": " + mpi_error_string(rc));
      return true;
    }
    listener.inbox->put(std::move(delivery));
  }
  return true;
}

bool Engine::complete_sends() {
  const int count = static_cast<int>(pending_.requests.size());
  if (count == 0) return false;
  std::vector<int> indices(static_cast<std::size_t>(count));
  std::vector<MPI_Status> statuses(static_cast<std::size_t>(count));
  int done = 0;
  const int rc = MPI_Testsome(count, pending_.requests.data(), &done, indices.data(), statuses.data());
  if (done == MPI_UNDEFINED || done == 0) return false;
  // Remove the completed ones from the back, so the indices still to remove stay valid.
  std::sort(indices.begin(), indices.begin() + done, std::greater<>());
  for (int k = 0; k < done; ++k) {
    const auto i = static_cast<std::size_t>(indices[static_cast<std::size_t>(k)]);
    if (rc == MPI_ERR_IN_STATUS && statuses[static_cast<std::size_t>(k)].MPI_ERROR != MPI_SUCCESS) {
      fault(pending_.comms[i], pending_.ranks[i],
            "sending to rank " + std::to_string(pending_.ranks[i]) + ": " +
                mpi_error_string(statuses[static_cast<std::size_t>(k)].MPI_ERROR));
    }
    const std::size_t last = pending_.requests.size() - 1;
    pending_.requests[i] = pending_.requests[last];
    pending_.buffers[i] = std::move(pending_.buffers[last]);
    pending_.comms[i] = pending_.comms[last];
    pending_.ranks[i] = pending_.ranks[last];
    pending_.requests.pop_back();
    pending_.buffers.pop_back();
    pending_.comms.pop_back();
    pending_.ranks.pop_back();
  }
  return true;
}

std::vector<std::unique_ptr<std::string>> Engine::finish_sends(Clock::time_point deadline) {
  while (!pending_.requests.empty() && Clock::now() < deadline) {
    if (!complete_sends()) usleep(100);
  }
  // Sends that never completed (their peer is gone): MPI may still read their buffers, so they
  // go back to the caller, who keeps them until MPI is finalized.
  for (MPI_Request& request : pending_.requests) MPI_Request_free(&request);
  auto unfinished = std::move(pending_.buffers);
  pending_ = PendingSends{};
  return unfinished;
}

void Engine::idle(Clock::time_point last_busy) {
  const auto idle_for = Clock::now() - last_busy;
  if (idle_for < kSpinFor) {
    for (int i = 0; i < 64; ++i) cpu_relax();
    return;
  }
  // Sleep: the first time just past the spin, kFirstSleep, then twice as long as the time
  // already idle past the spin, up to kLongestSleep. Nothing to poll: until woken.
  const bool polling = !listeners_.empty() || !pending_.requests.empty();
  auto sleep_for = std::clamp(std::chrono::duration_cast<std::chrono::nanoseconds>(idle_for - kSpinFor),
                              std::chrono::nanoseconds(kFirstSleep), std::chrono::nanoseconds(kLongestSleep));
  // Rung since the last look at the queue: something was queued (or stop() was called).
  if (doorbell_.exchange(kSleeping, std::memory_order_acq_rel) == kRung) {
    doorbell_.store(kAwake, std::memory_order_release);
    return;
  }
  sleeps_.fetch_add(1, std::memory_order_relaxed);
  pollfd fd{event_fd_, POLLIN, 0};
  const timespec timeout{0, static_cast<long>(sleep_for.count())};
  ppoll(&fd, 1, polling ? &timeout : nullptr, nullptr);
  // A ring from now on is seen by the queue swap that follows.
  doorbell_.store(kAwake, std::memory_order_release);
  std::uint64_t drained = 0;
  [[maybe_unused]] const auto n = ::read(event_fd_, &drained, sizeof drained);
}

void Engine::fault(MPI_Comm comm, int rank, const std::string& what) {
  Listener* listener = listener_of(comm);
  if (listener == nullptr) return;  // nobody to tell: the communicator is no longer listened to
  Delivery delivery;
  delivery.kind = Delivery::Kind::kFault;
  delivery.rank = rank;
  delivery.bytes = "cfutures::mpi: " + what;
  const auto inbox = listener->inbox;
  std::erase_if(listeners_, [&](const Listener& l) { return l.comm == comm; });
  inbox->put(std::move(delivery));
}

Engine::Listener* Engine::listener_of(MPI_Comm comm) {
  for (Listener& l : listeners_) {
    if (l.comm == comm) return &l;
  }
  return nullptr;
}

}  // namespace concurrent::futures::detail::mpi
