#include "search.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace seed {

namespace {

namespace fs = std::filesystem;

// The five files and what they say. Some mention "Synergy", one "synergy", one neither.
constexpr std::pair<const char*, const char*> kTexts[] = {
    {"test1.txt", "This is a Test file.\nIts last line mentions Synergy.\n"},
    {"test2.txt", "Nothing here but synergy in lower case.\n"},
    {"test3.txt", "Something Else is written in this one.\nAnd Synergy, twice: Synergy.\n"},
    {"test4.txt", "No match in this file at all.\n"},
    {"test5.txt", "The last file ends with Synergy\n"},
};

// A temporary directory holding the files; removed by the process that made it.
struct Directory {
  Directory() {
    std::string pattern = (fs::temp_directory_path() / "cfutures-search-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
    path = pattern;
    for (const auto& [name, text] : kTexts) {
      std::ofstream(path / name) << text;
      paths.push_back((path / name).string());
    }
  }
  ~Directory() {
    std::error_code ignored;
    if (::getpid() == owner) fs::remove_all(path, ignored);  // not from forked workers
  }
  fs::path path;
  std::vector<std::string> paths;
  pid_t owner = ::getpid();
};

const Directory& directory() {
  static const Directory instance;
  return instance;
}

}  // namespace

const std::vector<std::string>& files() { return directory().paths; }

std::string file(const std::string& name) { return (directory().path / name).string(); }

std::string search(const std::string& filename, const std::string& target) {
  std::ifstream in(filename);
  if (!in) throw std::runtime_error("cannot open " + filename);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::string name = fs::path(filename).filename().string();
  const std::size_t index = text.find(target);
  if (index == std::string::npos) return repr(target) + " not found in " + name;
  return repr(target) + " found in " + name + " at index " + std::to_string(index);
}

std::string search_file(const std::string& filename) { return search(filename, "Synergy"); }

void process_result(cf::Future<std::string> future) { print("callback on result: " + future.result()); }

}  // namespace seed
