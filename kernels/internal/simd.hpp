// Wider SIMD for hot loops, written once. The library is built for baseline
// x86-64 (it must load on any x86-64 CPU); KN_SIMD_CLONES on a function makes
// GCC compile it three times (AVX-512, AVX2, baseline) and pick the best one
// the CPU has once, at load time (function multi-versioning). Put it on the
// small functions that hold a vectorisable loop, not on whole kernels.
//
// Results may differ in the last bits between the clones (e.g. FMA
// contraction), so a loop whose elements can land in the vectorised body or
// in the scalar tail depending on the thread split must be compiled with
// fp-contract=off where results must not depend on the thread count.
//
// kn::simd::clone_target() (kernels/internal/cpu_info.hpp, defined in
// simd.cpp) names the clone this CPU runs; change it with the list below.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define KN_HAVE_SIMD_CLONES 1
#define KN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KN_HAVE_SIMD_CLONES 0
#define KN_SIMD_CLONES
#endif

// Loops over short rows (tens of elements) that GCC would turn into memcpy / memset
// calls, which then cost more than the copies: a function with this attribute keeps
// them as loops.
#if defined(__GNUC__) && !defined(__clang__)
#define KN_NO_MEMCPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define KN_NO_MEMCPY_CALLS
#endif
