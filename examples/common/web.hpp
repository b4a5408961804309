// The web for the seed examples, which may not reach the internet: a local HTTP server
// (cpp-httplib) that serves the 20 flag images of Fluent Python's flags examples and a few
// pages standing in for the sites of the load_url example, each answered after a delay like
// the book's slow server; an HTTP client (libcurl); and a local port where nothing listens.
//
//   seed::WebServer server(std::chrono::milliseconds(500));   // 127.0.0.1, a free port
//   std::string gif = seed::http_get(server.url() + "/flags/cn/cn.gif");
//   seed::http_get("http://127.0.0.1:" + std::to_string(seed::ClosedPort().port()) + "/");
//                                                              // throws URLError at once
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace seed {

// The delay of the book's slow server, in seconds per request (scale it with seed::scaled).
inline constexpr double SLOW_SERVER_DELAY = 0.5;

// A failed download (Python's urllib.error.URLError): connection refused, HTTP error, timeout.
class URLError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// GETs `url` and returns the body. Throws URLError with libcurl's message, or "HTTP Error
// <code>" for a status >= 400. Safe from any thread.
std::string http_get(const std::string& url, std::chrono::duration<double> timeout = std::chrono::seconds(60));

// An HTTP server on `host`:`port` (0: a free port) in a thread pool of its own, answering
//   /flags/<cc>/<cc>.gif   the flag of country <cc> (one of the 20 of POP20_CC), a GIF image
//   /<site>/               a small HTML page for <site> (for example /www.bbc.co.uk/)
// each after sleeping `delay` (so requests served in parallel overlap their delays).
class WebServer {
 public:
  explicit WebServer(std::chrono::duration<double> delay, const std::string& host = "127.0.0.1", int port = 0);
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;
  // Stops listening and waits for the requests in progress.
  ~WebServer();
  // "http://<host>:<port>"
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TCP port on 127.0.0.1 that is bound but not listening while this object lives, so a
// connection to it is refused at once (no DNS, no timeout).
class ClosedPort {
 public:
  ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  ~ClosedPort();
  int port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The flag of `cc` as a GIF image: a tricolour whose colours and direction depend on `cc`.
std::string flag_gif(std::string_view cc);
// A small HTML page for `site`, whose length depends on the name.
std::string site_page(std::string_view site);

}  // namespace seed
