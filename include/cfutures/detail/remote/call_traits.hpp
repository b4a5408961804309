// What a call that crosses to another process looks like, decided from types alone (no
// serialization here, so executor.hpp can use it without cereal): which types its arguments
// cross as, whether its callable can cross at all, and how the worker invokes it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace concurrent::futures::detail::remote {

template <class... T>
struct TypeList {};

template <class Tuple>
struct ListOf;
template <class... T>
struct ListOf<std::tuple<T...>> {
  using type = TypeList<T...>;
};
template <class Tuple>
using list_of_t = typename ListOf<Tuple>::type;

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

template <class T>
struct IsStdFunction : std::false_type {};
template <class S>
struct IsStdFunction<std::function<S>> : std::true_type {};

// Why a callable cannot cross by identity, or null if it can.
template <class F>
constexpr const char* identity_refusal() {
  if constexpr (std::is_member_pointer_v<F>) {
    return "a pointer to member cannot be called in a worker process";
  } else if constexpr (IsStdFunction<F>::value) {
    return "a std::function hides which function it holds: pass the function pointer or the lambda itself";
  } else if constexpr (!is_identity_callable_v<F>) {
    return "it carries state, and only a callable's identity crosses: use a function pointer, a capture-less "
           "lambda or an empty function object, and pass captured values as arguments";
  } else {
    return nullptr;
  }
}

// "cannot send a call of <callable> to another process: <reason>" (SerializationError's text).
std::string why_not_crossing(const char* callable, std::string_view reason);

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

template <class F, class List>
struct ResultOf;
template <class F, class... S>
struct ResultOf<F, TypeList<S...>> {
  using type = typename InvokeResult<F, S...>::type;
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

// A stable 64-bit identity of a type, for the worker's check that a message names the invoker
// it thinks it does.
template <class T>
constexpr std::uint64_t type_hash() {
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a over this function's signature
  for (char c : std::string_view(__PRETTY_FUNCTION__)) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  }
  return h;
}

// How a call crosses to another process: defined in detail/remote/call.hpp (with cereal), which
// cfutures/serialization.hpp brings. Declared here so that Executor::submit can name it.
template <class Fn, class... A>
struct CallEncoding;

// True where detail/remote/call.hpp is visible (its definition of this marker completes it).
struct CallEncodingVisible;
template <class Dependent, class Marker = CallEncodingVisible>
inline constexpr bool call_encoding_visible_v = requires {
  sizeof(Marker);
};

}  // namespace concurrent::futures::detail::remote
