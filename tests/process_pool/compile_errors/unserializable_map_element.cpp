// EXPECT: an argument type cannot be serialized
#include <cfutures/cfutures.hpp>
#include <vector>
struct Plain {
  int x = 0;
};
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  for (int x : pool.map([](Plain p) { return p.x; }, std::vector<Plain>(3))) (void)x;
}
