// The stress mix: several driver threads run random sequences (from a seed) of submit,
// cancel, result/exception with and without timeouts, add_done_callback, wait, as_completed,
// map ranges read partly and destroyed, set_result on executor futures, and shutdown(wait,
// cancel_futures) racing with all of them; tasks themselves cancel, wait on, add callbacks to
// and submit other tasks. Every task is written down in a ledger, and at the end the ledger is
// checked:
//
//   - every future accepted by submit is done, exactly once: its done-callback ran once;
//   - every callback ran exactly once;
//   - a cancelled task never ran; a finished one ran exactly once (unless set_result from
//     outside won the race), and its result is the right value or its own exception;
//   - after shutdown(wait=true) returns, every accepted future is done and no worker is left;
//   - with one worker (thread pool), tasks submitted from one thread start in that order;
//   - wait(), as_completed() and map ranges obey their contracts at every call;
//   - (by the leak listener) no thread, process or file descriptor is left behind.
//
// The mix is generic over the executor through a Target:
//
//   struct Target {
//     using Executor = ...;                        // the executor type
//     static constexpr const char* kName;          // for messages
//     static constexpr bool kInProcess;            // tasks share the test's address space
//     static constexpr bool kFifoWithOneWorker;    // one submitter's tasks start in order
//     static constexpr bool kChunks;               // map honours chunksize
//     static std::unique_ptr<Executor> make(int max_workers, std::uint64_t variant);
//     // Only if !kInProcess: submit remote task `id` of `kind` (counting its run in the
//     // SharedCounters file `ledger`), and recognise StressError(id) after the crossing.
//     static cf::Future<Value> submit_remote(Executor&, const std::string& ledger, std::int64_t id, int kind);
//     static bool is_remote_stress_error(const std::exception&, std::int64_t id);
//   };
//
// ThreadPoolTarget is below; ProcessPoolTarget in process_pool_target.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cfutures/cfutures.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <typeinfo>
#include <unordered_set>
#include <vector>

#include "stress_support.hpp"

namespace cfstress {

namespace cf = concurrent::futures;

using Value = std::string;

// Task `id`'s result: long enough to live on the heap, so AddressSanitizer sees any use of a
// result after its future is gone.
inline Value expected_value(std::int64_t id) { return "result-of-task-" + std::to_string(id) + "-on-the-heap"; }
// The value a driver thread sets from outside with set_result.
inline Value external_value(std::int64_t id) { return "set-from-outside-" + std::to_string(id) + "-on-the-heap"; }

// The exception a task throws on purpose.
struct StressError : std::runtime_error {
  explicit StressError(std::int64_t task_id)
      : std::runtime_error("task " + std::to_string(task_id) + " failed on purpose"), id(task_id) {}
  std::int64_t id;
};

// What map's callable does with input x: throws for x % 7 == 3, else returns expected_value(x).
inline bool map_input_throws(std::int64_t x) { return x % 7 == 3; }
inline Value map_call(std::int64_t x) {
  spin(static_cast<std::uint64_t>(x % 16) * 50);
  if (map_input_throws(x)) throw StressError(x);
  return expected_value(x);
}

enum class Kind : int {
  kReturn,         // returns expected_value(id)
  kThrow,          // throws StressError(id)
  kSpin,           // busy for a while, then returns
  kCancelOther,    // cancels another task, then returns (in-process targets only)
  kWaitOther,      // waits briefly on another task's result, then returns (in-process only)
  kCallbackOther,  // adds a done-callback to another task, then returns (in-process only)
  kSubmitNested,   // submits another task from the worker, then returns (in-process only)
};
inline constexpr int kLocalKinds = 3;  // the kinds that need nothing but their arguments
inline constexpr int kAllKinds = 7;

// One submitted task and everything observed about it.
struct Record {
  // Written before submit (the worker may read them), never after.
  std::int64_t id = 0;
  Kind kind = Kind::kReturn;
  int submitter = -1;              // driver thread, or -1 for a task submitted by a task
  std::uint64_t submit_order = 0;  // position among its submitter's submissions
  // Written once after submit returns, then `published` is set; others read it only after.
  cf::Future<Value> future{};
  std::atomic<bool> published{false};

  std::atomic<std::uint64_t> start_seq{0};  // global order in which bodies were entered
  std::atomic<int> completions{0};          // runs of the done-callback added right at submit
  std::atomic<int> completion_not_done{0};  // ... that saw a future that was not done
  std::atomic<int> extra_registered{0};     // other callbacks added (before the add)
  std::atomic<int> extra_fired{0};          // ... and run
  std::atomic<bool> cancel_succeeded{false};
  std::atomic<bool> set_from_outside{false};
};

// Counts of what happened, to show that the races were exercised (printed after each test).
struct Stats {
  std::atomic<std::uint64_t> submitted{0}, refused{0}, nested{0}, cancel_won{0}, cancel_lost{0}, results_ok{0},
      results_error{0}, results_cancelled{0}, results_timeout{0}, callbacks_inline{0}, callbacks_later{0}, waits{0},
      waits_partial{0}, as_completed{0}, as_completed_timeouts{0}, maps{0}, maps_destroyed_early{0}, map_timeouts{0},
      gated_maps{0}, gated_calls_cancelled{0}, set_outside_won{0}, set_outside_lost{0}, shutdowns{0}, rounds{0}, ops{0};

  std::string describe() const;
  void add(const Stats& other);
};

inline std::string Stats::describe() const {
  std::ostringstream out;
  out << rounds << " rounds, " << ops << " ops: " << submitted << " submitted (" << nested << " by tasks), " << refused
      << " refused after shutdown; cancel won/lost " << cancel_won << "/" << cancel_lost
      << "; result ok/error/cancelled/timeout " << results_ok << "/" << results_error << "/" << results_cancelled << "/"
      << results_timeout << "; callbacks inline/later " << callbacks_inline << "/" << callbacks_later << "; wait "
      << waits << " (" << waits_partial << " partial); as_completed " << as_completed << " (" << as_completed_timeouts
      << " timed out); map " << maps << " (" << maps_destroyed_early << " destroyed early, " << map_timeouts
      << " timed out), gated maps " << gated_maps << " (" << gated_calls_cancelled
      << " calls cancelled unstarted); set_result from outside won/lost " << set_outside_won << "/" << set_outside_lost
      << "; shutdowns " << shutdowns;
  return out.str();
}

inline void Stats::add(const Stats& o) {
  auto sum = [](std::atomic<std::uint64_t>& a, const std::atomic<std::uint64_t>& b) { a += b.load(); };
  sum(submitted, o.submitted), sum(refused, o.refused), sum(nested, o.nested), sum(cancel_won, o.cancel_won);
  sum(cancel_lost, o.cancel_lost), sum(results_ok, o.results_ok), sum(results_error, o.results_error);
  sum(results_cancelled, o.results_cancelled), sum(results_timeout, o.results_timeout);
  sum(callbacks_inline, o.callbacks_inline), sum(callbacks_later, o.callbacks_later), sum(waits, o.waits);
  sum(waits_partial, o.waits_partial), sum(as_completed, o.as_completed);
  sum(as_completed_timeouts, o.as_completed_timeouts), sum(maps, o.maps);
  sum(maps_destroyed_early, o.maps_destroyed_early), sum(map_timeouts, o.map_timeouts);
  sum(gated_maps, o.gated_maps), sum(gated_calls_cancelled, o.gated_calls_cancelled);
  sum(set_outside_won, o.set_outside_won), sum(set_outside_lost, o.set_outside_lost);
  sum(shutdowns, o.shutdowns), sum(rounds, o.rounds), sum(ops, o.ops);
}

// Violations found, with context; kept short (the first ones matter).
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (messages_.size() < 25) messages_.push_back(std::move(what));
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string describe() const {
    std::lock_guard lock(mutex_);
    std::string out = std::to_string(count_) + " violation(s):";
    for (const auto& m : messages_) out += "\n  - " + m;
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::size_t count_ = 0;
  std::vector<std::string> messages_;
};

// A shutdown call planned at a given operation of a given driver thread.
struct PlannedShutdown {
  int thread = 0;
  int op = 0;
  bool wait = true;
  bool cancel_futures = false;
};

// One round: an executor, some driver threads, a ledger.
struct RoundConfig {
  std::uint64_t seed = 0;
  int max_workers = 4;
  int threads = 4;
  int ops_per_thread = 1000;
  std::uint64_t variant = 0;               // Target::make picks executor options from it
  std::vector<PlannedShutdown> shutdowns;  // racing with the drivers
  bool final_cancel_futures = false;       // the final shutdown (after the drivers) cancels
  bool gated_maps = true;                  // may block workers on a gate (in-process targets)

  std::string describe() const {
    std::ostringstream out;
    out << "round seed=0x" << std::hex << seed << std::dec << " max_workers=" << max_workers << " threads=" << threads
        << " ops/thread=" << ops_per_thread;
    for (const auto& s : shutdowns) {
      out << " shutdown(wait=" << s.wait << ",cancel_futures=" << s.cancel_futures << ")@thread" << s.thread << ":op"
          << s.op;
    }
    if (final_cancel_futures) out << " final-cancel";
    return out.str();
  }
};

// A random round configuration; `racing_shutdowns` shutdown calls land during the drivers' run.
inline RoundConfig random_round(Rng& rng, int ops_per_thread, int racing_shutdowns,
                                std::vector<int> worker_choices = {1, 2, 3, 4, 8}) {
  RoundConfig c;
  c.seed = rng.next();
  c.max_workers = worker_choices[rng.below(worker_choices.size())];
  c.threads = 2 + static_cast<int>(rng.below(3));
  c.ops_per_thread = ops_per_thread;
  for (int i = 0; i < racing_shutdowns; ++i) {
    c.shutdowns.push_back({static_cast<int>(rng.below(static_cast<std::uint64_t>(c.threads))),
                           static_cast<int>(rng.below(static_cast<std::uint64_t>(ops_per_thread))), rng.chance(50),
                           rng.chance(50)});
  }
  c.final_cancel_futures = rng.chance(30);
  c.variant = rng.next();
  return c;
}

// Runs one round of the mix on a fresh executor made by Target::make(max_workers).
template <class Target>
class Round {
 public:
  using Executor = typename Target::Executor;

  Round(const RoundConfig& config, Stats& stats, Failures& failures)
      : config_(config),
        stats_(stats),
        failures_(failures),
        capacity_(static_cast<std::size_t>(config.threads) * static_cast<std::size_t>(config.ops_per_thread) * 2 + 16),
        records_(new Record[capacity_]),
        ran_(capacity_) {}

  void run() {
    executor_ = Target::make(config_.max_workers, config_.variant);
    {
      std::vector<std::thread> drivers;
      std::atomic<int> ready{0};
      for (int t = 0; t < config_.threads; ++t) {
        drivers.emplace_back([this, t, &ready] {
          // Start together, so the first operations race too.
          ready.fetch_add(1);
          while (ready.load() < config_.threads) std::this_thread::yield();
          drive(t);
        });
      }
      for (auto& d : drivers) d.join();
    }
    shutdown_and_check(true, config_.final_cancel_futures, "final shutdown");
    executor_.reset();  // the destructor shuts down again: harmless
    check_ledger();
    ++stats_.rounds;
  }

 private:
  // ---------------------------------------------------------------- recording
  void fail(const std::string& what) { failures_.add(what + " [" + config_.describe() + "]"); }

  Record* allocate() {
    const std::size_t slot = next_slot_.fetch_add(1, std::memory_order_relaxed);
    if (slot >= capacity_) return nullptr;
    Record* r = &records_[slot];
    r->id = static_cast<std::int64_t>(slot);
    return r;
  }
  // A published record chosen by `rng`, or null if it picked one not published yet.
  Record* pick(Rng& rng) {
    const std::size_t n = std::min(next_slot_.load(std::memory_order_relaxed), capacity_);
    if (n == 0) return nullptr;
    Record* r = &records_[rng.below(n)];
    return r->published.load(std::memory_order_acquire) ? r : nullptr;
  }

  // ---------------------------------------------------------------- tasks
  Value run_task(Record& r) {
    ran_[static_cast<std::size_t>(r.id)].fetch_add(1, std::memory_order_relaxed);
    r.start_seq.store(start_counter_.fetch_add(1, std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    Rng rng(static_cast<std::uint64_t>(r.id) * 0x9e3779b97f4a7c15ULL ^ config_.seed);
    switch (r.kind) {
      case Kind::kReturn:
        break;
      case Kind::kThrow:
        throw StressError(r.id);
      case Kind::kSpin:
        spin(rng.below(4000));
        break;
      case Kind::kCancelOther:
        if (Record* other = pick(rng)) cancel(*other);
        break;
      case Kind::kWaitOther:
        if (Record* other = pick(rng)) {
          if (other != &r) get_result(*other, std::chrono::microseconds(200));
        }
        break;
      case Kind::kCallbackOther:
        if (Record* other = pick(rng)) add_extra_callback(*other);
        break;
      case Kind::kSubmitNested:
        submit(rng, -1, 0);
        break;
    }
    return expected_value(r.id);
  }

  // Submits a new task (from a driver if submitter >= 0, else from a task).
  void submit(Rng& rng, int submitter, std::uint64_t order) {
    Record* r = allocate();
    if (r == nullptr) return;
    const int kinds = Target::kInProcess && submitter >= 0 ? kAllKinds : kLocalKinds;
    r->kind = static_cast<Kind>(rng.below(static_cast<std::uint64_t>(kinds)));
    r->submitter = submitter;
    r->submit_order = order;
    const bool as_argument = rng.chance(50);
    try {
      if constexpr (Target::kInProcess) {
        // Half the tasks take their record as an argument, half capture it.
        r->future = as_argument ? executor_->submit([this](Record* rec) { return run_task(*rec); }, r)
                                : executor_->submit([this, r] { return run_task(*r); });
      } else {
        r->future = Target::submit_remote(*executor_, ran_.path(), r->id, static_cast<int>(r->kind));
      }
    } catch (const cf::ExecutorShutdown&) {
      if (!shutdown_started_.load()) fail("submit threw ExecutorShutdown before any shutdown() began");
      ++stats_.refused;
      return;
    } catch (const std::exception& e) {
      fail(std::string("submit threw ") + typeid(e).name() + ": " + e.what());
      return;
    }
    ++stats_.submitted;
    if (submitter < 0) ++stats_.nested;
    add_completion_callback(*r, rng.chance(10));
    r->published.store(true, std::memory_order_release);
  }

  // The callback every task gets right after submit: counts completions, exactly once.
  void add_completion_callback(Record& r, bool nest) {
    registering_ = &r;
    r.future.add_done_callback([this, rec = &r, nest](cf::Future<Value> f) {
      if (!f.done()) rec->completion_not_done.fetch_add(1);
      if (!(f == rec->future))
        fail("done-callback got another future than its own (task " + std::to_string(rec->id) + ")");
      rec->completions.fetch_add(1);
      (registering_ == rec ? stats_.callbacks_inline : stats_.callbacks_later)++;
      // A callback added from inside a callback runs at once (the future is done).
      if (nest) add_extra_callback(*rec);
    });
    registering_ = nullptr;
  }

  void add_extra_callback(Record& r) {
    r.extra_registered.fetch_add(1);
    r.future.add_done_callback([this, rec = &r](const cf::Future<Value>& f) {
      if (!f.done()) fail("a done-callback ran on a future that is not done (task " + std::to_string(rec->id) + ")");
      rec->extra_fired.fetch_add(1);
    });
  }

  void cancel(Record& r) {
    if (r.future.cancel()) {
      r.cancel_succeeded.store(true);
      ++stats_.cancel_won;
      if (!r.future.cancelled())
        fail("cancel() returned true but cancelled() is false (task " + std::to_string(r.id) + ")");
      if (!r.future.done()) fail("cancel() returned true but done() is false (task " + std::to_string(r.id) + ")");
    } else {
      ++stats_.cancel_lost;
    }
  }

  // Checks a value read from task r's future.
  void check_value(const Record& r, const Value& v) {
    if (v == expected_value(r.id) && r.kind != Kind::kThrow) return;
    if (v == external_value(r.id)) return;
    fail("task " + std::to_string(r.id) + " (kind " + std::to_string(static_cast<int>(r.kind)) + ") returned \"" + v +
         "\"");
  }
  // Checks an exception read from task r's future.
  void check_error(const Record& r, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const StressError& s) {
      if (r.kind != Kind::kThrow || s.id != r.id) {
        fail("task " + std::to_string(r.id) + " got another task's error: " + s.what());
      }
    } catch (const std::exception& other) {
      if constexpr (!Target::kInProcess) {
        if (r.kind == Kind::kThrow && Target::is_remote_stress_error(other, r.id)) return;
      }
      fail("task " + std::to_string(r.id) + " failed with an unexpected exception " + typeid(other).name() + ": " +
           other.what());
    }
  }

  // result() (with a timeout, or not) and check what it gives.
  void get_result(Record& r, std::optional<std::chrono::microseconds> timeout) {
    try {
      const Value& v = timeout ? r.future.result(*timeout) : r.future.result();
      check_value(r, v);
      ++stats_.results_ok;
    } catch (const cf::CancelledError&) {
      if (!r.future.cancelled()) fail("result() threw CancelledError for a future that is not cancelled");
      ++stats_.results_cancelled;
    } catch (const cf::TimeoutError&) {
      if (!timeout) fail("result() without a timeout threw TimeoutError");
      ++stats_.results_timeout;
    } catch (...) {
      check_error(r, std::current_exception());
      ++stats_.results_error;
    }
  }

  void get_exception(Record& r, std::optional<std::chrono::microseconds> timeout) {
    try {
      std::exception_ptr e = timeout ? r.future.exception(*timeout) : r.future.exception();
      if (e) {
        check_error(r, e);
        ++stats_.results_error;
      } else {
        check_value(r, r.future.result());
        ++stats_.results_ok;
      }
    } catch (const cf::CancelledError&) {
      if (!r.future.cancelled()) fail("exception() threw CancelledError for a future that is not cancelled");
      ++stats_.results_cancelled;
    } catch (const cf::TimeoutError&) {
      if (!timeout) fail("exception() without a timeout threw TimeoutError");
      ++stats_.results_timeout;
    }
  }

  static std::optional<std::chrono::microseconds> random_timeout(Rng& rng) {
    switch (rng.below(6)) {
      case 0:
        return std::chrono::microseconds(0);
      case 1:
        return std::chrono::microseconds(1);
      case 2:
        return std::chrono::microseconds(50);
      case 3:
        return std::chrono::microseconds(1000);
      default:
        return std::nullopt;
    }
  }

  // A few published futures, with repeats (duplicates must count once).
  std::vector<Record*> pick_some(Rng& rng) {
    std::vector<Record*> picked;
    const int n = 1 + static_cast<int>(rng.below(8));
    for (int i = 0; i < n; ++i) {
      if (Record* r = pick(rng)) picked.push_back(r);
    }
    if (!picked.empty() && rng.chance(20)) picked.push_back(picked.front());
    return picked;
  }

  template <class F>
  static std::vector<F> handles(const std::vector<Record*>& rs) {
    std::vector<F> out;
    for (Record* r : rs) out.push_back(r->future);
    return out;
  }
  static std::size_t distinct(const std::vector<Record*>& rs) {
    return std::unordered_set<Record*>(rs.begin(), rs.end()).size();
  }

  template <class F>
  void do_wait(Rng& rng) {
    const auto picked = pick_some(rng);
    if (picked.empty()) return;
    const auto fs = handles<F>(picked);
    const cf::ReturnWhen when = std::array{cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}[rng.below(3)];
    const bool timed = rng.chance(50);
    auto [done, not_done] = timed ? cf::wait(fs, std::chrono::microseconds(rng.below(2000)), when) : cf::wait(fs, when);
    ++stats_.waits;
    if (!not_done.empty()) ++stats_.waits_partial;
    if (done.size() + not_done.size() != distinct(picked)) fail("wait() lost or duplicated futures");
    bool any_failed = false;
    for (const auto& f : done) {
      if (!f.done()) fail("wait() put a future that is not done in `done`");
      if (!f.cancelled() && f.exception(std::chrono::seconds(0))) any_failed = true;
    }
    if (timed) return;
    if (when == cf::ALL_COMPLETED && !not_done.empty()) fail("wait(ALL_COMPLETED) returned with futures not done");
    if (when == cf::FIRST_COMPLETED && done.empty()) fail("wait(FIRST_COMPLETED) returned with nothing done");
    if (when == cf::FIRST_EXCEPTION && !not_done.empty() && !any_failed) {
      fail("wait(FIRST_EXCEPTION) returned early without a failed future");
    }
  }

  template <class F>
  void do_as_completed(Rng& rng) {
    const auto picked = pick_some(rng);
    if (picked.empty()) return;
    const auto fs = handles<F>(picked);
    const std::size_t total = distinct(picked);
    const bool timed = rng.chance(40);
    std::unordered_set<F> seen;
    ++stats_.as_completed;
    auto consume = [&](auto&& range) {
      for (F f : range) {
        if (!f.done()) fail("as_completed() yielded a future that is not done");
        if (!seen.insert(f).second) fail("as_completed() yielded a future twice");
      }
    };
    try {
      if (timed) {
        consume(cf::as_completed(fs, std::chrono::microseconds(rng.below(2000))));
      } else {
        consume(cf::as_completed(fs));
      }
      if (seen.size() != total) fail("as_completed() ended before yielding every future");
    } catch (const cf::TimeoutError& e) {
      ++stats_.as_completed_timeouts;
      if (!timed) fail("as_completed() without a timeout threw TimeoutError");
      const std::string want =
          std::to_string(total - seen.size()) + " (of " + std::to_string(total) + ") futures unfinished";
      if (e.what() != want)
        fail(std::string("as_completed() timeout message \"") + e.what() + "\", want \"" + want + "\"");
    }
  }

  // Whether `e`, read at map position i, is the error the map's callable threw for an input
  // of that position's chunk (a failing call fails its whole chunk, as in CPython).
  static bool is_map_error(const std::exception& e, std::size_t i, const std::vector<std::int64_t>& inputs,
                           std::size_t chunksize) {
    const std::size_t first = i / chunksize * chunksize;
    for (std::size_t k = first; k < std::min(inputs.size(), first + chunksize); ++k) {
      if (!map_input_throws(inputs[k])) continue;
      if (const auto* s = dynamic_cast<const StressError*>(&e); s != nullptr && s->id == inputs[k]) return true;
      if constexpr (!Target::kInProcess) {
        if (Target::is_remote_stress_error(e, inputs[k])) return true;
      }
    }
    return false;
  }

  void do_map(Rng& rng) {
    const int n = 1 + static_cast<int>(rng.below(12));
    std::vector<std::int64_t> inputs;
    for (int i = 0; i < n; ++i) inputs.push_back(static_cast<std::int64_t>(rng.below(1'000'000)));
    cf::MapOptions options;
    if (rng.chance(20)) options.timeout = std::chrono::microseconds(rng.below(3000));
    if (rng.chance(40)) options.buffersize = 1 + rng.below(4);
    if (Target::kChunks && rng.chance(50)) options.chunksize = 1 + rng.below(4);
    const int to_read = static_cast<int>(rng.below(static_cast<std::uint64_t>(n) + 2));
    ++stats_.maps;
    try {
      auto range = executor_->map(&map_call, inputs, options);
      int i = 0;
      for (auto it = range.begin(); i < to_read && it != range.end(); ++it, ++i) {
        const auto at = static_cast<std::size_t>(i);
        try {
          Value v = *it;
          if (map_input_throws(inputs[at]) || v != expected_value(inputs[at])) {
            fail("map position " + std::to_string(i) + " yielded \"" + v + "\" for input " +
                 std::to_string(inputs[at]));
          }
        } catch (const cf::TimeoutError&) {
          if (!options.timeout) fail("map without a timeout threw TimeoutError");
          ++stats_.map_timeouts;
          if (!(it == range.end())) fail("a map range continued after its timeout");
          break;
        } catch (const cf::CancelledError&) {
          // Only shutdown(cancel_futures=true) cancels a map's calls while the range lives.
          if (!shutdown_started_.load()) fail("a map position was cancelled with no shutdown");
          break;
        } catch (const cf::ExecutorShutdown&) {
          throw;
        } catch (const std::exception& e) {
          if (!is_map_error(e, at, inputs, options.chunksize)) {
            fail("map position " + std::to_string(i) + " (input " + std::to_string(inputs[at]) + ") threw " +
                 typeid(e).name() + ": " + e.what());
          }
        }
      }
      if (i < n) ++stats_.maps_destroyed_early;
    } catch (const cf::ExecutorShutdown&) {
      if (!shutdown_started_.load()) fail("map threw ExecutorShutdown before any shutdown() began");
    } catch (const std::exception& e) {
      fail(std::string("map threw ") + typeid(e).name() + ": " + e.what());
    }
  }

  // A map whose calls block until the range is gone: destroying the range must cancel every
  // call not started, so at most max_workers calls ever run (in-process targets only).
  struct Gate {
    std::atomic<bool> open{false};
    std::atomic<int> entered{0};
    int calls = 0;
  };
  void do_gated_map(Rng& rng) {
    auto gate = std::make_shared<Gate>();
    gate->calls = config_.max_workers + 1 + static_cast<int>(rng.below(6));
    std::vector<int> inputs(static_cast<std::size_t>(gate->calls));
    ++stats_.gated_maps;
    try {
      auto range = executor_->map(
          [gate](int) {
            gate->entered.fetch_add(1);
            gate->open.wait(false);
            return 0;
          },
          inputs);
      if (rng.chance(50)) std::this_thread::yield();  // give workers a chance to pick calls up
    } catch (const cf::ExecutorShutdown&) {
      if (!shutdown_started_.load()) fail("map threw ExecutorShutdown before any shutdown() began");
    }
    gate->open.store(true);
    gate->open.notify_all();
    gates_mutex_.lock();
    gates_.push_back(gate);
    gates_mutex_.unlock();
  }

  void set_from_outside(Record& r) {
    try {
      r.future.set_result(external_value(r.id));
      r.set_from_outside.store(true);
      ++stats_.set_outside_won;
    } catch (const cf::InvalidStateError&) {
      // Lost the race: the future is done, or being completed right now.
      if (!r.future.done() && !r.future.running()) fail("set_result threw InvalidStateError on a pending future");
      ++stats_.set_outside_lost;
    }
  }

  // Shuts down; after a waiting shutdown, every accepted future must be done and no worker left.
  void shutdown_and_check(bool wait, bool cancel_futures, const char* what) {
    shutdown_started_.store(true);
    executor_->shutdown(wait, cancel_futures);
    ++stats_.shutdowns;
    if (!wait) return;
    if (executor_->worker_count() != 0) {
      fail(std::string(what) + ": shutdown(wait=true) returned with " + std::to_string(executor_->worker_count()) +
           " workers alive");
    }
    const std::size_t n = std::min(next_slot_.load(), capacity_);
    for (std::size_t i = 0; i < n; ++i) {
      Record& r = records_[i];
      if (r.published.load(std::memory_order_acquire) && !r.future.done()) {
        fail(std::string(what) + ": shutdown(wait=true) returned but task " + std::to_string(r.id) +
             " is not done: " + r.future.describe());
      }
    }
  }

  // ---------------------------------------------------------------- the driver
  void drive(int t) {
    Rng rng = Rng(config_.seed).fork(static_cast<std::uint64_t>(t) + 1);
    std::uint64_t order = 0;
    for (int op = 0; op < config_.ops_per_thread; ++op) {
      for (const auto& s : config_.shutdowns) {
        if (s.thread == t && s.op == op) shutdown_and_check(s.wait, s.cancel_futures, "racing shutdown");
      }
      ++stats_.ops;
      const auto roll = rng.below(100);
      if (roll < 34) {
        submit(rng, t, order++);
      } else if (roll < 44) {
        if (Record* r = pick(rng)) cancel(*r);
      } else if (roll < 56) {
        if (Record* r = pick(rng)) get_result(*r, random_timeout(rng));
      } else if (roll < 61) {
        if (Record* r = pick(rng)) get_exception(*r, random_timeout(rng));
      } else if (roll < 69) {
        if (Record* r = pick(rng)) add_extra_callback(*r);
      } else if (roll < 75) {
        rng.chance(50) ? do_wait<cf::Future<Value>>(rng) : do_wait<cf::AnyFuture>(rng);
      } else if (roll < 81) {
        rng.chance(50) ? do_as_completed<cf::Future<Value>>(rng) : do_as_completed<cf::AnyFuture>(rng);
      } else if (roll < 88) {
        do_map(rng);
      } else if (roll < 90) {
        if constexpr (Target::kInProcess) {
          if (config_.gated_maps) do_gated_map(rng);
        }
      } else if (roll < 92) {
        if (Record* r = pick(rng)) set_from_outside(*r);
      } else {
        // Copy and drop handles from several threads (reference counts race).
        if (Record* r = pick(rng)) {
          cf::Future<Value> copy = r->future;
          cf::AnyFuture any = copy;
          if (!(any == cf::AnyFuture(r->future))) fail("copies of a future compare unequal");
        }
      }
    }
  }

  // ---------------------------------------------------------------- final checks
  void check_ledger() {
    const std::size_t n = std::min(next_slot_.load(), capacity_);
    std::vector<std::vector<const Record*>> by_submitter(static_cast<std::size_t>(config_.threads));
    for (std::size_t i = 0; i < n; ++i) {
      const Record& r = records_[i];
      if (!r.published.load()) continue;  // refused by submit
      const std::string name =
          "task " + std::to_string(r.id) + " (kind " + std::to_string(static_cast<int>(r.kind)) + ")";
      const int ran = static_cast<int>(ran_[static_cast<std::size_t>(r.id)].load());
      if (!r.future.done()) fail(name + " is not done at the end: " + r.future.describe());
      if (ran > 1) fail(name + " ran " + std::to_string(ran) + " times");
      if (r.completions.load() != 1)
        fail(name + ": its done-callback ran " + std::to_string(r.completions.load()) + " times");
      if (r.completion_not_done.load() != 0) fail(name + ": its done-callback saw a future not done");
      if (r.extra_fired.load() != r.extra_registered.load()) {
        fail(name + ": " + std::to_string(r.extra_registered.load()) + " callbacks added, " +
             std::to_string(r.extra_fired.load()) + " ran");
      }
      if (r.cancel_succeeded.load() && !r.future.cancelled())
        fail(name + ": cancel() returned true, but it is not cancelled");
      if (r.future.cancelled()) {
        if (ran != 0) fail(name + " was cancelled but ran");
        if (r.set_from_outside.load()) fail(name + " was cancelled after set_result succeeded");
        continue;
      }
      if (!r.future.done()) continue;
      if (r.set_from_outside.load()) {
        if (r.future.result() != external_value(r.id))
          fail(name + ": set_result won, but result() is \"" + r.future.result() + "\"");
        continue;
      }
      if (ran != 1) fail(name + " finished without running (ran " + std::to_string(ran) + " times)");
      if (std::exception_ptr e = r.future.exception()) {
        check_error(r, e);
      } else {
        check_value(r, r.future.result());
      }
      if (r.submitter >= 0 && ran == 1) by_submitter[static_cast<std::size_t>(r.submitter)].push_back(&r);
    }
    // One worker: the queue is FIFO, so one thread's tasks start in its submission order.
    if (Target::kFifoWithOneWorker && config_.max_workers == 1) {
      for (auto& list : by_submitter) {
        std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->submit_order < b->submit_order; });
        for (std::size_t i = 1; i < list.size(); ++i) {
          if (list[i]->start_seq.load() < list[i - 1]->start_seq.load()) {
            fail("with one worker, task " + std::to_string(list[i]->id) + " started before task " +
                 std::to_string(list[i - 1]->id) + ", submitted earlier by the same thread");
            break;
          }
        }
      }
    }
    for (const auto& gate : gates_) {
      const int entered = gate->entered.load();
      if (entered > config_.max_workers) {
        fail("a map range destroyed early let " + std::to_string(entered) + " of its " + std::to_string(gate->calls) +
             " calls run on " + std::to_string(config_.max_workers) + " workers: calls not started were not cancelled");
      }
      stats_.gated_calls_cancelled += static_cast<std::uint64_t>(gate->calls - entered);
    }
  }

  const RoundConfig config_;
  Stats& stats_;
  Failures& failures_;
  const std::size_t capacity_;
  std::unique_ptr<Record[]> records_;
  SharedCounters ran_;  // times each task's body was entered (in any process)
  std::atomic<std::size_t> next_slot_{0};
  std::atomic<std::uint64_t> start_counter_{0};
  std::atomic<bool> shutdown_started_{false};
  std::unique_ptr<Executor> executor_;
  std::mutex gates_mutex_;
  std::vector<std::shared_ptr<Gate>> gates_;
  static inline thread_local Record* registering_ = nullptr;
};

// The thread pool as a stress target.
struct ThreadPoolTarget {
  using Executor = cf::ThreadPoolExecutor;
  static constexpr const char* kName = "ThreadPoolExecutor";
  static constexpr bool kInProcess = true;          // tasks share the ledger's address space
  static constexpr bool kFifoWithOneWorker = true;  // API.md: one thread's tasks start in order
  static constexpr bool kChunks = false;            // map's chunksize is ignored
  static std::unique_ptr<Executor> make(int max_workers, std::uint64_t /*variant*/) {
    return std::make_unique<Executor>(max_workers);
  }
};

}  // namespace cfstress
