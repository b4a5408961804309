// The exception classes of cfutures. Every one derives from cf::Error, itself a
// std::runtime_error, so `catch (const cf::Error&)` catches everything the library throws
// except std::invalid_argument for bad arguments.
//
//   std::runtime_error
//   └── cf::Error
//       ├── cf::CancelledError       result()/exception() of a cancelled future
//       ├── cf::TimeoutError         a timeout passed (result, exception, as_completed, map)
//       ├── cf::InvalidStateError    set_result/set_exception on a done future
//       ├── cf::ExecutorShutdown     submit after shutdown
//       ├── cf::BrokenExecutor       the executor can no longer run tasks
//       │   ├── cf::BrokenThreadPool    a thread initializer threw
//       │   ├── cf::BrokenProcessPool   a worker process died or its initializer failed
//       │   └── cf::BrokenMPIPool       a worker rank died or its initializer failed
//       ├── cf::SerializationError   a value could not be (de)serialized to cross to another process
//       └── cf::RemoteError          a remote exception whose type cannot be re-created
#pragma once

#include <stdexcept>
#include <string>

namespace concurrent::futures {

// Base of every cfutures exception (Python: concurrent.futures._base.Error).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by result()/exception() of a cancelled future. what() is "cancelled".
class CancelledError : public Error {
 public:
  CancelledError() : Error("cancelled") {}
  using Error::Error;
};

// Thrown when a timeout passes first. as_completed's says "N (of M) futures unfinished".
class TimeoutError : public Error {
 public:
  TimeoutError() : Error("timed out") {}
  using Error::Error;
};

// Thrown by set_result/set_exception/set_running_or_notify_cancel in a state that forbids it.
class InvalidStateError : public Error {
 public:
  using Error::Error;
};

// Thrown by submit/map after shutdown() (Python: RuntimeError "cannot schedule new futures
// after shutdown").
class ExecutorShutdown : public Error {
 public:
  ExecutorShutdown() : Error("cannot schedule new futures after shutdown") {}
  using Error::Error;
};

// The executor can no longer run tasks.
class BrokenExecutor : public Error {
 public:
  using Error::Error;
};

// A thread pool whose initializer threw.
class BrokenThreadPool : public BrokenExecutor {
 public:
  BrokenThreadPool() : BrokenExecutor("A thread initializer failed, the thread pool is not usable anymore") {}
  using BrokenExecutor::BrokenExecutor;
};

// A process pool whose worker died abruptly or whose initializer failed; what() says how.
class BrokenProcessPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
};

// An MPI executor (cfutures/mpi.hpp) whose worker rank died or could not be started, or whose
// initializer failed; what() says which rank and how.
class BrokenMPIPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
};

// An argument or a result could not be serialized or deserialized to cross to another process
// (or the call cannot cross at all). It fails only the future of that call; what() says which
// value, on which side, and why.
class SerializationError : public Error {
 public:
  using Error::Error;
};

// An exception thrown in another process whose type cannot be re-created here.
class RemoteError : public Error {
 public:
  RemoteError(std::string type_name, const std::string& what, std::string remote_site = {})
      : Error(what), type_name_(std::move(type_name)), remote_site_(std::move(remote_site)) {}
  // The original exception's type, demangled (for example "std::bad_alloc" or "my::Error").
  const std::string& type_name() const noexcept { return type_name_; }
  // Where the exception was thrown, when known (empty otherwise).
  const std::string& remote_site() const noexcept { return remote_site_; }

 private:
  std::string type_name_;
  std::string remote_site_;
};

}  // namespace concurrent::futures
