// The main() of every test binary: GoogleTest plus the leak accounting of leak_check.hpp.
// A test that leaves a file descriptor, a thread or a child process behind fails.
#include <gtest/gtest.h>

#include <cstdlib>

#include "leak_check.hpp"

namespace {

class LeakListener : public testing::EmptyTestEventListener {
 public:
  void OnTestStart(const testing::TestInfo&) override { before_ = cftest::count_resources(); }
  void OnTestEnd(const testing::TestInfo& info) override {
    if (info.result()->Skipped()) return;
    const auto after = cftest::settle(before_, std::chrono::seconds(10));
    if (!cftest::same(before_, after)) {
      ADD_FAILURE() << "resource leak in " << info.test_suite_name() << "." << info.name()
                    << ": before the test " << before_.describe() << ", after it " << after.describe();
    }
  }

 private:
  cftest::ResourceCounts before_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (std::getenv("CFTEST_NO_LEAK_CHECK") == nullptr) {
    testing::UnitTest::GetInstance()->listeners().Append(new LeakListener);
  }
  return RUN_ALL_TESTS();
}
