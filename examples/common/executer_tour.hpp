// Seed 002 ("Executer pools"; the tutorial spells it executer) runs its my_func three ways
// on a pool of 3 workers: submit with a done-callback, map, and wait. The thread twin and the
// process twin do exactly the same with their own my_func and list_of_vals, so the three
// blocks live here once, as the tutorial's code would if it were a function.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "seed.hpp"

namespace seed {

template <class Executor, class F>
void executer_tour(F my_func, const std::vector<int>& list_of_vals) {
  using R = std::invoke_result_t<F, int>;
  auto callback_fn = [](cf::Future<R> future) { print("From callback of future 3: ", future.result()); };

  // Submit
  {
    Executor executer(3);
    auto future1 = executer.submit(my_func, 10);
    auto future2 = executer.submit(my_func, 20);
    auto future3 = executer.submit(my_func, 30);
    print("From future 1: ", future1.result());
    print("From future 2: ", future2.result());
    // Optional callback
    future3.add_done_callback(callback_fn);
  }
  // Map
  {
    Executor executer(3);
    auto results = list(executer.map(my_func, list_of_vals));
    print("Mapped results: ", results);
  }
  // With future module functions
  {
    Executor executer(3);
    auto future1 = executer.submit(my_func, 10);
    auto future2 = executer.submit(my_func, 20);
    auto future3 = executer.submit(my_func, 30);
    auto [completed, not_completed] = cf::wait({future1, future2, future3});
    for (const auto& result : completed) print("From futures: ", result.result());
  }
}

}  // namespace seed
