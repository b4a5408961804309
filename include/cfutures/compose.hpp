// Composing futures without blocking a thread: Future<T>::then (declared in future.hpp,
// defined in detail/then.hpp), cf::when_all and cf::when_any.
//
//   cf::ThreadPoolExecutor pool;
//   std::vector<cf::Future<std::string>> pages;
//   for (const auto& url : urls) pages.push_back(pool.submit(download, url));
//   cf::Future<std::size_t> total = cf::when_all(pages).then([](const std::vector<cf::Future<std::string>>& done) {
//     std::size_t bytes = 0;
//     for (const auto& page : done) bytes += page.result().size();  // each is done: no wait
//     return bytes;
//   });
//   auto first = cf::when_any(pages).result();       // {index, futures}: the first page done
//
// Where each continuation runs: then(fn) and the completion of when_all/when_any run in the
// thread that completes the (last, first) input, or at once in the caller's thread when it is
// already done; then(executor, fn) runs fn on the executor. None of them holds a thread while
// it waits. Continuations run after the future's done-callbacks (add_done_callback), in the
// order they were attached. A completion inside a continuation runs nested at most 64 deep in
// one thread; deeper ones are queued and run in the same thread once the outer one returns (so
// a chain of a million thens does not overflow the stack).
#pragma once

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cfutures/detail/state.hpp"
#include "cfutures/detail/then.hpp"
#include "cfutures/future.hpp"
#include "cfutures/wait.hpp"

namespace concurrent::futures {

// The result of when_any: which input was done first, and every input, in input order.
//
//   auto any = cf::when_any(std::vector{pool.submit(slow), pool.submit(fast)}).result();
//   int winner = any.futures[any.index].result();
template <class F>
struct WhenAnyResult {
  std::size_t index = 0;   // position (in the input) of the first input done
  std::vector<F> futures;  // the inputs, in input order, duplicates included
};

namespace detail {

template <class Range>
concept FutureRange = requires(const Range& r) {
  std::begin(r);
  std::end(r);
};

template <class F>
inline constexpr bool check_handle_v = [] {
  static_assert(is_handle_v<F>, "when_all/when_any take cf::Future<T> or cf::AnyFuture handles");
  return true;
}();

template <class F, class Fn>
void for_each_handle(const std::vector<F>& handles, Fn&& fn) {
  for (const F& handle : handles) fn(handle);
}
template <class... Fs, class Fn>
void for_each_handle(const std::tuple<Fs...>& handles, Fn&& fn) {
  std::apply([&fn](const Fs&... each) { (fn(each), ...); }, handles);
}

// when_all: completes with its inputs (a vector or a tuple of handles) once every input is
// done. One link per input, plus one count for the linking pass itself, so it cannot complete
// before every input is linked.
template <class V>
class WhenAllState final : public State<V> {
 public:
  WhenAllState(V inputs, std::size_t count)
      : inputs_(std::move(inputs)), links_(new Link[count]), remaining_(count + 1) {}

  // Links every input (each done one counts at once), then drops the pass's count.
  void start() noexcept {
    this->retain();  // the countdown's reference, dropped by the last arrival
    std::size_t i = 0;
    for_each_handle(inputs_, [this, &i](const auto& input) {
      Link& link = links_[i++];
      link.owner = this;
      if (!HandleAccess::state(input)->add_continuation(&link)) arrive();
    });
    arrive();
  }

 private:
  struct Link final : Continuation {
    WhenAllState* owner = nullptr;
    void on_done(StateBase&) noexcept override { owner->arrive(); }
    void on_abandoned() noexcept override { owner->arrive(); }
  };

  void arrive() noexcept {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (this->try_claim()) this->emplace_and_publish(std::move(inputs_));
    this->release();
  }

  V inputs_;  // moved into the result by the last arrival; until then read only by start()
  std::unique_ptr<Link[]> links_;
  std::atomic<std::size_t> remaining_;
};

template <class V>
Future<V> start_when_all(V inputs, std::size_t count) {
  for_each_handle(inputs, [](const auto& input) { (void)HandleAccess::state(input); });  // empty handles throw here
  auto* state = new WhenAllState<V>(std::move(inputs), count);
  Future<V> result = HandleAccess::adopt(static_cast<State<V>*>(state));
  state->start();
  return result;
}

// when_any: completes with the position of the first input done. Once it has, it unlinks from
// the other inputs, so a long-pending input does not keep it (or its links) alive.
template <class F>
class WhenAnyState final : public State<WhenAnyResult<F>> {
 public:
  explicit WhenAnyState(std::vector<F> inputs) : inputs_(std::move(inputs)) {}

  void start() noexcept {
    const std::size_t count = inputs_.size();
    for (std::size_t i = 0; i < count; ++i) {
      if (HandleAccess::state(inputs_[i])->done()) return publish(i);  // the lowest position already done
    }
    links_.reset(new Link[count]);
    for (std::size_t i = 0; i < count; ++i) {
      links_[i].owner = this;
      links_[i].index = i;
      links_[i].input = HandleAccess::state(inputs_[i]);
    }
    pending_.store(count + 1, std::memory_order_relaxed);
    this->retain();  // the links' reference, dropped by the last of them
    std::size_t i = 0;
    for (; i < count && !fired_.load(std::memory_order_acquire); ++i) {
      if (!links_[i].input->add_continuation(&links_[i])) {
        fire(i);
        drop();
      }
    }
    for (; i < count; ++i) drop();  // never linked: an input was done first
    drop();
  }

 private:
  struct Link final : Continuation {
    void on_done(StateBase&) noexcept override {
      owner->fire(index);
      owner->drop();
    }
    void on_abandoned() noexcept override { owner->drop(); }

    WhenAnyState* owner = nullptr;
    std::size_t index = 0;
    StateBase* input = nullptr;  // written before any link is made, so unlink_others reads it freely
  };

  void fire(std::size_t index) noexcept {
    if (fired_.exchange(true, std::memory_order_acq_rel)) return;
    publish(index);
    for (std::size_t i = 0; i < count_; ++i) {
      if (links_[i].input->remove_continuation(&links_[i])) drop();
    }
  }

  void publish(std::size_t index) noexcept {
    if (this->try_claim()) this->emplace_and_publish(WhenAnyResult<F>{index, std::move(inputs_)});
  }
  void drop() noexcept {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) this->release();
  }

  std::vector<F> inputs_;                     // moved into the result by the first input done
  const std::size_t count_ = inputs_.size();  // (inputs_ is initialized first)
  std::unique_ptr<Link[]> links_;
  std::atomic<std::size_t> pending_{0};  // links not yet run or removed, plus the linking pass
  std::atomic<bool> fired_{false};
};

template <class F>
Future<WhenAnyResult<F>> start_when_any(std::vector<F> inputs) {
  if (inputs.empty()) throw std::invalid_argument("when_any: futures must not be empty");
  for (const F& input : inputs) (void)HandleAccess::state(input);  // empty handles throw here
  auto* state = new WhenAnyState<F>(std::move(inputs));
  Future<WhenAnyResult<F>> result = HandleAccess::adopt(static_cast<State<WhenAnyResult<F>>*>(state));
  state->start();
  return result;
}

}  // namespace detail

// A future that completes, with the inputs, once every input is done (finished or cancelled).
// It never fails itself: read each input's result or exception from it. An empty range gives
// a future done at once. The non-blocking twin of wait(fs, ALL_COMPLETED); it holds no thread
// and O(N) memory (one handle and one link per input), and keeps the inputs in input order,
// duplicates included.
//
//   auto all = cf::when_all(futures);          // keep the handle: result() is a reference into it
//   for (const auto& f : all.result()) use(f.result());
template <detail::FutureRange Range>
auto when_all(const Range& futures) {
  using F = detail::future_of_t<Range>;
  static_assert(detail::check_handle_v<F>);
  std::vector<F> inputs(std::begin(futures), std::end(futures));
  const std::size_t count = inputs.size();
  return detail::start_when_all(std::move(inputs), count);
}
template <class F>
Future<std::vector<F>> when_all(std::initializer_list<F> futures) {
  static_assert(detail::check_handle_v<F>);
  return detail::start_when_all(std::vector<F>(futures), futures.size());
}
// As above for a fixed set of futures of any types: a Future<std::tuple<Future<A>, ...>>.
//
//   auto [name, age] = cf::when_all(pool.submit(load_name), pool.submit(load_age)).result();
template <class... Fs>
requires(detail::is_handle_v<std::remove_cvref_t<Fs>>&&...) Future<std::tuple<std::remove_cvref_t<Fs>...>> when_all(
    Fs&&... futures) {
  return detail::start_when_all(std::tuple<std::remove_cvref_t<Fs>...>(std::forward<Fs>(futures)...), sizeof...(Fs));
}

// A future that completes once the first input is done (finished or cancelled), with its
// position and all the inputs (in input order, duplicates included). If some inputs are done
// already, the lowest position among them wins. It never fails itself. The non-blocking twin
// of wait(fs, FIRST_COMPLETED); it holds no thread. Throws std::invalid_argument if the range
// is empty.
//
//   auto any = cf::when_any(mirrors).result();
//   std::string page = any.futures[any.index].result();
template <detail::FutureRange Range>
auto when_any(const Range& futures) {
  using F = detail::future_of_t<Range>;
  static_assert(detail::check_handle_v<F>);
  return detail::start_when_any(std::vector<F>(std::begin(futures), std::end(futures)));
}
template <class F>
Future<WhenAnyResult<F>> when_any(std::initializer_list<F> futures) {
  static_assert(detail::check_handle_v<F>);
  return detail::start_when_any(std::vector<F>(futures));
}

}  // namespace concurrent::futures
