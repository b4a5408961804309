// Boost.Thread's futures (BOOST_THREAD_VERSION 5, Debian's libboost-thread-dev) in the compose
// group: future::then, when_all over futures of boost::async on a basic_thread_pool, and the
// blocking get() round trip (Boost has no coroutine support for its futures).
//
// then uses launch::sync (the continuation runs in the thread that completes the future, as
// cfutures' then(fn) does): Boost's default policy for a promise's future would start a thread
// per continuation. Boost runs a pending chain recursively, one level of stack per link: 10^5
// links overflow the main thread's 8 MiB stack (SIGSEGV), so compose_then_pending runs on a
// thread with a 1 GiB stack (--stack_mb) to get a number at all.
#define BOOST_THREAD_VERSION 5
#include <pthread.h>

#include <boost/thread/executors/basic_thread_pool.hpp>
#include <boost/thread/future.hpp>
#include <exception>
#include <stdexcept>
#include <vector>

#include "../common/compose.hpp"

using namespace bench;

namespace {

using boost::future;

long long then_chain(future<int> f, long n, boost::promise<int>* start) {
  for (long i = 0; i < n; ++i) {
    f = f.then(boost::launch::sync, [](future<int> done) { return done.get() + 1; });
  }
  if (start != nullptr) start->set_value(0);
  return f.get();
}

void then_done(const Args& args, Report& report) {
  report_chain(args, report, [](long n) { return then_chain(boost::make_ready_future(0), n, nullptr); });
}

void then_pending(const Args& args, Report& report) {
  const long stack_mb = args.num("stack_mb", 1024);
  struct Job {
    const Args& args;
    Report& report;
    std::exception_ptr error;
    static void* run(void* self) {
      auto* job = static_cast<Job*>(self);
      try {
        report_chain(job->args, job->report, [](long n) {
          boost::promise<int> start;
          return then_chain(start.get_future(), n, &start);
        });
      } catch (...) {
        job->error = std::current_exception();
      }
      return nullptr;
    }
  } job{args, report, nullptr};
  pthread_attr_t big_stack;
  pthread_attr_init(&big_stack);
  pthread_attr_setstacksize(&big_stack, static_cast<std::size_t>(stack_mb) << 20);
  pthread_t runner;
  if (pthread_create(&runner, &big_stack, &Job::run, &job) != 0) throw std::runtime_error("pthread_create failed");
  pthread_join(runner, nullptr);
  pthread_attr_destroy(&big_stack);
  if (job.error) std::rethrow_exception(job.error);
  report.set("stack_mb", static_cast<double>(stack_mb));
}

void when_all_calls(const Args& args, Report& report) {
  boost::executors::basic_thread_pool pool(static_cast<unsigned>(args.workers()));
  for (int i = 0; i < 1000; ++i) boost::async(pool, &ident, i).get();
  report_fan_out(args, report, [&](long n) {
    std::vector<future<int>> calls;
    calls.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) calls.push_back(boost::async(pool, &ident, static_cast<int>(i)));
    auto all = boost::when_all(calls.begin(), calls.end()).get();
    long long sum = 0;
    for (auto& f : all) sum += f.get();
    return sum;
  });
}

void await_round_trips(const Args& args, Report& report) {
  boost::executors::basic_thread_pool pool(static_cast<unsigned>(args.workers()));
  for (int i = 0; i < 1000; ++i) boost::async(pool, &ident, i).get();
  const double rtt = time_round_trips(args, [&](long m) {
    long long sum = 0;
    for (long i = 0; i < m; ++i) sum += boost::async(pool, &ident, static_cast<int>(i)).get();
    return sum;
  });
  report.set("m", static_cast<double>(args.num("m", 20000))).set("rtt_us", rtt);
}

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  registry["compose_then_done"] = then_done;
  registry["compose_then_pending"] = then_pending;
  registry["compose_when_all"] = when_all_calls;
  registry["compose_await"] = await_round_trips;
  return run_main(argc, argv, "boost_thread", registry);
}
