// How a call crosses to a worker process: which types its arguments take there, the
// compile-time checks (with messages that say what to do), the request encoding, and the
// per-(callable, arguments) invoker that the worker runs.
//
// A kCall payload is a CallHeader, then the cereal encoding of `count` argument tuples. The
// header names the invoker by its InvokerInfo object (a CodeRef plus a hash of its type,
// both checked by the worker before the call) and, for a function pointer, the function.
// The reply payload is one byte (kValues or kError), then either the `count` results (none
// for void) or an ExceptionRecord.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cfutures/detail/process/code_ref.hpp"
#include "cfutures/detail/process/codec.hpp"
#include "cfutures/serialization.hpp"

namespace concurrent::futures::detail::process {

template <class... T>
struct TypeList {};

// ---- What the worker calls with -------------------------------------------------------

// The parameter types of a callable with exactly one call signature (a function pointer, or
// a class with one non-template operator()); `known` is false otherwise (generic lambdas).
template <class M>
struct MemberSignature {
  static constexpr bool known = false;
};
template <class R, class C, class... P>
struct MemberSignature<R (C::*)(P...)> {
  static constexpr bool known = true;
  using params = TypeList<P...>;
};
template <class R, class C, class... P>
struct MemberSignature<R (C::*)(P...) const> : MemberSignature<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct MemberSignature<R (C::*)(P...) noexcept> : MemberSignature<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct MemberSignature<R (C::*)(P...) const noexcept> : MemberSignature<R (C::*)(P...)> {};

template <class F, class = void>
struct Signature {
  static constexpr bool known = false;
};
template <class R, class... P>
struct Signature<R (*)(P...), void> {
  static constexpr bool known = true;
  using params = TypeList<P...>;
};
template <class R, class... P>
struct Signature<R (*)(P...) noexcept, void> : Signature<R (*)(P...), void> {};
template <class F>
struct Signature<F, std::enable_if_t<std::is_class_v<F>, std::void_t<decltype(&F::operator())>>>
    : MemberSignature<decltype(&F::operator())> {};

template <class Params, class... A>
struct PickStored {
  using type = TypeList<std::decay_t<A>...>;
};
template <class... P, class... A>
struct PickStored<TypeList<P...>, A...> {
  using type = std::conditional_t<sizeof...(P) == sizeof...(A), TypeList<std::remove_cvref_t<P>...>,
                                  TypeList<std::decay_t<A>...>>;
};

// The types the arguments cross as: the callable's parameter types (without references and
// cv) when it has exactly one signature of the right arity, so that submit(f, "text") sends a
// std::string to a function taking std::string; otherwise the decayed argument types.
template <class F, class = void>
struct ParamsOf {
  using type = void;
};
template <class F>
struct ParamsOf<F, std::void_t<typename Signature<F>::params>> {
  using type = typename Signature<F>::params;
};

template <class F, class... A>
using stored_args_t = typename PickStored<typename ParamsOf<F>::type, A...>::type;

template <class F>
inline constexpr bool is_function_pointer_v = std::is_pointer_v<F>&& std::is_function_v<std::remove_pointer_t<F>>;

// An identity-only callable: nothing but its type (or, for a function pointer, its address)
// crosses, so it must carry no state.
template <class F>
inline constexpr bool is_identity_callable_v = is_function_pointer_v<F> || (std::is_class_v<F> && std::is_empty_v<F> &&
                                                                            std::is_default_constructible_v<F>);

// How the worker invokes: with the arguments as rvalues when possible, else as lvalues (a
// function taking T& may modify its copy; the change stays in the worker).
template <class F, class... S>
inline constexpr bool invocable_v = std::is_invocable_v<F&, S&&...> || std::is_invocable_v<F&, S&...>;

template <class F, class... S>
struct InvokeResult {
  using type = void;
};
template <class F, class... S>
requires invocable_v<F, S...>
struct InvokeResult<F, S...> {
  using type =
      std::remove_cvref_t<typename std::conditional_t<std::is_invocable_v<F&, S&&...>, std::invoke_result<F&, S&&...>,
                                                      std::invoke_result<F&, S&...>>::type>;
};

template <class F, class... S>
decltype(auto) invoke_stored(F& fn, std::tuple<S...>& args) {
  return std::apply(
      [&fn](S&... a) -> decltype(auto) {
        if constexpr (std::is_invocable_v<F&, S&&...>) {
          return std::invoke(fn, std::move(a)...);
        } else {
          return std::invoke(fn, a...);
        }
      },
      args);
}

// ---- Compile-time checks ----------------------------------------------------------------
// Each check reports only the first problem, so that one mistake gives one message.

// Each check returns whether T is valid, so that callers stop before instantiating the
// serialization code (whose own errors would only add noise).
template <class T>
constexpr bool check_argument() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_pointer_v<U>) {
    static_assert(!std::is_pointer_v<U>,
                  "cf::ProcessPoolExecutor: an argument is a pointer, which cannot cross to another process. "
                  "Pass the value itself: std::string instead of const char*, a std::vector instead of an array.");
  } else if constexpr (!detail::process::Crossable<U>::value) {
    static_assert(detail::process::Crossable<U>::value,
                  "cf::ProcessPoolExecutor: an argument type cannot be serialized. Arguments cross to the worker "
                  "by value with cereal: give the type a `template <class Archive> void serialize(Archive&)` "
                  "member (see cfutures/serialization.hpp), or pass a standard type instead of a view or handle.");
  } else {
    static_assert(std::is_default_constructible_v<U>,
                  "cf::ProcessPoolExecutor: an argument type must be default-constructible: the worker "
                  "default-constructs each argument, then deserializes into it.");
  }
  return !std::is_pointer_v<U> && detail::process::Crossable<U>::value && std::is_default_constructible_v<U>;
}

template <class R>
constexpr bool check_result() {
  if constexpr (!std::is_void_v<R>) {
    if constexpr (std::is_pointer_v<R>) {
      static_assert(!std::is_pointer_v<R>,
                    "cf::ProcessPoolExecutor: the function returns a pointer, which cannot cross back from the "
                    "worker process. Return the value itself (std::string, std::vector, ...).");
    } else if constexpr (!detail::process::Crossable<R>::value) {
      static_assert(detail::process::Crossable<R>::value,
                    "cf::ProcessPoolExecutor: the function's result type cannot be serialized. Results cross back "
                    "by value with cereal: give the type a `template <class Archive> void serialize(Archive&)` "
                    "member (see cfutures/serialization.hpp), or return a standard type.");
    } else {
      static_assert(std::is_default_constructible_v<R>,
                    "cf::ProcessPoolExecutor: the result type must be default-constructible: the caller "
                    "default-constructs it, then deserializes into it.");
    }
    return !std::is_pointer_v<R> && detail::process::Crossable<R>::value && std::is_default_constructible_v<R>;
  } else {
    return true;
  }
}

// Checks that F (decayed) can be called in a worker with arguments stored as S...; true when
// everything is valid (the result type is checked separately: an initializer's is ignored).
template <class F, class... S>
constexpr bool check_callable() {
  if constexpr (std::is_member_pointer_v<F>) {
    static_assert(!std::is_member_pointer_v<F>,
                  "cf::ProcessPoolExecutor: a pointer to member cannot be called in a worker process (there is "
                  "no object there). Use a free function or a capture-less lambda that takes the object by value.");
    return false;
  } else if constexpr (!is_identity_callable_v<F>) {
    static_assert(is_identity_callable_v<F>,
                  "cf::ProcessPoolExecutor: the callable must be a function pointer, a capture-less lambda or an "
                  "empty, default-constructible function object: only its identity crosses to the worker "
                  "process, never its state. Pass captured values as arguments instead "
                  "(pool.submit([](int x) { ... }, x) rather than [x] { ... }).");
    return false;
  } else if constexpr (!invocable_v<F, S...>) {
    static_assert(invocable_v<F, S...>,
                  "cf::ProcessPoolExecutor: the callable cannot be called with these arguments (after each is "
                  "converted to the type of the corresponding parameter).");
    return false;
  } else {
    return (check_argument<S>() && ... && true);
  }
}

template <class F, class... S>
constexpr bool check_call() {
  if constexpr (check_callable<F, S...>()) {
    return check_result<typename InvokeResult<F, S...>::type>();
  } else {
    return false;
  }
}

template <class F, class... S>
constexpr bool check_call_in(TypeList<S...>) {
  return check_call<F, S...>();
}
template <class F, class... S>
constexpr bool check_initializer_in(TypeList<S...>) {
  return check_callable<F, S...>();
}

template <class F, class List>
struct ResultOf;
template <class F, class... S>
struct ResultOf<F, TypeList<S...>> {
  using type = typename InvokeResult<F, S...>::type;
};

// ---- Type identity for the worker's check --------------------------------------------

template <class T>
constexpr std::uint64_t type_hash() {
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a over this function's signature
  for (char c : std::string_view(__PRETTY_FUNCTION__)) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  }
  return h;
}

// ---- The worker side ----------------------------------------------------------------

// What an invoker sees of the worker: the decoded target, the archives, and error reporting.
// Implemented in src/process/worker.cpp.
class TaskIo {
 public:
  enum class Phase { kDecodeArguments, kCall, kEncodeResult };

  TaskIo(std::uintptr_t target, std::uint32_t count, Decoder& in, Encoder& out) noexcept
      : target_(target), count_(count), in_(in), out_(out) {}
  TaskIo(const TaskIo&) = delete;
  TaskIo& operator=(const TaskIo&) = delete;

  std::uintptr_t target() const noexcept { return target_; }
  std::uint32_t count() const noexcept { return count_; }
  cereal::BinaryInputArchive& in() noexcept { return in_.archive(); }
  cereal::BinaryOutputArchive& out() noexcept { return out_.archive(); }

  // Runs `step`; if it throws, records the failure of `phase` and returns false.
  template <class Step>
  bool guard(Phase phase, const char* callable, Step&& step) noexcept {
    try {
      step();
      return true;
    } catch (...) {
      fail(phase, callable, std::current_exception());
      return false;
    }
  }
  void fail(Phase phase, const char* callable, std::exception_ptr error) noexcept;

  bool failed() const noexcept { return failed_; }
  Phase failed_phase() const noexcept { return phase_; }
  const char* failed_callable() const noexcept { return callable_; }
  const std::exception_ptr& error() const noexcept { return error_; }

 private:
  std::uintptr_t target_;
  std::uint32_t count_;
  Decoder& in_;
  Encoder& out_;
  bool failed_ = false;
  Phase phase_ = Phase::kCall;
  const char* callable_ = nullptr;
  std::exception_ptr error_;
};

template <class F>
F make_callable(std::uintptr_t target) noexcept {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<F>(target);
  } else {
    return F{};
  }
}

// Runs the `count` calls of one message: for each, decode the arguments, call, encode the
// result. Stops at the first failure (the message then fails as a whole, like a CPython
// chunk). The arguments and the result of each call are destroyed before the next one.
template <class F, class R, class... S>
void run_calls(TaskIo& io) {
  const char* const callable = typeid(F).name();
  F fn = make_callable<F>(io.target());
  for (std::uint32_t i = 0; i < io.count(); ++i) {
    std::tuple<S...> args{};
    if constexpr (sizeof...(S) > 0) {
      if (!io.guard(TaskIo::Phase::kDecodeArguments, callable,
                    [&] { std::apply([&io](S&... a) { io.in()(a...); }, args); })) {
        return;
      }
    }
    if constexpr (std::is_void_v<R>) {
      if (!io.guard(TaskIo::Phase::kCall, callable, [&] { invoke_stored(fn, args); })) return;
    } else {
      std::optional<R> result;
      if (!io.guard(TaskIo::Phase::kCall, callable, [&] { result.emplace(invoke_stored(fn, args)); })) return;
      if (!io.guard(TaskIo::Phase::kEncodeResult, callable, [&] { io.out()(*result); })) return;
    }
  }
}

inline constexpr std::uint64_t kInvokerMagic = 0xCF1A7C0DE5EED001ull;

// The constant object a kCall names: the worker checks magic and type_hash before calling.
struct InvokerInfo {
  std::uint64_t magic;
  std::uint64_t type_hash;
  void (*run)(TaskIo&);
};

template <class F, class R, class... S>
struct InvokerTag {};

template <class F, class R, class... S>
inline constexpr InvokerInfo invoker_info{kInvokerMagic, type_hash<InvokerTag<F, R, S...>>(), &run_calls<F, R, S...>};

// ---- The caller side --------------------------------------------------------------

struct CallHeader {
  CodeRef invoker;
  std::uint64_t type_hash = 0;
  CodeRef target;           // the function, for function-pointer callables
  std::uint32_t count = 0;  // calls in this message
  std::uint32_t has_target = 0;
};

// Reply payload tags.
inline constexpr std::uint8_t kValues = 0;
inline constexpr std::uint8_t kError = 1;

// The CodeRef of a constant invoker (computed once per instantiation).
template <class F, class R, class... S>
const CodeRef& invoker_ref() {
  static const CodeRef ref = code_ref(&invoker_info<F, R, S...>);
  return ref;
}

// Appends a CallHeader for `count` calls of `fn` to `out` and returns the offset of its
// count field (map fills it in once a chunk is complete).
template <class F, class R, class... S>
std::size_t put_call_header(std::string& out, const F& fn, std::uint32_t count) {
  CallHeader header;
  header.invoker = invoker_ref<F, R, S...>();
  header.type_hash = invoker_info<F, R, S...>.type_hash;
  if constexpr (is_function_pointer_v<F>) {
    header.target = code_ref(reinterpret_cast<const void*>(fn));
    header.has_target = 1;
  }
  header.count = count;
  const std::size_t at = out.size();
  put_raw(out, header);
  return at + offsetof(CallHeader, count);
}

// Serializes one argument as its stored type S, converting (once) only when A differs.
template <class S, class A>
void put_argument(cereal::BinaryOutputArchive& ar, A&& arg) {
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, S>) {
    ar(arg);
  } else {
    const S converted(std::forward<A>(arg));
    ar(converted);
  }
}

template <class... S, class... A>
void put_arguments(TypeList<S...>, cereal::BinaryOutputArchive& ar, A&&... args) {
  (put_argument<S>(ar, std::forward<A>(args)), ...);
}

}  // namespace concurrent::futures::detail::process
