#include "cfutures/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace concurrent::futures::detail {
namespace {

// tqdm's format_interval: "MM:SS", or "H:MM:SS" from an hour on (whole seconds, truncated).
std::string format_interval(double seconds) {
  const long total = static_cast<long>(seconds);
  const long hours = total / 3600;
  char text[32];
  if (hours != 0) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", hours, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%02ld:%02ld", total / 60, total % 60);
  }
  return text;
}

// tqdm's rate: "8.18it/s", or "2.22s/it" when an element takes more than a second; "?it/s"
// before the first element.
std::string format_rate(double per_second) {
  char text[48];
  if (per_second <= 0) return "?it/s";
  if (1 / per_second > 1) {
    std::snprintf(text, sizeof text, "%5.2fs/it", 1 / per_second);
  } else {
    std::snprintf(text, sizeof text, "%5.2fit/s", per_second);
  }
  return text;
}

// tqdm's ascii bar: '#' per full tenth of a cell, a digit for the partial cell, spaces after.
std::string format_bar(double fraction, int cells) {
  constexpr std::string_view kCharset = " 123456789#";
  constexpr int kSymbols = static_cast<int>(kCharset.size()) - 1;
  const int tenths = static_cast<int>(fraction * cells * kSymbols);
  const int full = std::min(tenths / kSymbols, cells);
  std::string bar(static_cast<std::size_t>(full), kCharset.back());
  if (full < cells) {
    bar += kCharset[static_cast<std::size_t>(tenths % kSymbols)];
    bar.append(static_cast<std::size_t>(cells - full - 1), kCharset.front());
  }
  return bar;
}

// The terminal's width in columns, if `stream` is one that says.
std::optional<int> terminal_width(std::FILE* stream) {
  winsize size{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &size) != 0 || size.ws_col == 0) return std::nullopt;
  return size.ws_col;
}

}  // namespace

std::string format_progress_line(std::string_view description, std::size_t done, std::optional<std::size_t> total,
                                 std::chrono::duration<double> elapsed, std::optional<int> width) {
  const double seconds = elapsed.count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  const std::string prefix = description.empty() ? std::string() : std::string(description) + ": ";
  const std::string rate_text = format_rate(rate);
  // As tqdm: a total of 0, or one the count has passed, is no total.
  if (!total || *total == 0 || done > *total) {
    std::string line = prefix + std::to_string(done) + "it [" + format_interval(seconds) + ", " + rate_text + "]";
    if (width && line.size() > static_cast<std::size_t>(*width)) line.resize(static_cast<std::size_t>(*width));
    return line;
  }
  const double fraction = static_cast<double>(done) / static_cast<double>(*total);
  char percent[16];
  std::snprintf(percent, sizeof percent, "%3.0f%%|", fraction * 100);
  const std::string left = prefix + percent;
  const std::string remaining = rate > 0 ? format_interval(static_cast<double>(*total - done) / rate) : "?";
  const std::string right = "| " + std::to_string(done) + "/" + std::to_string(*total) + " [" +
                            format_interval(seconds) + "<" + remaining + ", " + rate_text + "]";
  const int cells = width ? std::max(1, *width - static_cast<int>(left.size() + right.size())) : 10;
  std::string line = left + format_bar(fraction, cells) + right;
  if (width && line.size() > static_cast<std::size_t>(*width)) line.resize(static_cast<std::size_t>(*width));
  return line;
}

ProgressMeter::ProgressMeter(ProgressOptions options, std::optional<std::size_t> size)
    : options_(std::move(options)), total_(size ? size : options_.total) {
  if (options_.on_update) {
    output_ = Output::callback;
  } else if (options_.stream == nullptr) {
    throw std::invalid_argument("cf::progress: ProgressOptions::stream is null (give a stream, or an on_update)");
  } else if (options_.always_draw || ::isatty(::fileno(options_.stream)) == 1) {
    output_ = Output::stream;
  } else {
    output_ = Output::none;
  }
}

ProgressMeter::~ProgressMeter() {
  try {
    finish();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cf::progress: on_update threw at the end of the range: %s\n", e.what());
  } catch (...) {
    std::fputs("cf::progress: on_update threw at the end of the range (not a std::exception)\n", stderr);
  }
}

void ProgressMeter::start() {
  if (started_once_) return;
  started_once_ = true;
  started_ = Clock::now();
  if (output_ == Output::none) return;
  update(started_, false);
}

void ProgressMeter::finish() {
  if (!started_once_ || finished_) return;
  finished_ = true;
  if (output_ != Output::none) update(Clock::now(), true);
}

void ProgressMeter::update(Clock::time_point now, bool final) {
  next_update_ = now + kRedrawInterval;
  if (output_ == Output::callback) {
    options_.on_update(done_, total_);
  } else {
    draw(now, final);
  }
}

void ProgressMeter::draw(Clock::time_point now, bool final) {
  const std::optional<int> width = terminal_width(options_.stream);
  std::string line = format_progress_line(options_.description, done_, total_, now - started_, width);
  const std::size_t width_now = line.size();
  // Over the previous line: a carriage return, then spaces where it was longer.
  if (width_now < drawn_width_) line.append(drawn_width_ - width_now, ' ');
  line.insert(line.begin(), '\r');
  if (final) line += '\n';
  drawn_width_ = final ? 0 : width_now;
  std::fwrite(line.data(), 1, line.size(), options_.stream);
  std::fflush(options_.stream);
}

}  // namespace concurrent::futures::detail
