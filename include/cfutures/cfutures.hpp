// cfutures: Python's concurrent.futures for C++20. This header brings everything:
//
//   #include <cfutures/cfutures.hpp>
//   namespace cf = concurrent::futures;
//
//   int main() {
//     cf::ThreadPoolExecutor pool(3);
//     cf::Future<int> f = pool.submit([] { return 42; });
//     return f.result() == 42 ? 0 : 1;
//   }
#pragma once

#include "cfutures/compose.hpp"        // IWYU pragma: export
#include "cfutures/coroutine.hpp"      // IWYU pragma: export
#include "cfutures/errors.hpp"         // IWYU pragma: export
#include "cfutures/executor.hpp"       // IWYU pragma: export
#include "cfutures/future.hpp"         // IWYU pragma: export
#include "cfutures/process_pool.hpp"   // IWYU pragma: export
#include "cfutures/progress.hpp"       // IWYU pragma: export
#include "cfutures/serialization.hpp"  // IWYU pragma: export
#include "cfutures/thread_pool.hpp"    // IWYU pragma: export
#include "cfutures/wait.hpp"           // IWYU pragma: export
