// cf::wait on a range whose elements are not futures.
// EXPECT: cf::wait and cf::as_completed take a range (begin()/end()) of cf::Future<T> or cf::AnyFuture
#include <cfutures/wait.hpp>
#include <vector>

int main() {
  std::vector<int> numbers{1, 2, 3};
  (void)concurrent::futures::wait(numbers);
}
