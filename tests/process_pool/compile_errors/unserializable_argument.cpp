// EXPECT: an argument type cannot be serialized
#include <cfutures/cfutures.hpp>
struct Plain {
  int x = 0;
};
int main() {
  concurrent::futures::ProcessPoolExecutor pool(1);
  return pool.submit([](Plain p) { return p.x; }, Plain{}).result();
}
