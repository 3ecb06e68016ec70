// Element-wise CPU kernels, written once: y = f(x) and dx = g(dy, a) over
// same-shaped tensors of any strides, threaded (parallel_rows), with a
// unit-stride path compiled for AVX-512, AVX2 and baseline x86-64
// (KN_SIMD_CLONES) and streaming stores for large outputs where they pay.
//
// INCLUDE THIS FIRST in an element-wise kernel file: the pragma below then
// covers the file's formulas too. no-trapping-math lets GCC if-convert the
// selects of branch-free formulas (fast_expf's clamps, x > 0 ? a : b) and
// vectorise the loops (libkernels never enables or inspects FP exceptions);
// fp-contract=fast: FMA contraction in the AVX2/AVX-512 clones. Results stay
// independent of the thread count and of in-place use, because the
// unit-stride loops have no scalar remainder (see unary_block below).
//
// Use (kernels/cpu/softplus.cpp is a complete example):
//
//   map_forward<formulas::Softplus>(op, x, y, ctx, beta, threshold);
//       // y[i] = Softplus<T>{T(beta), T(threshold)}.forward(x[i]), T = x's dtype
//   map_backward<formulas::Softplus>(op, dy, x, dx, ctx, beta, threshold);
//       // dx[i] = Softplus<T>{...}.backward(dy[i], x[i])
//
// or, for a hand-written functor, unary<T>(x, y, threads, work, fn) and
// binary<T>(dy, a, dx, threads, work, fn) (work: see Work below; a formula says
// it is heavy with `static constexpr bool kHeavyForward / kHeavyBackward = true`).
// A formula that calls std::exp/std::log per element runs ~10x slower than
// torch (libm calls do not vectorise): use exp_t, expm1_t, log_t, log1p_t,
// tanh_t, erf_t (kernels/internal/math.hpp), which are vectorisable for float.
// tools/vec_report.py (run by make check) reads GCC's verdict on the two
// block loops below, found by their text: keep them one line each.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/context.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/math.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/stream_store.hpp"
#include "kernels/internal/strided.hpp"

namespace kn::cpu {

// Every element of a unit-stride row goes through the same vector code: blocks of
// kBlock elements are copied into local arrays, computed there and copied out (the
// last partial block zero-padded). There is no scalar remainder loop, and no
// alias-check fallback (out may be in: in place), so FMA contraction (on in the
// AVX2/AVX-512 clones) cannot make an element's result depend on where a thread's
// range starts or on in-place use; the copies of whole blocks compile to vector
// loads and stores.
constexpr int64_t kBlock = 16;

// What bounds an element-wise loop, which decides how it touches memory.
//   kLight          a few operations per element (relu-like, hardtanh, a
//                   product): the hardware prefetchers keep the loop fed.
//   kLightStreamed  the same, and a large output whose pages are resident is
//                   written with streaming stores (stream_store.hpp).
//   kHeavy          exp / log / erf / a division per element: every block first
//                   asks for its inputs kPrefetchAhead elements ahead (a
//                   software prefetch into L1, one load-port uop per 64 bytes).
// Measured on the Intel Xeon (model 167, 2-core VM), 16M float32, 2 threads,
// preallocated output: the hardware prefetchers did not keep a heavy loop fed:
// tanh forward 14.5 ms without the prefetch, 5.6 ms with it (torch 4.9),
// sigmoid 15.8 -> 4.8 (5.6), GELU 15.0 -> 5.6 (5.3), GELU backward 10.4 -> 6.3
// (9.8). A light loop they do keep fed, and there the prefetch costs: 1.5x in a
// one-thread C++ loop (leaky_relu-like, 64 MB), leaky_relu forward 3.0 -> 29 ms
// with streaming stores on two threads. So heavy loops only; the kernel says
// which it is (the formula's kHeavyForward / kHeavyBackward). Not tuned per CPU:
// where the hardware prefetchers suffice (Zen 4), the line is already on its
// way and the prefetch costs one uop per 16 floats of a loop that is not
// load-bound. Distance: 2 KB of float32 (4 KB of float64), more than a memory
// latency (~100 ns) of input at ~1 ns per element and thread, well inside L1.
enum class Work { kLight, kLightStreamed, kHeavy };
constexpr int64_t kPrefetchAhead = 512;

// The prefetch of p + kPrefetchAhead, computed on integers: the address may lie past
// the end of the array (a prefetch never faults; a pointer formed there would be UB).
template <typename T>
inline __attribute__((always_inline)) void prefetch_ahead(const T* p) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) +
                                                   kPrefetchAhead * sizeof(T)),
                     0, 3);
}

template <typename T, typename F>
inline __attribute__((always_inline)) void unary_block(int64_t m, const T* in, T* out, F fn) {
  T a[kBlock] = {}, b[kBlock];
  std::memcpy(a, in, static_cast<size_t>(m) * sizeof(T));
  for (int64_t j = 0; j < kBlock; ++j) b[j] = fn(a[j]);
  std::memcpy(out, b, static_cast<size_t>(m) * sizeof(T));
}
template <typename T, typename G>
inline __attribute__((always_inline)) void binary_block(int64_t m, const T* gy, const T* in,
                                                        T* out, G fn) {
  T g[kBlock] = {}, a[kBlock] = {}, b[kBlock];
  std::memcpy(g, gy, static_cast<size_t>(m) * sizeof(T));
  std::memcpy(a, in, static_cast<size_t>(m) * sizeof(T));
  for (int64_t j = 0; j < kBlock; ++j) b[j] = fn(g[j], a[j]);
  std::memcpy(out, b, static_cast<size_t>(m) * sizeof(T));
}

template <bool Prefetch, typename T, typename F>
KN_SIMD_CLONES void unary_unit(int64_t n, const T* in, T* out, F fn) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if constexpr (Prefetch) prefetch_ahead(in + i);
    unary_block(kBlock, in + i, out + i, fn);
  }
  if (i < n) unary_block(n - i, in + i, out + i, fn);
}
template <bool Prefetch, typename T, typename G>
KN_SIMD_CLONES void binary_unit(int64_t n, const T* gy, const T* in, T* out, G fn) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if constexpr (Prefetch) {
      prefetch_ahead(gy + i);
      prefetch_ahead(in + i);
    }
    binary_block(kBlock, gy + i, in + i, out + i, fn);
  }
  if (i < n) binary_block(n - i, gy + i, in + i, out + i, fn);
}

// y = f(x) over one pair of same-shaped tensors (operand 0 = y). Streaming
// stores (Work::kLightStreamed) measured per kernel at 16M float32: faster only
// for the cheap forwards (relu-like: leaky_relu, 1 thread 22 -> 28 GB/s); slower
// for the compute-bound ones (sigmoid, tanh, GELU forward; GELU backward) and
// for the backwards with two input streams (sigmoid, tanh, leaky_relu: 1 thread
// 20 -> 15-18 GB/s), so those keep plain stores.
template <typename T, typename F>
void unary(const kn_tensor& x, const kn_tensor& y, int threads, Work work, F f) {
  const bool stream = work == Work::kLightStreamed &&
                      stream_output(y.data, numel(y) * int64_t(sizeof(T)));
  const bool heavy = work == Work::kHeavy;
  parallel_rows<T, 2>({&y, &x}, threads, [f, stream, heavy](int64_t n, const auto& p, const auto& s) {
    const F fn = f;  // a local copy: stores to out cannot alias its parameters
    T* out = p[0];
    const T* in = p[1];
    if (!all_unit(s)) {
      for (int64_t i = 0; i < n; ++i) out[i * s[0]] = fn(in[i * s[1]]);
    } else if (heavy) {
      unary_unit<true>(n, in, out, fn);
    } else {
      streamed_row(n, out, stream,
                   [in, fn](int64_t i, int64_t m, T* dst) { unary_unit<false>(m, in + i, dst, fn); });
    }
  });
}

// dx = g(dy, a) over three same-shaped tensors (operand 0 = dx).
template <typename T, typename G>
void binary(const kn_tensor& dy, const kn_tensor& a, const kn_tensor& dx, int threads,
            Work work, G g) {
  const bool stream = work == Work::kLightStreamed &&
                      stream_output(dx.data, numel(dx) * int64_t(sizeof(T)));
  const bool heavy = work == Work::kHeavy;
  parallel_rows<T, 3>({&dx, &dy, &a}, threads, [g, stream, heavy](int64_t n, const auto& p, const auto& s) {
    const G fn = g;
    T* out = p[0];
    const T* gy = p[1];
    const T* in = p[2];
    if (!all_unit(s)) {
      for (int64_t i = 0; i < n; ++i) out[i * s[0]] = fn(gy[i * s[1]], in[i * s[2]]);
    } else if (heavy) {
      binary_unit<true>(n, gy, in, out, fn);
    } else {
      streamed_row(n, out, stream, [gy, in, fn](int64_t i, int64_t m, T* dst) {
        binary_unit<false>(m, gy + i, in + i, dst, fn);
      });
    }
  });
}

// A formula's kHeavyForward / kHeavyBackward (false when it declares none).
template <typename F, typename = void>
struct HeavyForward : std::false_type {};
template <typename F>
struct HeavyForward<F, std::void_t<decltype(F::kHeavyForward)>>
    : std::bool_constant<F::kHeavyForward> {};
template <typename F, typename = void>
struct HeavyBackward : std::false_type {};
template <typename F>
struct HeavyBackward<F, std::void_t<decltype(F::kHeavyBackward)>>
    : std::bool_constant<F::kHeavyBackward> {};

// y = Formula<T>{T(params)...}.forward(x) for x's float dtype T. Plain
// stores: streaming stores measured faster only into an output whose pages
// are already mapped (softplus, 16M float32, 2 threads, Intel Xeon: 19.7 ->
// 14.1 ms, torch 14.0) and slower into a fresh torch.empty output, the
// common case (43 ms vs 34 ms for torch: 16k first-touch page faults per
// call either way). Deciding per call whether the output is mapped (e.g.
// mincore) is left for the performance work.
template <template <typename> class Formula, typename... Params>
void map_forward(const char* op, const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx,
                 Params... params) {
  dispatch_float(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Formula<T> f{static_cast<T>(params)...};
    constexpr Work work = HeavyForward<Formula<T>>::value ? Work::kHeavy : Work::kLight;
    unary<T>(x, y, ctx.num_threads, work, [f](T v) { return f.forward(v); });
  });
}

// dx = Formula<T>{T(params)...}.backward(dy, saved), saved = x or y (the op's choice).
template <template <typename> class Formula, typename... Params>
void map_backward(const char* op, const kn_tensor& dy, const kn_tensor& saved, const kn_tensor& dx,
                  const CpuContext& ctx, Params... params) {
  dispatch_float(saved.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Formula<T> f{static_cast<T>(params)...};
    constexpr Work work = HeavyBackward<Formula<T>>::value ? Work::kHeavy : Work::kLight;
    binary<T>(dy, saved, dx, ctx.num_threads, work, [f](T g, T v) { return f.backward(g, v); });
  });
}

}  // namespace kn::cpu
