// How a call crosses to a worker process (a process pool's worker, an MPI rank): the
// compile-time checks (with messages that say what to do), the encoding of a call into an
// EncodedTask (caller side), and the per-(callable, arguments) invoker that the worker runs.
// The message layouts are detail/remote/messages.hpp's; this header fills them with cereal.
//
// The callable crosses by identity: the message names the invoker instantiated for its type
// (an InvokerInfo object, by CodeRef, checked by the worker against a hash of its type) and,
// for a function pointer, the function. Arguments cross as the callable's parameter types
// (call_traits.hpp), results back as values; each position of a chunk has its own outcome.
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
#include <typeinfo>
#include <utility>

#include "cfutures/detail/chunk.hpp"
#include "cfutures/detail/remote/call_traits.hpp"
#include "cfutures/detail/remote/code_ref.hpp"
#include "cfutures/detail/remote/codec.hpp"
#include "cfutures/detail/remote/messages.hpp"
#include "cfutures/detail/state.hpp"
#include "cfutures/detail/task.hpp"
#include "cfutures/errors.hpp"
#include "cfutures/serialization.hpp"

namespace concurrent::futures::detail::remote {

// Completes the marker of call_traits.hpp: where this header is included, Executor::submit
// can send calls to other processes.
struct CallEncodingVisible {};

// ---- Compile-time checks ------------------------------------------------------------------
// Each check reports only the first problem, so that one mistake gives one message, and
// returns whether everything is valid, so that callers stop before instantiating the
// serialization code (whose own errors would only add noise).

template <class T>
inline constexpr bool crossable_value_v =
    !std::is_pointer_v<T> && Crossable<T>::value && std::is_default_constructible_v<T>;

template <class T>
constexpr bool check_argument() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_pointer_v<U>) {
    static_assert(!std::is_pointer_v<U>,
                  "cfutures, a call for another process: an argument is a pointer, which cannot cross to another "
                  "process. Pass the value itself: std::string instead of const char*, a std::vector instead of "
                  "an array.");
  } else if constexpr (!Crossable<U>::value) {
    static_assert(Crossable<U>::value,
                  "cfutures, a call for another process: an argument type cannot be serialized. Arguments cross "
                  "to the worker by value with cereal: give the type a `template <class Archive> void "
                  "serialize(Archive&)` member (see cfutures/serialization.hpp), or pass a standard type instead "
                  "of a view or handle.");
  } else {
    static_assert(std::is_default_constructible_v<U>,
                  "cfutures, a call for another process: an argument type must be default-constructible: the "
                  "worker default-constructs each argument, then deserializes into it.");
  }
  return crossable_value_v<U>;
}

template <class R>
constexpr bool check_result() {
  if constexpr (std::is_void_v<R>) {
    return true;
  } else {
    if constexpr (std::is_pointer_v<R>) {
      static_assert(!std::is_pointer_v<R>,
                    "cfutures, a call for another process: the function returns a pointer, which cannot cross "
                    "back from the worker process. Return the value itself (std::string, std::vector, ...).");
    } else if constexpr (!Crossable<R>::value) {
      static_assert(Crossable<R>::value,
                    "cfutures, a call for another process: the function's result type cannot be serialized. "
                    "Results cross back by value with cereal: give the type a `template <class Archive> void "
                    "serialize(Archive&)` member (see cfutures/serialization.hpp), or return a standard type.");
    } else {
      static_assert(std::is_default_constructible_v<R>,
                    "cfutures, a call for another process: the result type must be default-constructible: the "
                    "caller default-constructs it, then deserializes into it.");
    }
    return crossable_value_v<R>;
  }
}

// Checks that F (decayed) can be called in a worker with arguments stored as S...; true when
// everything is valid (the result type is checked separately: an initializer's is ignored).
template <class F, class... S>
constexpr bool check_callable() {
  if constexpr (std::is_member_pointer_v<F>) {
    static_assert(!std::is_member_pointer_v<F>,
                  "cfutures, a call for another process: a pointer to member cannot be called in a worker process "
                  "(there is no object there). Use a free function or a capture-less lambda that takes the object "
                  "by value.");
    return false;
  } else if constexpr (IsStdFunction<F>::value) {
    static_assert(!IsStdFunction<F>::value,
                  "cfutures, a call for another process: a std::function cannot cross to a worker process: only a "
                  "callable's identity crosses, and a std::function hides which function it holds. Pass the "
                  "function pointer or the capture-less lambda itself (pool.submit(f, x), not "
                  "pool.submit(std::function<...>(f), x)).");
    return false;
  } else if constexpr (!is_identity_callable_v<F>) {
    static_assert(is_identity_callable_v<F>,
                  "cfutures, a call for another process: the callable must be a function pointer, a capture-less "
                  "lambda or an empty, default-constructible function object: only its identity crosses to the "
                  "worker process, never its state. Pass captured values as arguments instead "
                  "(pool.submit([](int x) { ... }, x) rather than [x] { ... }).");
    return false;
  } else if constexpr (!invocable_v<F, S...>) {
    static_assert(invocable_v<F, S...>,
                  "cfutures, a call for another process: the callable cannot be called with these arguments (after "
                  "each is converted to the type of the corresponding parameter).");
    return false;
  } else {
    return (check_argument<S>() && ... && true);
  }
}

template <class F, class... S>
constexpr bool check_call(TypeList<S...>) {
  if constexpr (check_callable<F, S...>()) {
    return check_result<typename InvokeResult<F, S...>::type>();
  } else {
    return false;
  }
}
template <class F, class... S>
constexpr bool check_initializer(TypeList<S...>) {
  return check_callable<F, S...>();
}

// The same conditions without a diagnostic, for calls that may or may not cross.
template <class F, class... S>
constexpr bool can_cross(TypeList<S...>) {
  if constexpr (identity_refusal<F>() != nullptr || !invocable_v<F, S...>) {
    return false;
  } else {
    using R = typename InvokeResult<F, S...>::type;
    return (crossable_value_v<std::remove_cv_t<S>> && ... && true) && (std::is_void_v<R> || crossable_value_v<R>);
  }
}

// Why a call cannot cross, in words, for the error of a call that had to cross at run time.
template <class F, class... S>
std::string why_not(TypeList<S...>) {
  using R = typename InvokeResult<F, S...>::type;
  const char* name = typeid(F).name();
  if constexpr (identity_refusal<F>() != nullptr) {
    return why_not_crossing(name, identity_refusal<F>());
  } else if constexpr (!invocable_v<F, S...>) {
    return why_not_crossing(name, "it cannot be called with the arguments converted to its parameter types");
  } else if constexpr (!(crossable_value_v<std::remove_cv_t<S>> && ... && true)) {
    return why_not_crossing(name, "an argument type cannot be serialized (see cfutures/serialization.hpp)");
  } else {
    static_assert(!std::is_void_v<R>, "why_not of a call that can cross");
    return why_not_crossing(name, "its result type " + type_name<R>() + " cannot be serialized");
  }
}

// ---- The worker side ------------------------------------------------------------------

// What an invoker sees of the worker: the decoded target, the arguments' archive, the reply,
// and the failure of a call in one of its phases.
class CallContext {
 public:
  enum class Phase { kDecodeArguments, kCall, kEncodeResult };

  // `site` says where calls run ("in worker process 1234"), for the errors they raise.
  CallContext(std::uintptr_t target, std::uint32_t count, Decoder& in, ReplyWriter& reply,
              std::string_view site) noexcept
      : target_(target), count_(count), in_(in), reply_(reply), site_(site) {}
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  std::uintptr_t target() const noexcept { return target_; }
  std::uint32_t count() const noexcept { return count_; }
  cereal::BinaryInputArchive& in() noexcept { return in_.archive(); }
  ReplyWriter& reply() noexcept { return reply_; }

  // Writes the outcome of a call that failed in `phase` with the current exception (for
  // kEncodeResult, in place of the value begun). Never throws.
  void fail(Phase phase, const char* callable) noexcept;
  // The number of calls that failed, and the first failure's exception (for the initializer).
  std::uint32_t failures() const noexcept { return failures_; }
  const std::exception_ptr& first_failure() const noexcept { return first_failure_; }

 private:
  std::uintptr_t target_;
  std::uint32_t count_;
  Decoder& in_;
  ReplyWriter& reply_;
  std::string_view site_;
  std::uint32_t failures_ = 0;
  std::exception_ptr first_failure_;
};

template <class F>
F make_callable(std::uintptr_t target) noexcept {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<F>(target);
  } else {
    return F{};
  }
}

// Runs the calls of one message: for each, decode the arguments, call, encode the result,
// each failure being that call's outcome. Arguments that cannot be decoded leave the rest of
// the message unreadable, so they fail every call left. The arguments and result of each call
// are destroyed before the next one.
template <class F, class R, class... S>
void run_calls(CallContext& io) {
  const char* const callable = typeid(F).name();
  F fn = make_callable<F>(io.target());
  for (std::uint32_t i = 0; i < io.count(); ++i) {
    std::tuple<S...> args{};
    if constexpr (sizeof...(S) > 0) {
      try {
        std::apply([&io](S&... a) { io.in()(a...); }, args);
      } catch (...) {
        for (; i < io.count(); ++i) io.fail(CallContext::Phase::kDecodeArguments, callable);
        return;
      }
    }
    std::optional<std::conditional_t<std::is_void_v<R>, char, R>> result;
    try {
      if constexpr (std::is_void_v<R>) {
        invoke_stored(fn, args);
        result.emplace();
      } else {
        result.emplace(invoke_stored(fn, args));
      }
    } catch (...) {
      io.fail(CallContext::Phase::kCall, callable);
      continue;
    }
    io.reply().begin_value();
    if constexpr (!std::is_void_v<R>) {
      try {
        io.reply().archive()(*result);
      } catch (...) {
        io.fail(CallContext::Phase::kEncodeResult, callable);
      }
    }
  }
}

inline constexpr std::uint64_t kInvokerMagic = 0xCF1A7C0DE5EED001ull;

// The constant object a kCall names: the worker checks magic and type_hash before calling.
struct InvokerInfo {
  std::uint64_t magic;
  std::uint64_t type_hash;
  void (*run)(CallContext&);
};

template <class F, class R, class... S>
struct InvokerTag {};

template <class F, class R, class... S>
inline constexpr InvokerInfo invoker_info{kInvokerMagic, type_hash<InvokerTag<F, R, S...>>(), &run_calls<F, R, S...>};

// ---- The caller side ----------------------------------------------------------------

// The CodeRef of a constant invoker (computed once per instantiation).
template <class F, class R, class... S>
const CodeRef& invoker_ref() {
  static const CodeRef ref = code_ref(&invoker_info<F, R, S...>);
  return ref;
}

template <class F, class R, class... S>
CallHeader call_header(const F& fn, TypeList<S...>) {
  CallHeader header;
  header.invoker = invoker_ref<F, R, S...>();
  header.type_hash = invoker_info<F, R, S...>.type_hash;
  if constexpr (is_function_pointer_v<F>) {
    header.target = code_ref(reinterpret_cast<const void*>(fn));
    header.has_target = 1;
  }
  return header;
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

// "could not serialize the arguments of a call to <callable>: <Type: what>", for the current
// exception (which the caller is handling).
std::exception_ptr argument_encoding_error(const char* callable) noexcept;

// "could not deserialize the result of <callable>: <Type: what>", for the current exception.
std::exception_ptr result_decoding_error(const char* callable) noexcept;

// Completes a submit's future from its one outcome.
template <class R>
void complete_one(StateBase& base, const EncodedCall& call, ReplyReader& reply) {
  auto& state = static_cast<State<R>&>(base);
  std::exception_ptr error;
  if (!reply.next_is_value()) {
    error = reply.take_error();
  } else if constexpr (std::is_void_v<R>) {
    if (state.try_claim()) state.emplace_and_publish();
    return;
  } else {
    try {
      R value{};
      reply.archive()(value);
      if (state.try_claim()) state.emplace_and_publish(std::move(value));
      return;
    } catch (...) {
      error = result_decoding_error(call.callable);
      reply.skip_rest();
    }
  }
  if (state.try_claim()) state.publish_exception(std::move(error));
}

// Completes a map chunk's future from its outcomes. A value that cannot be deserialized leaves
// the rest of the reply unreadable: it fails its position and every one after it.
template <class R>
void complete_chunk(StateBase& base, const EncodedCall& call, ReplyReader& reply) {
  auto& state = static_cast<State<ChunkResults<R>>&>(base);
  ChunkResults<R> results;
  results.reserve(call.calls);
  for (std::uint32_t i = 0; i < call.calls; ++i) {
    if (!reply.next_is_value()) {
      results.add_error(reply.take_error());
    } else if constexpr (std::is_void_v<R>) {
      results.add_value();
    } else {
      try {
        R value{};
        reply.archive()(value);
        results.add_value(std::move(value));
      } catch (...) {
        const std::exception_ptr error = result_decoding_error(call.callable);
        for (; i < call.calls; ++i) results.add_error(error);
        reply.skip_rest();
      }
    }
  }
  if (state.try_claim()) state.emplace_and_publish(std::move(results));
}

// How the call fn(a...) crosses, for a callable Fn and argument types A... (both decayed).
template <class Fn, class... A>
struct CallEncoding {
  using Stored = stored_args_t<Fn, A...>;
  using Result = typename ResultOf<Fn, Stored>::type;

  // Whether the call can cross (no diagnostic).
  static constexpr bool crossable = can_cross<Fn>(Stored{});
  // Fails the build with one message that says what to do if the call cannot cross.
  static constexpr bool check() { return check_call<Fn>(Stored{}); }
  // Why it cannot cross (only for calls that cannot).
  static std::string why_not() { return remote::why_not<Fn>(Stored{}); }

  // Appends the kCall payload of one call fn(args...). Throws if an argument cannot be
  // serialized.
  template <class R, class... B>
  static void encode(std::string& out, const Fn& fn, B&&... args) {
    const std::size_t at = begin_call_message(out, call_header<Fn, R>(fn, Stored{}));
    {
      Encoder encoder(out);
      put_arguments(Stored{}, encoder.archive(), std::forward<B>(args)...);
    }
    finish_call_message(out, at, 1);
  }

  // The task of one call; a failure to serialize an argument has already failed its future.
  template <class... B>
  static EncodedTask<Result>* make(const Fn& fn, B&&... args) {
    auto* task = new EncodedTask<Result>;
    EncodedCall& call = task->call();
    call.callable = typeid(Fn).name();
    call.complete = &complete_one<Result>;
    try {
      encode<Result>(call.message, fn, std::forward<B>(args)...);
    } catch (...) {
      task->fail(argument_encoding_error(call.callable));
    }
    return task;
  }

  // The task of a map chunk: up to `chunksize` calls read from the iterators `its` (advanced
  // past them). A failure to serialize an argument has already failed the whole chunk.
  template <class Its, class Ends>
  static EncodedTask<ChunkResults<Result>>* make_chunk(const Fn& fn, Its& its, const Ends& ends,
                                                       std::size_t chunksize) {
    auto* task = new EncodedTask<ChunkResults<Result>>;
    EncodedCall& call = task->call();
    call.callable = typeid(Fn).name();
    call.complete = &complete_chunk<Result>;
    std::string& out = call.message;
    // Reserved once: a payload growing by doubling makes glibc consolidate its free lists at
    // every step.
    out.reserve(sizeof(CallHeader) + (chunksize < 4096 ? chunksize : 4096) * (sizeof(A) + ... + 0));
    const std::size_t at = begin_call_message(out, call_header<Fn, Result>(fn, Stored{}));
    std::uint32_t count = 0;
    std::exception_ptr error;
    {
      Encoder encoder(out);
      for (; count < chunksize && !any_at_end(its, ends); ++count) {
        if (!error) {
          try {
            std::apply([&](auto&... it) { put_arguments(Stored{}, encoder.archive(), *it...); }, its);
          } catch (...) {
            error = argument_encoding_error(call.callable);
          }
        }
        std::apply([](auto&... it) { (++it, ...); }, its);
      }
    }
    call.calls = count;
    if (error) {
      task->fail(error);  // the whole chunk, as a CPython chunk whose pickling failed
    } else {
      finish_call_message(out, at, count);
    }
    return task;
  }
};

}  // namespace concurrent::futures::detail::remote
