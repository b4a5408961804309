#include "return_after_5_secs.hpp"

#include "seed.hpp"

namespace seed {

std::string return_after_5_secs(std::string message) {
  sleep(5);
  return message;
}

std::string random_sleep::return_after_5_secs(int num) {
  sleep(randint(1, 5));
  return "Return of " + std::to_string(num);
}

}  // namespace seed
