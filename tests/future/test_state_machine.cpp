// The Future state machine: every method in every state (API.md "cf::Future<T>"; CPython
// test_future.py, with the state table of detail/state.hpp). The six
// states are CPython's fixtures: PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED (cancelled,
// then set_running_or_notify_cancel), FINISHED with a result, FINISHED with an exception.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <thread>

#include "core_fixtures.hpp"

namespace {

namespace cf = concurrent::futures;
using cftest::FState;
using cftest::kAllStates;
using cftest::make_future;
using cftest::name_of;
using namespace std::chrono_literals;

bool is_done_state(FState s) { return s != FState::Pending && s != FState::Running; }
bool is_cancelled_state(FState s) { return s == FState::Cancelled || s == FState::CancelledNotified; }

TEST(FutureStateMachine, CancelInEveryState) {  // CPython's test_cancel, cancel twice
  const std::map<FState, bool> returns{{FState::Pending, true},   {FState::Running, false},
                                       {FState::Cancelled, true}, {FState::CancelledNotified, true},
                                       {FState::Finished, false}, {FState::Failed, false}};
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    EXPECT_EQ(f.cancel(), returns.at(s));
    EXPECT_EQ(f.cancel(), returns.at(s)) << "a second cancel() answers the same";
    // cancel() changes only a pending future; the others keep their state.
    EXPECT_EQ(f.cancelled(), s == FState::Pending || is_cancelled_state(s));
    EXPECT_EQ(f.running(), s == FState::Running);
    EXPECT_EQ(f.done(), s != FState::Running);
  }
}

TEST(FutureStateMachine, CancelledInEveryState) {  // CPython's test_cancelled
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    EXPECT_EQ(make_future(s).cancelled(), is_cancelled_state(s));
  }
}

TEST(FutureStateMachine, DoneInEveryState) {  // CPython's test_done
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    EXPECT_EQ(make_future(s).done(), is_done_state(s));
  }
}

TEST(FutureStateMachine, RunningInEveryState) {  // CPython's test_running
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    EXPECT_EQ(make_future(s).running(), s == FState::Running);
  }
}

TEST(FutureStateMachine, ResultWithZeroTimeoutInEveryState) {  // CPython's test_result_with_timeout
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    switch (s) {
      case FState::Pending:
      case FState::Running:
        EXPECT_THROW(f.result(0s), cf::TimeoutError);
        break;
      case FState::Cancelled:
      case FState::CancelledNotified:
        EXPECT_THROW(f.result(0s), cf::CancelledError);
        EXPECT_THROW(f.result(), cf::CancelledError);
        break;
      case FState::Failed:
        EXPECT_THROW(f.result(0s), cftest::OSError);
        EXPECT_THROW(f.result(), cftest::OSError);
        break;
      case FState::Finished:
        EXPECT_EQ(f.result(0s), 42);
        EXPECT_EQ(f.result(), 42);
        break;
    }
  }
}

TEST(FutureStateMachine, ExceptionWithZeroTimeoutInEveryState) {  // CPython's test_exception_with_timeout
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    switch (s) {
      case FState::Pending:
      case FState::Running:
        EXPECT_THROW(f.exception(0s), cf::TimeoutError);
        break;
      case FState::Cancelled:
      case FState::CancelledNotified:
        EXPECT_THROW(f.exception(0s), cf::CancelledError);
        EXPECT_THROW(f.exception(), cf::CancelledError);
        break;
      case FState::Failed:
        EXPECT_THROW(std::rethrow_exception(f.exception(0s)), cftest::OSError);
        EXPECT_THROW(std::rethrow_exception(f.exception()), cftest::OSError);
        break;
      case FState::Finished:
        EXPECT_EQ(f.exception(0s), nullptr);
        EXPECT_EQ(f.exception(), nullptr);
        break;
    }
  }
}

TEST(FutureStateMachine, SetRunningOrNotifyCancelInEveryState) {  // CPython's tests; the state table
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    switch (s) {
      case FState::Pending:
        EXPECT_TRUE(f.set_running_or_notify_cancel());
        EXPECT_TRUE(f.running());
        EXPECT_FALSE(f.done());
        EXPECT_FALSE(f.cancel()) << "a running future cannot be cancelled";
        break;
      case FState::Cancelled:
        EXPECT_FALSE(f.set_running_or_notify_cancel()) << "false: the executor must not run it";
        EXPECT_TRUE(f.cancelled());
        EXPECT_TRUE(f.done());
        EXPECT_THROW(f.set_running_or_notify_cancel(), cf::InvalidStateError) << "now CANCELLED_AND_NOTIFIED";
        break;
      default:  // RUNNING, CANCELLED_AND_NOTIFIED, FINISHED: Python's "Future in unexpected state"
        EXPECT_THROW(f.set_running_or_notify_cancel(), cf::InvalidStateError);
        EXPECT_EQ(f.running(), s == FState::Running) << "the state is unchanged";
        EXPECT_EQ(f.done(), is_done_state(s));
        break;
    }
  }
}

TEST(FutureStateMachine, SetResultInEveryState) {  // CPython's tests; the state table
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    if (is_done_state(s)) {
      EXPECT_THROW(f.set_result(7), cf::InvalidStateError);
      EXPECT_EQ(f.cancelled(), is_cancelled_state(s)) << "the state is unchanged";
      if (s == FState::Finished) {
        EXPECT_EQ(f.result(), 42) << "the first result is kept";
      }
      if (s == FState::Failed) {
        EXPECT_THROW(f.result(), cftest::OSError) << "the exception is kept";
      }
    } else {  // legal from PENDING (skipping RUNNING) and from RUNNING
      f.set_result(7);
      EXPECT_TRUE(f.done());
      EXPECT_FALSE(f.running());
      EXPECT_EQ(f.result(), 7);
    }
  }
}

TEST(FutureStateMachine, SetExceptionInEveryState) {  // CPython's tests; the state table
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    auto error = std::make_exception_ptr(std::domain_error("late"));
    if (is_done_state(s)) {
      EXPECT_THROW(f.set_exception(error), cf::InvalidStateError);
      EXPECT_EQ(f.cancelled(), is_cancelled_state(s));
      if (s == FState::Finished) {
        EXPECT_EQ(f.exception(), nullptr);
      }
      if (s == FState::Failed) {
        EXPECT_THROW(std::rethrow_exception(f.exception()), cftest::OSError);
      }
    } else {
      f.set_exception(error);
      EXPECT_TRUE(f.done());
      EXPECT_EQ(f.exception(), error);
      EXPECT_THROW(f.result(), std::domain_error);
    }
  }
}

TEST(FutureStateMachine, AddDoneCallbackInEveryState) {  // the state table, row add_done_callback
  for (FState s : kAllStates) {
    SCOPED_TRACE(name_of(s));
    auto f = make_future(s);
    int calls = 0;
    f.add_done_callback([&](cf::Future<int> g) {
      ++calls;
      EXPECT_TRUE(g.done());
      EXPECT_EQ(g, f);
    });
    EXPECT_EQ(calls, is_done_state(s) ? 1 : 0) << "called at once exactly when already done";
    if (!is_done_state(s)) {
      f.set_result(1);
      EXPECT_EQ(calls, 1);
    }
    f.cancel();  // no effect on a done future: the callback never runs twice
    EXPECT_EQ(calls, 1);
  }
}

TEST(FutureStateMachine, CancelRunsCallbacksOnceAndSetRunningDoesNotRerunThem) {  // the state table
  cf::Future<int> f;
  int calls = 0;
  f.add_done_callback([&](const cf::Future<int>&) { ++calls; });
  EXPECT_TRUE(f.cancel());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(f.cancel());
  EXPECT_FALSE(f.set_running_or_notify_cancel());
  EXPECT_EQ(calls, 1);
}

TEST(FutureStateMachine, NullExceptionIsRejectedAndFalsyExceptionsStillRaise) {  // CPython's tests gh-132063
  cf::Future<int> f;
  EXPECT_THROW(f.set_exception(nullptr), std::invalid_argument);
  EXPECT_FALSE(f.done()) << "a rejected set_exception leaves the future pending";
  // An exception whose value is "falsy" (the int 0) is still an exception, never "no error".
  f.set_exception(std::make_exception_ptr(0));
  EXPECT_NE(f.exception(), nullptr);
  try {
    (void)f.result();
    ADD_FAILURE() << "result() returned instead of rethrowing int 0";
  } catch (int value) {
    EXPECT_EQ(value, 0);
  }
}

TEST(FutureStateMachine,
     ResultWaitsInEveryPendingLikeStateAndWakesOnEveryCompletion) {  // waiters wake on every completion
  // result() blocked in another thread is woken by set_result, set_exception and cancel.
  for (int how = 0; how < 3; ++how) {
    SCOPED_TRACE(how);
    cf::Future<int> f;
    cf::Future<int> outcome;
    std::thread waiter([&] {
      try {
        outcome.set_result(f.result());
      } catch (...) {
        outcome.set_exception(std::current_exception());
      }
    });
    if (how == 0) f.set_result(5);
    if (how == 1) f.set_exception(std::make_exception_ptr(cftest::OSError()));
    if (how == 2) f.cancel();
    waiter.join();
    if (how == 0) {
      EXPECT_EQ(outcome.result(), 5);
    }
    if (how == 1) {
      EXPECT_THROW(outcome.result(), cftest::OSError);
    }
    if (how == 2) {
      EXPECT_THROW(outcome.result(), cf::CancelledError);
    }
  }
}

}  // namespace
