// Boost.Asio thread_pool with post(pool, use_future(fn)) (std::future), and plain post() for
// the completion-queue stand-in for as_completed.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include "../common/workloads.hpp"

using namespace bench;

namespace {

struct AsioPool : GetByGet {
  boost::asio::thread_pool pool;
  explicit AsioPool(int workers) : pool(static_cast<std::size_t>(workers)) {}
  ~AsioPool() { pool.join(); }  // drain, as shutdown(wait=true) does
  template <class F, class A>
  auto submit(F* fn, A arg) {
    return boost::asio::post(pool, boost::asio::use_future([fn, arg] { return fn(arg); }));
  }
  template <class F>
  void post(F fn) {
    boost::asio::post(pool, std::move(fn));
  }
};

}  // namespace

int main(int argc, char** argv) {
  Registry registry;
  add_future_workloads<AsioPool>(registry);
  return run_main(argc, argv, "asio", registry);
}
