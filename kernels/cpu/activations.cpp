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
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover this file

#include "kernels/cpu/activation_math.hpp"
#include "kernels/ops/activations.hpp"

namespace kn::cpu {

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
