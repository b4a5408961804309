#include "seed.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <thread>

namespace seed {

namespace {

std::map<std::string, std::string, std::less<>> options;

[[noreturn]] void usage(const char* program, std::string_view bad, std::initializer_list<std::string_view> extra) {
  std::fprintf(stderr, "%s: unknown option '%.*s'\nusage: %s [--fast] [--scale=FACTOR]", program,
               static_cast<int>(bad.size()), bad.data(), program);
  for (auto name : extra) std::fprintf(stderr, " [%.*s]", static_cast<int>(name.size()), name.data());
  std::fputs(
      "\n"
      "  --fast              scale every sleep and delay by 0.01 (also CFUTURES_EXAMPLES_FAST=1)\n"
      "  --scale=FACTOR      scale every sleep and delay by FACTOR (also CFUTURES_EXAMPLES_SCALE)\n"
      "  --executor=KIND     thread (default) or process, where the program takes either\n",
      stderr);
  std::exit(2);
}

}  // namespace

void init(int argc, char** argv, std::initializer_list<std::string_view> extra) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::string_view name = arg.substr(0, arg.find('='));
    const std::string value(arg.size() > name.size() ? arg.substr(name.size() + 1) : "");
    if (name == "--fast") {
      ::setenv("CFUTURES_EXAMPLES_SCALE", "0.01", 1);
    } else if (name == "--scale" && std::strtod(value.c_str(), nullptr) > 0) {
      ::setenv("CFUTURES_EXAMPLES_SCALE", value.c_str(), 1);
    } else if (name == "--executor" && (value == "thread" || value == "process")) {
    } else if (std::find(extra.begin(), extra.end(), name) == extra.end()) {
      usage(argv[0], arg, extra);
    }
    options[std::string(name)] = value;
  }
}

std::optional<std::string> option(std::string_view name) {
  const auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

double time_scale() {
  if (const char* scale = std::getenv("CFUTURES_EXAMPLES_SCALE"); scale != nullptr && *scale != '\0') {
    return std::strtod(scale, nullptr);
  }
  const char* fast = std::getenv("CFUTURES_EXAMPLES_FAST");
  return fast != nullptr && *fast != '\0' && std::string_view(fast) != "0" ? 0.01 : 1.0;
}

std::chrono::nanoseconds scaled(double seconds) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds * time_scale()));
}

void sleep(double seconds) { std::this_thread::sleep_for(scaled(seconds)); }

double time() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string strftime(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[128];
  return std::string(text, std::strftime(text, sizeof text, format, &local));
}

int randint(int a, int b) {
  thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_int_distribution<int>(a, b)(engine);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::vector<int> range(int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(i);
  return out;
}

bool use_processes() { return option("--executor") == "process"; }

std::string repr_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // The shortest digits that read back as `value`, then Python's layout: positional for
  // exponents in [-4, 16), else scientific with at least two exponent digits.
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific).ptr;
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  const std::size_t e = text.find('e');
  std::string sign, digits;
  for (char c : text.substr(0, e)) {
    if (c == '-') sign = "-";
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  }
  const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  if (exponent >= -4 && exponent < 16) {
    std::string out;
    if (exponent < 0) {
      out = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else {
      const auto point = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() < point) digits.append(point - digits.size(), '0');
      out = digits.substr(0, point) + "." + (digits.size() > point ? digits.substr(point) : "0");
    }
    return sign + out;
  }
  std::string mantissa = digits.substr(0, 1);
  if (digits.size() > 1) mantissa += "." + digits.substr(1);
  const int magnitude = std::abs(exponent);
  return sign + mantissa + (exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + std::to_string(magnitude);
}

std::string repr_string(std::string_view text) {
  const char quote = text.find('\'') != std::string_view::npos && text.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out + quote;
}

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

void write(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace seed
