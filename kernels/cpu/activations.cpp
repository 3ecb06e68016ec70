// Sigmoid, tanh, leaky ReLU and GELU on the CPU: element-wise over strided
// rows (parallel_rows), with a unit-stride fast path. x, y, dy, dx: one
// shape (any ndim), any strides; y may be x and dx may be dy (in place).
//
//   sigmoid     y = 1 / (1 + exp(-x))          dx = dy (1 - y) y       (from y)
//   tanh        y = tanh(x)                    dx = dy (1 - y^2)       (from y)
//   leaky_relu  y = x > 0 ? x : s x            dx = self > 0 ? dy : s dy
//                                              (self = x, or y when s >= 0)
//   gelu none   y = x Phi(x)                   dx = dy (Phi(x) + x phi(x))
//   gelu tanh   y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//               dx = dy (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)),
//               t = tanh(u)
// The formulas are those of kernels/cpu/activation_math.hpp (shared with
// CUDA), computed in T (float math for float, as torch; float exp, tanh and
// erf are the vectorisable kernels/internal/fast_math.hpp ones). The
// unit-stride loops vectorise.
// no-trapping-math lets GCC if-convert the selects (fast_expf's clamps, the
// ranges of fast_tanhf/fast_erff, leaky_relu) and vectorise the loops (FP
// exceptions are never enabled or inspected by libkernels). fp-contract=fast:
// FMA contraction in the AVX2/AVX-512 clones below (the polynomials of exp,
// tanh and GELU's Phi halve); results stay independent of the thread count
// because the unit-stride loops have no scalar remainder (unary_unit below).
// Strided rows take scalar loops (contracted alike for every thread split).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif
#include <cstring>

#include "kernels/cpu/activation_math.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/stream_store.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/ops.hpp"

// The unit-stride loops are compiled for AVX-512, AVX2 and baseline x86-64
// (KN_SIMD_CLONES, kernels/internal/simd.hpp).

namespace kn::cpu {
namespace {

// Every element of a unit-stride row goes through the same vector code: blocks of
// kBlock elements are copied into local arrays, computed there and copied out (the
// last partial block zero-padded). There is no scalar remainder loop, and no
// alias-check fallback (out may be in: in place), so FMA contraction (on in the
// AVX2/AVX-512 clones) cannot make an element's result depend on where a thread's
// range starts or on in-place use; the copies of whole blocks compile to vector
// loads and stores.
constexpr int64_t kBlock = 16;

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
  for (; i + kBlock <= n; i += kBlock) unary_block(kBlock, in + i, out + i, fn);
  if (i < n) unary_block(n - i, in + i, out + i, fn);
}
template <typename T, typename G>
KN_SIMD_CLONES void binary_unit(int64_t n, const T* gy, const T* in, T* out, G fn) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) binary_block(kBlock, gy + i, in + i, out + i, fn);
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
  const bool stream = streamable && stream_output(numel(y) * int64_t(sizeof(T)));
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
  const bool stream = streamable && stream_output(numel(dx) * int64_t(sizeof(T)));
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

}  // namespace

void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_sigmoid_forward", [&](auto tag) {
    using T = decltype(tag);
    unary<T>(x, y, ctx.num_threads, false, [](T v) { return act::sigmoid(v); });
  });
}

void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                      const CpuContext& ctx) {
  dispatch_float(y.dtype, "kn_sigmoid_backward", [&](auto tag) {
    using T = decltype(tag);
    binary<T>(dy, y, dx, ctx.num_threads, false, [](T g, T v) { return act::sigmoid_grad(g, v); });
  });
}

void tanh_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_tanh_forward", [&](auto tag) {
    using T = decltype(tag);
    unary<T>(x, y, ctx.num_threads, false, [](T v) { return act::tanh(v); });
  });
}

void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                   const CpuContext& ctx) {
  dispatch_float(y.dtype, "kn_tanh_backward", [&](auto tag) {
    using T = decltype(tag);
    binary<T>(dy, y, dx, ctx.num_threads, false, [](T g, T v) { return act::tanh_grad(g, v); });
  });
}

void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,
                        const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_leaky_relu_forward", [&](auto tag) {
    using T = decltype(tag);
    const T slope = static_cast<T>(negative_slope);
    unary<T>(x, y, ctx.num_threads, true, [slope](T v) { return act::leaky_relu(v, slope); });
  });
}

void leaky_relu_backward(double negative_slope, const kn_tensor& dy, const kn_tensor& self,
                         const kn_tensor& dx, const CpuContext& ctx) {
  dispatch_float(self.dtype, "kn_leaky_relu_backward", [&](auto tag) {
    using T = decltype(tag);
    const T slope = static_cast<T>(negative_slope);
    binary<T>(dy, self, dx, ctx.num_threads, false,
              [slope](T g, T v) { return act::leaky_relu_grad(g, v, slope); });
  });
}

void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x, const kn_tensor& y,
                  const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_gelu_forward", [&](auto tag) {
    using T = decltype(tag);
    if (approximate == KN_GELU_TANH)
      unary<T>(x, y, ctx.num_threads, false, [](T v) { return act::gelu_tanh(v); });
    else
      unary<T>(x, y, ctx.num_threads, false, [](T v) { return act::gelu_erf(v); });
  });
}

void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy, const kn_tensor& x,
                   const kn_tensor& dx, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_gelu_backward", [&](auto tag) {
    using T = decltype(tag);
    if (approximate == KN_GELU_TANH)
      binary<T>(dy, x, dx, ctx.num_threads, false, [](T g, T v) { return act::gelu_tanh_grad(g, v); });
    else
      binary<T>(dy, x, dx, ctx.num_threads, false, [](T g, T v) { return act::gelu_erf_grad(g, v); });
  });
}

}  // namespace kn::cpu
