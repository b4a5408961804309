// EXPECT: an argument type cannot be serialized
#include <cfutures/cfutures.hpp>
#include <string_view>
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  return static_cast<int>(pool.submit([](std::string_view s) { return s.size(); }, "text").result());
}
