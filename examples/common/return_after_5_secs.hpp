// The two functions that seed 000 (and 003) calls return_after_5_secs, each shared by two
// twins. C++ cannot pass an overloaded name to submit(), so they live in two namespaces and
// each twin names the one it uses, under the tutorial's name.
#pragma once

#include <string>

namespace seed {

// The ThreadPoolExecutor and ProcessPoolExecutor programs: sleeps 5 s, returns `message`.
std::string return_after_5_secs(std::string message);

namespace random_sleep {
// The as_completed() and wait() programs: sleeps 1 to 5 s at random, returns "Return of <num>".
std::string return_after_5_secs(int num);
}  // namespace random_sleep

}  // namespace seed
