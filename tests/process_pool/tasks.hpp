// Functions and types the process-pool tests run in workers. They live in the test binary,
// which is what the workers are copies of.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cereal/cereal.hpp>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pp {

inline int square(int x) { return x * x; }
inline int add(int a, int b) { return a + b; }
inline long power(long base, int exp) {
  long r = 1;
  for (int i = 0; i < exp; ++i) r *= base;
  return r;
}
inline int ident(int x) { return x; }
inline pid_t worker_pid() { return getpid(); }
inline pid_t worker_parent() { return getppid(); }  // the fork server
inline int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
inline pid_t sleep_then_pid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return getpid();
}
[[noreturn]] inline void exit_with(int code) { _exit(code); }
inline void raise_signal(int signal) { ::raise(signal); }
inline int divide(int a, int b) {
  if (b == 0) throw std::domain_error("division by zero");
  return a / b;
}

// A value whose (de)serialization misbehaves on purpose, to inject faults at each point of a
// call's journey. Save runs where the value is sent from, load where it arrives.
struct Trap {
  enum Action : int {
    kNothing = 0,
    kThrowOnSave,
    kExitOnSave,
    kCrashOnSave,
    kThrowOnLoad,
    kExitOnLoad,
    kCrashOnLoad,
  };
  int action = kNothing;

  template <class Archive>
  void save(Archive& ar) const {
    act(kThrowOnSave, kExitOnSave, kCrashOnSave);
    ar(action);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(action);
    act(kThrowOnLoad, kExitOnLoad, kCrashOnLoad);
  }

 private:
  void act(int throw_on, int exit_on, int crash_on) const {
    if (action == throw_on) throw std::runtime_error("trap sprung");
    if (action == exit_on) _exit(3);
    if (action == crash_on) ::raise(SIGSEGV);
  }
};

inline int take_trap(Trap trap) { return trap.action; }
inline Trap make_trap(int action) { return Trap{action}; }

}  // namespace pp
