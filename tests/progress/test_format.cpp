// The progress line is tqdm's (API.md "Progress": "as tqdm does"): every expected line below
// is what tqdm 4.64.1 (Debian's python3-tqdm) writes for the same numbers, from
// tqdm.format_meter(n, total, elapsed, ncols=width, prefix=description, ascii=True).
#include <gtest/gtest.h>

#include <cfutures/progress.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace {

namespace cf = concurrent::futures;

std::string line(const char* description, std::size_t done, std::optional<std::size_t> total, double seconds,
                 std::optional<int> width = std::nullopt) {
  return cf::detail::format_progress_line(description, done, total, std::chrono::duration<double>(seconds), width);
}

TEST(ProgressFormat, WithATotal) {
  EXPECT_EQ(line("downloads", 0, 20, 0), "downloads:   0%|          | 0/20 [00:00<?, ?it/s]");
  EXPECT_EQ(line("downloads", 9, 20, 1.1), "downloads:  45%|####5     | 9/20 [00:01<00:01,  8.18it/s]");
  EXPECT_EQ(line("x", 20, 20, 2.5), "x: 100%|##########| 20/20 [00:02<00:00,  8.00it/s]");
  EXPECT_EQ(line("", 1, 3, 0.5), " 33%|###3      | 1/3 [00:00<00:01,  2.00it/s]");
  EXPECT_EQ(line("", 2, 3, 0.5), " 67%|######6   | 2/3 [00:00<00:00,  4.00it/s]");
}

TEST(ProgressFormat, SlowElementsAndHours) {
  EXPECT_EQ(line("", 3, 7, 3725), " 43%|####2     | 3/7 [1:02:05<1:22:46, 1241.67s/it]");
  EXPECT_EQ(line("", 9, std::nullopt, 20), "9it [00:20,  2.22s/it]");
}

TEST(ProgressFormat, WithoutATotalOrPastIt) {
  EXPECT_EQ(line("downloads", 9, std::nullopt, 1.1), "downloads: 9it [00:01,  8.18it/s]");
  EXPECT_EQ(line("x", 25, 20, 2.5), "x: 25it [00:02, 10.00it/s]") << "a count past the total";
  EXPECT_EQ(line("x", 0, 0, 1), "x: 0it [00:01, ?it/s]") << "a total of 0";
}

TEST(ProgressFormat, TheBarFillsTheTerminalsWidth) {
  EXPECT_EQ(line("downloads", 9, 20, 1.1, 80),
            "downloads:  45%|##############8                  | 9/20 [00:01<00:01,  8.18it/s]");
  EXPECT_EQ(line("work", 20, 20, 2.5, 80),
            "work: 100%|#####################################| 20/20 [00:02<00:00,  8.00it/s]");
  EXPECT_EQ(line("downloads", 9, std::nullopt, 1.1, 80), "downloads: 9it [00:01,  8.18it/s]");
}

TEST(ProgressFormat, ANarrowTerminalCutsTheLine) {
  EXPECT_EQ(line("downloads", 5, 20, 1, 20), "downloads:  25%|2| 5");
  EXPECT_EQ(line("d", 999, 1000, 12.5, 40), "d: 100%|9| 999/1000 [00:12<00:00, 79.92i");
}

}  // namespace
