// std::async(std::launch::async): one thread per call (libstdc++), no pool, so --workers is
// ignored, and N is kept small: every outstanding future holds an unjoined thread. Also the
// compose group, written as a std::future user must (no then, no when_all).
#include <future>

#include "../common/compose.hpp"
#include "../common/workloads.hpp"

using namespace bench;

namespace {

struct AsyncPool : GetByGet {
  explicit AsyncPool(int /*workers*/) {}
  template <class F, class A>
  auto submit(F* fn, A arg) {
    return std::async(std::launch::async, fn, arg);
  }
};

// The compose group: std::future has no then and no when_all, so a link is what a user writes
// instead: a std::async call that waits for the previous future (a thread per link); a
// when_all is getting every future in turn; the round trip is std::async(...).get().
long long then_chain(std::future<int> f, long n, std::promise<int>* start) {
  for (long i = 0; i < n; ++i) {
    f = std::async(std::launch::async, [prev = std::move(f)]() mutable { return prev.get() + 1; });
  }
  if (start != nullptr) start->set_value(0);
  return f.get();
}

void then_done(const Args& args, Report& report) {
  report_chain(args, report, [](long n) {
    std::promise<int> start;
    start.set_value(0);
    return then_chain(start.get_future(), n, nullptr);
  });
}

void then_pending(const Args& args, Report& report) {
  report_chain(args, report, [](long n) {
    std::promise<int> start;
    return then_chain(start.get_future(), n, &start);
  });
}

void when_all_calls(const Args& args, Report& report) {
  report_fan_out(args, report, [](long n) {
    std::vector<std::future<int>> calls;
    calls.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) calls.push_back(std::async(std::launch::async, ident, static_cast<int>(i)));
    long long sum = 0;
    for (auto& f : calls) sum += f.get();
    return sum;
  });
}

void await_round_trips(const Args& args, Report& report) {
  const double rtt = time_round_trips(args, [](long m) {
    long long sum = 0;
    for (long i = 0; i < m; ++i) sum += std::async(std::launch::async, ident, static_cast<int>(i)).get();
    return sum;
  });
  report.set("m", static_cast<double>(args.num("m", 20000))).set("rtt_us", rtt);
}

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  add_future_workloads<AsyncPool>(registry);
  registry["compose_then_done"] = then_done;
  registry["compose_then_pending"] = then_pending;
  registry["compose_when_all"] = when_all_calls;
  registry["compose_await"] = await_round_trips;
  return run_main(argc, argv, "std_async", registry);
}
