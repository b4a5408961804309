// Done-callbacks (API.md "cf::Future<T>", add_done_callback; CPython test_future.py #1-#8).
#include <gtest/gtest.h>

#include <cfutures/cfutures.hpp>

namespace cf = concurrent::futures;

TEST(DoneCallback, WithResult) {  // CPython test_done_callback_with_result
  cf::Future<int> f;
  int seen = 0;
  f.add_done_callback([&](cf::Future<int> g) { seen = g.result(); });
  f.set_result(5);
  EXPECT_EQ(seen, 5);
}
