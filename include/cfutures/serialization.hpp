// What can cross a process boundary (cf::ProcessPoolExecutor), and how exceptions come back.
//
// Arguments and results cross by value, serialized with cereal's binary archives. Crossable
// are: arithmetic types and enums, std::string, the standard containers (vector, deque, list,
// forward_list, array, map, multimap, unordered_map, set, multiset, unordered_set, stack,
// queue, priority_queue, bitset, valarray), std::pair, std::tuple, std::optional,
// std::variant, std::complex, std::chrono durations and time points, std::unique_ptr and
// std::shared_ptr (the pointee crosses), and any user type with a cereal serialize function:
//
//   struct Point {
//     double x = 0, y = 0;
//     template <class Archive> void serialize(Archive& ar) { ar(x, y); }
//   };
//   static_assert(cf::is_serializable_v<Point>);
//
// Raw pointers, references, std::string_view, std::span and other views cannot cross (they
// refer to memory the other process does not have). Types that are deserialized (arguments
// in the worker, results in the caller) must be default-constructible.
//
// Exceptions thrown by a task come back as the same type when it is a standard exception
// type (std::runtime_error, std::out_of_range, std::bad_alloc, std::system_error, ...), one of
// cfutures' own, or a type registered here; any other arrives as cf::RemoteError carrying
// the original type name and what():
//
//   struct QuotaExceeded : std::runtime_error { using std::runtime_error::runtime_error; };
//   cf::register_exception<QuotaExceeded>();   // in the process that reads the results
//
// See docs/crossing-processes.md for the reasons behind each rule.
#pragma once

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/common.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/forward_list.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/queue.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/stack.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/valarray.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "cfutures/errors.hpp"

namespace concurrent::futures {

namespace detail::remote {

template <class T>
inline constexpr bool cereal_can_save_v = cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value;
template <class T>
inline constexpr bool cereal_can_load_v = cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

// Whether T and, for the standard wrappers and containers, every element type can cross.
// cereal accepts std::vector<T> for any T and fails deep inside only when T cannot be
// serialized; looking through the wrappers lets the error name the real culprit early.
template <class T>
struct Crossable : std::bool_constant<!std::is_pointer_v<T> && !std::is_reference_v<T> && cereal_can_save_v<T> &&
                                      cereal_can_load_v<T>> {};
template <class T>
struct Crossable<const T> : Crossable<T> {};
template <class T, class A>
struct Crossable<std::vector<T, A>> : Crossable<T> {};
template <class T>
struct Crossable<std::optional<T>> : Crossable<T> {};
template <class A, class B>
struct Crossable<std::pair<A, B>> : std::bool_constant<Crossable<A>::value && Crossable<B>::value> {};
template <class... T>
struct Crossable<std::tuple<T...>> : std::bool_constant<(Crossable<T>::value && ...)> {};
template <class... T>
struct Crossable<std::variant<T...>> : std::bool_constant<(Crossable<T>::value && ...)> {};
template <class K, class V, class C, class A>
struct Crossable<std::map<K, V, C, A>> : std::bool_constant<Crossable<K>::value && Crossable<V>::value> {};
template <class K, class V, class H, class E, class A>
struct Crossable<std::unordered_map<K, V, H, E, A>> : std::bool_constant<Crossable<K>::value && Crossable<V>::value> {};
template <class K, class C, class A>
struct Crossable<std::set<K, C, A>> : Crossable<K> {};
template <class K, class H, class E, class A>
struct Crossable<std::unordered_set<K, H, E, A>> : Crossable<K> {};
template <class T, class D>
struct Crossable<std::unique_ptr<T, D>>
    : std::bool_constant<cereal_can_save_v<std::unique_ptr<T, D>> && Crossable<T>::value> {};
template <class T>
struct Crossable<std::shared_ptr<T>>
    : std::bool_constant<cereal_can_save_v<std::shared_ptr<T>> && Crossable<T>::value> {};

using ExceptionFactory = std::exception_ptr (*)(const std::string& what);
// Registers `factory` for exceptions whose dynamic type is `type` (thread-safe).
void register_exception_factory(const std::type_info& type, ExceptionFactory factory);

}  // namespace detail::remote

// True if a T can cross a process boundary as an argument or a result: cereal can save and
// load it (looking through the standard containers and wrappers), it is not a pointer or a
// reference, and it is default-constructible (it is deserialized into a default object).
template <class T>
inline constexpr bool is_serializable_v =
    detail::remote::Crossable<std::remove_cv_t<T>>::value&& std::is_default_constructible_v<std::remove_cv_t<T>>;

// Makes exceptions of exactly type E, thrown by a task in a worker process, arrive in this
// process as an E constructed from the original what() (instead of a cf::RemoteError). Call
// it in the process that reads the results, before they arrive; calling it again is harmless.
// E must derive from std::exception and be constructible from a std::string.
//
//   struct ParseError : std::runtime_error { using std::runtime_error::runtime_error; };
//   cf::register_exception<ParseError>();
//   try { pool.submit(parse, text).result(); } catch (const ParseError& e) { ... }
template <class E>
void register_exception() {
  static_assert(std::is_base_of_v<std::exception, E>, "cf::register_exception<E>: E must derive from std::exception");
  static_assert(std::is_constructible_v<E, const std::string&>,
                "cf::register_exception<E>: E must be constructible from its message (a std::string)");
  detail::remote::register_exception_factory(
      typeid(E), +[](const std::string& what) { return std::make_exception_ptr(E(what)); });
}

}  // namespace concurrent::futures
