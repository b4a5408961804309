// The flag server on its own, like the book's slow server: serves the 20 flags (and the
// load_url pages) on 127.0.0.1 until Ctrl-C. Point the flags programs at it with
//   CFUTURES_FLAGS_URL=http://127.0.0.1:8001/flags ./001_flags_threadpool
// Options: --port=N (default 8001; 0 picks a free port), --delay=SECONDS (default 0.5 per
// request, scaled by --fast / --scale), --host=ADDRESS (default 127.0.0.1).
#include <csignal>
#include <cstdlib>
#include <string>

#include "common/seed.hpp"
#include "common/web.hpp"

int main(int argc, char** argv) {
  seed::init(argc, argv, {"--port", "--delay", "--host"});
  const int port = std::atoi(seed::option("--port").value_or("8001").c_str());
  const double delay = std::strtod(seed::option("--delay").value_or("0.5").c_str(), nullptr);
  const std::string host = seed::option("--host").value_or("127.0.0.1");

  // Block the stop signals in every thread, then wait for one here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  seed::WebServer server(seed::scaled(delay), host, port);
  seed::print("CFUTURES_FLAGS_URL=" + server.url() + "/flags");
  seed::print("serving flags on " + server.url() + "/flags/<cc>/<cc>.gif with a delay of " +
              seed::repr(seed::scaled(delay).count() / 1e9) + " s; Ctrl-C stops");
  int signal = 0;
  sigwait(&stop, &signal);
  seed::print("flag server stopped");
}
