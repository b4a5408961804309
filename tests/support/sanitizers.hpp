// Which sanitizer the test build uses, for the few tests that must behave differently under one
// (GCC defines __SANITIZE_*__, clang answers __has_feature). Defines CFTEST_TSAN or CFTEST_ASAN,
// and cftest::kSanitizer: "tsan", "asan" or "none".
#pragma once

#if defined(__SANITIZE_THREAD__)
#define CFTEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CFTEST_TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CFTEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CFTEST_ASAN 1
#endif
#endif

namespace cftest {

inline constexpr const char* kSanitizer =
#if defined(CFTEST_TSAN)
    "tsan";
#elif defined(CFTEST_ASAN)
    "asan";
#else
    "none";
#endif

}  // namespace cftest
