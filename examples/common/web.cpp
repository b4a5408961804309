#include "web.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace seed {

// ---- client ----------------------------------------------------------------------------

namespace {

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

}  // namespace

std::string http_get(const std::string& url, std::chrono::duration<double> timeout) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw URLError("curl_easy_init failed");
  std::string body;
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::chrono::duration<double, std::milli>(timeout).count()));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);                        // threads
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");  // local server
  if (const CURLcode code = curl_easy_perform(curl.get()); code != CURLE_OK) {
    throw URLError(*error != '\0' ? error : curl_easy_strerror(code));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) throw URLError("HTTP Error " + std::to_string(status));
  return body;
}

// ---- server ----------------------------------------------------------------------------

namespace {

// Debian's cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed
// when the library was built): 20 simultaneous connections overflow it, and the kernel drops
// the extra SYNs, which the clients resend only after a second. Listening again on the bound
// socket raises the backlog (Linux allows it).
class Server : public httplib::Server {
 public:
  void raise_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

}  // namespace

struct WebServer::Impl {
  Server server;
  std::string url;
  std::thread listener;
};

WebServer::WebServer(std::chrono::duration<double> delay, const std::string& host, int port)
    : impl_(std::make_unique<Impl>()) {
  auto& server = impl_->server;
  // Enough threads that the 20 downloads of a 20-thread pool are all served at once.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  const auto pause = std::chrono::duration_cast<std::chrono::nanoseconds>(delay);
  server.Get(R"(/flags/([a-z]{2})/([a-z]{2})\.gif)", [pause](const httplib::Request& req, httplib::Response& res) {
    std::this_thread::sleep_for(pause);
    if (req.matches[1] != req.matches[2]) {
      res.status = 404;
      return;
    }
    res.set_content(flag_gif(req.matches[1].str()), "image/gif");
  });
  server.Get(R"(/([A-Za-z0-9.-]+)/)", [pause](const httplib::Request& req, httplib::Response& res) {
    std::this_thread::sleep_for(pause);
    res.set_content(site_page(req.matches[1].str()), "text/html");
  });
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) throw std::runtime_error("WebServer: cannot listen on " + host + ":" + std::to_string(port));
  server.raise_backlog();
  impl_->url = "http://" + host + ":" + std::to_string(bound);
  impl_->listener = std::thread([&server] { server.listen_after_bind(); });
}

WebServer::~WebServer() {
  impl_->server.stop();
  impl_->listener.join();
}

std::string WebServer::url() const { return impl_->url; }

ClosedPort::ClosedPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("ClosedPort: cannot bind a socket on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
}

ClosedPort::~ClosedPort() { ::close(fd_); }

// ---- content ---------------------------------------------------------------------------

namespace {

// Writes LZW codes of a fixed width, least significant bit first, in GIF's sub-blocks.
class CodeWriter {
 public:
  void put(unsigned code, int width) {
    bits_ |= static_cast<std::uint32_t>(code) << count_;
    for (count_ += width; count_ >= 8; count_ -= 8, bits_ >>= 8) bytes_.push_back(static_cast<char>(bits_ & 0xff));
  }
  std::string blocks() {
    if (count_ > 0) bytes_.push_back(static_cast<char>(bits_ & 0xff));
    std::string out;
    for (std::size_t i = 0; i < bytes_.size(); i += 255) {
      const std::size_t n = std::min<std::size_t>(255, bytes_.size() - i);
      out += static_cast<char>(n);
      out.append(bytes_, i, n);
    }
    return out + '\0';
  }

 private:
  std::string bytes_;
  std::uint32_t bits_ = 0;
  int count_ = 0;
};

void put16(std::string& out, unsigned value) {
  out += static_cast<char>(value & 0xff);
  out += static_cast<char>(value >> 8);
}

}  // namespace

std::string flag_gif(std::string_view cc) {
  static constexpr std::array<std::uint32_t, 8> colours{0xDE2910, 0xFFDE00, 0x002868, 0xFFFFFF,
                                                        0x009739, 0x000000, 0xFF9933, 0x0055A4};
  const std::size_t h = std::hash<std::string_view>{}(cc);
  const bool vertical = (h & 1) != 0;
  const unsigned width = 90, height = 60;
  std::string gif = "GIF89a";
  put16(gif, width);
  put16(gif, height);
  gif += static_cast<char>(0x91);  // global colour table of 4 entries, 2 bits of colour resolution
  gif += '\0';                     // background colour 0
  gif += '\0';                     // square pixels
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t rgb = colours[(h >> (3 * i + 1)) % colours.size()];
    gif += static_cast<char>(rgb >> 16);
    gif += static_cast<char>((rgb >> 8) & 0xff);
    gif += static_cast<char>(rgb & 0xff);
  }
  gif += ',';  // image descriptor: the whole screen, no local table, not interlaced
  put16(gif, 0);
  put16(gif, 0);
  put16(gif, width);
  put16(gif, height);
  gif += '\0';
  // Uncompressed LZW: 3-bit codes, a clear code before every two pixels so the code table
  // never grows past 3 bits (every decoder reads this; it is only bigger than real LZW).
  const unsigned clear = 4, end = 5;
  gif += '\2';  // minimum code size
  CodeWriter codes;
  unsigned pixel = 0;
  for (unsigned y = 0; y < height; ++y) {
    for (unsigned x = 0; x < width; ++x, ++pixel) {
      if (pixel % 2 == 0) codes.put(clear, 3);
      codes.put(vertical ? x * 3 / width : y * 3 / height, 3);
    }
  }
  codes.put(end, 3);
  gif += codes.blocks();
  return gif + ';';
}

std::string site_page(std::string_view site) {
  std::string page = "<!DOCTYPE html>\n<html><head><title>" + std::string(site) + "</title></head>\n<body>\n";
  const std::size_t paragraphs = 20 + std::hash<std::string_view>{}(site) % 80;
  for (std::size_t i = 0; i < paragraphs; ++i) {
    page += "<p>News item " + std::to_string(i + 1) + " from " + std::string(site) + ", served locally.</p>\n";
  }
  return page + "</body></html>\n";
}

}  // namespace seed
