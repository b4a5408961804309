// The small shared part of the seed examples (the C++ twins of the Python programs in the
// seed tutorials): command line and time scaling, Python's print(), and the few Python
// built-ins the programs use. Each twin includes this and reads like its Python original.
//
//   int main(int argc, char** argv) {
//     seed::init(argc, argv);             // --fast, --scale=X, --executor=thread|process
//     seed::sleep(5);                     // time.sleep(5), scaled
//     seed::print("From future 1: ", 12); // print("From future 1: ", 12)
//   }
//
// Time scaling: every seed::sleep (and the flag server's delay) is multiplied by the scale:
// 1 by default (a 5-second sleep is 5 seconds, as in the tutorial), 0.01 with --fast or
// CFUTURES_EXAMPLES_FAST=1 (for tests), X with --scale=X or CFUTURES_EXAMPLES_SCALE=X.
// The options are also put into the environment, so worker processes see the same scale.
#pragma once

#include <algorithm>
#include <cfutures/cfutures.hpp>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace seed {

namespace cf = concurrent::futures;

// Parses the common options (see above) and the program's own `extra` ones ("--name" or
// "--name=value"); exits with a usage message on an unknown option.
void init(int argc, char** argv, std::initializer_list<std::string_view> extra = {});
// The value of --name=value ("" for a bare --name) if the command line had it.
std::optional<std::string> option(std::string_view name);

// The factor applied to every sleep and delay (1 unless --fast or --scale).
double time_scale();
// A duration of `seconds` tutorial seconds, scaled.
std::chrono::nanoseconds scaled(double seconds);
// Python's time.sleep(seconds), scaled.
void sleep(double seconds);

// Python's time.time(): seconds since the epoch (for measuring elapsed time; never scaled).
double time();
// Python's time.strftime(format) in local time.
std::string strftime(const char* format);
// Python's random.randint(a, b): a uniform integer in [a, b]; safe from any thread.
int randint(int a, int b);
// Python's str.lower() and str.split() (on whitespace).
std::string lower(std::string_view text);
std::vector<std::string> split(std::string_view text);

// --executor=thread|process (default thread): which pool the 004 programs use.
bool use_processes();

// Python's repr() and str() for the types the programs print: bool as True/False, floats as
// Python writes them (shortest round-trip, "1e+110", "12.0"), strings quoted by repr,
// vectors as lists.
std::string repr_float(double value);
std::string repr_string(std::string_view text);
// The demangled name of a type ("concurrent::futures::MapRange<int>").
std::string type_name(const std::type_info& type);

template <class T>
std::string repr(const T& value);

template <class T>
std::string str(const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(value));
  } else {
    return repr(value);
  }
}

template <class T>
std::string repr(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "True" : "False";
  } else if constexpr (std::is_floating_point_v<T>) {
    return repr_float(static_cast<double>(value));
  } else if constexpr (std::is_arithmetic_v<T>) {
    return std::to_string(value);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return repr_string(value);
  } else if constexpr (std::is_same_v<T, cf::ReturnWhen>) {
    return value == cf::FIRST_COMPLETED   ? "FIRST_COMPLETED"
           : value == cf::FIRST_EXCEPTION ? "FIRST_EXCEPTION"
                                          : "ALL_COMPLETED";
  } else if constexpr (requires { value.describe(); }) {  // a future
    return value.describe();
  } else if constexpr (requires {
                         value.done;
                         value.not_done;
                       }) {  // cf::wait's result
    auto set = [](const auto& futures) {
      if (futures.empty()) return std::string("set()");
      std::string out = "{";
      for (const auto& f : futures) out += (out.size() > 1 ? ", " : "") + f.describe();
      return out + "}";
    };
    return "DoneAndNotDoneFutures(done=" + set(value.done) + ", not_done=" + set(value.not_done) + ")";
  } else if constexpr (requires {
                         std::begin(value);
                         value.size();
                       }) {  // a list
    std::string out = "[";
    for (const auto& item : value) out += (out.size() > 1 ? ", " : "") + repr(item);
    return out + "]";
  } else {  // anything else (a map's result range): Python's default repr, "<type at 0x...>"
    std::ostringstream out;
    out << "<" << type_name(typeid(T)) << " object at " << static_cast<const void*>(&value) << ">";
    return out.str();
  }
}

// Writes `line` to stdout at once and flushes (so lines from threads and worker processes
// are whole and in order).
void write(std::string_view line);

// Python's print(*args, end=end): str() of each argument, separated by spaces.
template <class... A>
void print_end(std::string_view end, const A&... args) {
  std::string line;
  bool first = true;
  ((line += (first ? "" : " ") + str(args), first = false), ...);
  line += end;
  write(line);
}
template <class... A>
void print(const A&... args) {
  print_end("\n", args...);
}

// Python's range(n), sorted(items), items * times, and list(mapping) (the keys).
std::vector<int> range(int n);
template <class T>
std::vector<T> sorted(std::vector<T> items) {
  std::sort(items.begin(), items.end());
  return items;
}
template <class T>
std::vector<T> repeat(const std::vector<T>& items, int times) {
  std::vector<T> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return out;
}
template <class Map>
auto keys(const Map& map) {
  std::vector<typename Map::key_type> out;
  for (const auto& item : map) out.push_back(item.first);
  return out;
}

// Python's list(iterable): reads every position (rethrowing a failed call's exception).
template <class Range>
auto list(Range&& range) {
  std::vector<std::remove_cvref_t<decltype(*std::begin(range))>> items;
  for (auto&& item : range) items.push_back(std::move(item));
  return items;
}

}  // namespace seed
