#include "flags.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "seed.hpp"
#include "web.hpp"

namespace flags {

const std::vector<std::string> POP20_CC = seed::split(
    "CN IN US ID BR PK NG BD RU JP "
    "MX PH VN ET EG DE IR TR CD FR");
const std::string DEST_DIR = "downloads/";

std::string base_url() {
  const char* url = std::getenv("CFUTURES_FLAGS_URL");
  if (url == nullptr) throw std::logic_error("flags::base_url: no flag server (start it with flags::main)");
  return url;
}

void save_flag(const std::string& img, const std::string& filename) {
  const std::string path = DEST_DIR + filename;
  std::ofstream fp(path, std::ios::binary);
  fp.write(img.data(), static_cast<std::streamsize>(img.size()));
  if (!fp) throw std::runtime_error("cannot write " + path);
}

std::string get_flag(const std::string& cc) {
  const std::string url = base_url() + "/" + seed::lower(cc) + "/" + seed::lower(cc) + ".gif";
  seed::print("download " + url);
  return seed::http_get(url);
}

void show(const std::string& text) { seed::print_end(" ", text); }

void download_one(const std::string& cc) {
  const std::string image = get_flag(cc);
  save_flag(image, seed::lower(cc) + ".gif");
}

int main(int argc, char** argv, std::size_t (*download_many)(const std::vector<std::string>& cc_list)) {
  seed::init(argc, argv);
  try {
    std::optional<seed::WebServer> server;
    if (std::getenv("CFUTURES_FLAGS_URL") == nullptr) {
      server.emplace(seed::scaled(seed::SLOW_SERVER_DELAY));
      ::setenv("CFUTURES_FLAGS_URL", (server->url() + "/flags").c_str(), 1);  // worker processes see it too
    }
    std::filesystem::create_directories(DEST_DIR);

    const double t0 = seed::time();
    const std::size_t count = download_many(POP20_CC);
    const double elapsed = seed::time() - t0;
    char line[64];
    std::snprintf(line, sizeof line, "\n%zu flags downloaded in %.2fs", count, elapsed);
    seed::print(line);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}

}  // namespace flags
