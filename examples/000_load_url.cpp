// Seed 000 (and 003), "Executor.map()": the ThreadPoolExecutor example of the Python docs.
// Loads five pages with submit and reports them with as_completed; one URL fails.
//
// There is no internet here: the four sites are pages of a local web server (answering after
// the slow server's delay), and the made-up domain is a local port where nothing listens,
// so its download fails at once with "connection refused".
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/seed.hpp"
#include "common/web.hpp"

namespace cf = concurrent::futures;
using seed::print, seed::repr;

// Retrieve a single page and report the url and contents
std::string load_url(std::string url, int timeout) { return seed::http_get(url, std::chrono::seconds(timeout)); }

int main(int argc, char** argv) {
  seed::init(argc, argv);
  seed::WebServer web(seed::scaled(seed::SLOW_SERVER_DELAY));
  seed::ClosedPort nowhere;
  const std::vector<std::string> URLS = {
      web.url() + "/www.foxnews.com/", web.url() + "/www.cnn.com/", web.url() + "/europe.wsj.com/",
      web.url() + "/www.bbc.co.uk/",
      "http://127.0.0.1:" + std::to_string(nowhere.port()) + "/some-made-up-domain.com/"};

  // The executor's destructor shuts it down (waiting), as Python's with statement
  cf::ThreadPoolExecutor executor(5);
  // Start the load operations and mark each future with its URL
  std::unordered_map<cf::Future<std::string>, std::string> future_to_url;
  for (const auto& url : URLS) future_to_url[executor.submit(load_url, url, 60)] = url;
  for (auto future : cf::as_completed(seed::keys(future_to_url))) {
    const std::string& url = future_to_url.at(future);
    try {
      const std::string& data = future.result();
      print(repr(url), "page is", data.size(), "bytes");
    } catch (const std::exception& exc) {
      print(repr(url), "generated an exception:", exc.what());
    }
  }
}
