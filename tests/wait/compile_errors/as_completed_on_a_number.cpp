// cf::as_completed on something that is not a range at all.
// EXPECT: cf::wait and cf::as_completed take a range (begin()/end()) of cf::Future<T> or cf::AnyFuture
#include <cfutures/wait.hpp>

int main() { (void)concurrent::futures::as_completed(42); }
