// cf::as_completed on a map whose values, not keys, are futures (Python iterates a dict's keys).
// EXPECT: or a map whose keys are futures
#include <cfutures/wait.hpp>
#include <map>
#include <string>

namespace cf = concurrent::futures;

int main() {
  std::map<std::string, cf::Future<int>> url_to_future;
  for (cf::Future<int> f : cf::as_completed(url_to_future, std::chrono::seconds(1))) (void)f;
}
