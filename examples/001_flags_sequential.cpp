// Seed 001 (Fluent Python, chapter 17), "A Sequential Download Script": download the 20
// flags one after the other. The rest of the script (POP20_CC, get_flag, save_flag, show,
// main) is common/flags.cpp, as the book's flags.py.
#include "common/flags.hpp"
#include "common/seed.hpp"

using namespace flags;

std::size_t download_many(const std::vector<std::string>& cc_list) {
  for (const auto& cc : cc_list) {
    const std::string image = get_flag(cc);
    show(cc);
    save_flag(image, seed::lower(cc) + ".gif");
  }
  return cc_list.size();
}

int main(int argc, char** argv) { return flags::main(argc, argv, download_many); }
