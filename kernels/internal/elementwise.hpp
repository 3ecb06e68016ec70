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
// or, for a hand-written functor, unary<T>(x, y, threads, streamable, fn) and
// binary<T>(dy, a, dx, threads, streamable, fn). A formula that calls
// std::exp/std::log per element runs ~10x slower than torch (libm calls do
// not vectorise): use exp_t, expm1_t, log_t, log1p_t, tanh_t, erf_t
// (kernels/internal/math.hpp), which are vectorisable for float.
// tools/vec_report.py (run by make check) reads GCC's verdict on the two
// block loops below, found by their text: keep them one line each.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif
#include <cstdint>
#include <cstring>

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
// Each block first asks for the input kPrefetchAhead elements ahead (a software
// prefetch into L1; one load-port uop per 64 bytes). On the Intel Xeon (model 167,
// a 2-core VM) the hardware prefetchers did not keep a compute-heavy loop fed: at
// 16M float32, 2 threads, preallocated output, tanh forward took 14.5 ms without
// and 5.6 ms with it (torch 4.9), sigmoid 15.8 -> 4.8 (5.6), GELU 15.0 -> 5.6
// (5.3), GELU backward 10.4 -> 6.3 (9.8); relu forward and backward, which the
// hardware prefetchers do keep up with, were unchanged (3.7 / 5.6 ms). Distance:
// 2 KB of float32 (4 KB of float64), more than a memory latency (~100 ns) of
// input at ~1 ns per element and thread, well inside L1. Not tuned per CPU:
// where the hardware prefetchers suffice (Zen 4) the line is already on its way
// and the prefetch costs one uop per 16 elements.
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

template <typename T, typename F>
KN_SIMD_CLONES void unary_unit(int64_t n, const T* in, T* out, F fn) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    prefetch_ahead(in + i);
    unary_block(kBlock, in + i, out + i, fn);
  }
  if (i < n) unary_block(n - i, in + i, out + i, fn);
}
template <typename T, typename G>
KN_SIMD_CLONES void binary_unit(int64_t n, const T* gy, const T* in, T* out, G fn) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    prefetch_ahead(gy + i);
    prefetch_ahead(in + i);
    binary_block(kBlock, gy + i, in + i, out + i, fn);
  }
  if (i < n) binary_block(n - i, gy + i, in + i, out + i, fn);
}

// y = f(x) over one pair of same-shaped tensors (operand 0 = y). Large
// outputs are written with streaming stores (kernels/internal/stream_store.hpp).
// `streamable`: measured per kernel at 16M float32. Faster only for the cheap
// forwards (relu-like: leaky_relu, 1 thread 22 -> 28 GB/s). Slower for the
// compute-bound ones (sigmoid, tanh, GELU forward; GELU backward) and for the
// backwards with two input streams (sigmoid, tanh, leaky_relu: 1 thread
// 20 -> 15-18 GB/s), so those keep plain stores.
template <typename T, typename F>
void unary(const kn_tensor& x, const kn_tensor& y, int threads, bool streamable, F f) {
  const bool stream = streamable && stream_output(y.data, numel(y) * int64_t(sizeof(T)));
  parallel_rows<T, 2>({&y, &x}, threads, [f, stream](int64_t n, const auto& p, const auto& s) {
    const F fn = f;  // a local copy: stores to out cannot alias its parameters
    T* out = p[0];
    const T* in = p[1];
    if (all_unit(s)) {
      streamed_row(n, out, stream,
                   [in, fn](int64_t i, int64_t m, T* dst) { unary_unit(m, in + i, dst, fn); });
    } else {
      for (int64_t i = 0; i < n; ++i) out[i * s[0]] = fn(in[i * s[1]]);
    }
  });
}

// dx = g(dy, a) over three same-shaped tensors (operand 0 = dx).
template <typename T, typename G>
void binary(const kn_tensor& dy, const kn_tensor& a, const kn_tensor& dx, int threads,
            bool streamable, G g) {
  const bool stream = streamable && stream_output(dx.data, numel(dx) * int64_t(sizeof(T)));
  parallel_rows<T, 3>({&dx, &dy, &a}, threads, [g, stream](int64_t n, const auto& p, const auto& s) {
    const G fn = g;
    T* out = p[0];
    const T* gy = p[1];
    const T* in = p[2];
    if (all_unit(s)) {
      streamed_row(n, out, stream, [gy, in, fn](int64_t i, int64_t m, T* dst) {
        binary_unit(m, gy + i, in + i, dst, fn);
      });
    } else {
      for (int64_t i = 0; i < n; ++i) out[i * s[0]] = fn(gy[i * s[1]], in[i * s[2]]);
    }
  });
}

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
    unary<T>(x, y, ctx.num_threads, false, [f](T v) { return f.forward(v); });
  });
}

// dx = Formula<T>{T(params)...}.backward(dy, saved), saved = x or y (the op's choice).
template <template <typename> class Formula, typename... Params>
void map_backward(const char* op, const kn_tensor& dy, const kn_tensor& saved, const kn_tensor& dx,
                  const CpuContext& ctx, Params... params) {
  dispatch_float(saved.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Formula<T> f{static_cast<T>(params)...};
    binary<T>(dy, saved, dx, ctx.num_threads, false, [f](T g, T v) { return f.backward(g, v); });
  });
}

}  // namespace kn::cpu
