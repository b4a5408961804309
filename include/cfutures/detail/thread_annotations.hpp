// Clang thread-safety annotations (-Wthread-safety); they expand to nothing elsewhere.
#pragma once

#if defined(__clang__)
#define CF_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CF_THREAD_ANNOTATION(x)
#endif

#define CF_CAPABILITY(x) CF_THREAD_ANNOTATION(capability(x))
#define CF_GUARDED_BY(x) CF_THREAD_ANNOTATION(guarded_by(x))
#define CF_PT_GUARDED_BY(x) CF_THREAD_ANNOTATION(pt_guarded_by(x))
#define CF_ACQUIRE(...) CF_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CF_RELEASE(...) CF_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CF_TRY_ACQUIRE(...) CF_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define CF_REQUIRES(...) CF_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CF_EXCLUDES(...) CF_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CF_SCOPED_CAPABILITY CF_THREAD_ANNOTATION(scoped_lockable)
#define CF_NO_THREAD_SAFETY_ANALYSIS CF_THREAD_ANNOTATION(no_thread_safety_analysis)
