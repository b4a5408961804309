// cf::wait on a braced list of something else than futures.
// EXPECT: cf::wait and cf::as_completed take a range (begin()/end()) of cf::Future<T> or cf::AnyFuture
#include <cfutures/wait.hpp>

int main() { (void)concurrent::futures::wait({"a", "b"}, concurrent::futures::FIRST_COMPLETED); }
