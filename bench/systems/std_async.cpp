// std::async(std::launch::async): one thread per call (libstdc++), no pool, so --workers is
// ignored, and N is kept small: every outstanding future holds an unjoined thread.
#include <future>

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

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  add_future_workloads<AsyncPool>(registry);
  return run_main(argc, argv, "std_async", registry);
}
