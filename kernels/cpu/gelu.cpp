// GELU on the CPU: element-wise over strided rows (parallel_rows), with a
// unit-stride fast path. x, y, dy, dx: one shape (any ndim), any strides; y
// may be x and dx may be dy (in place).
//
//   gelu none   y = x Phi(x)                   dx = dy (Phi(x) + x phi(x))
//   gelu tanh   y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//               dx = dy (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)),
//               t = tanh(u)
// The formulas are those of kernels/formulas/gelu.hpp (shared with CUDA),
// computed in T (float math for float, as torch; float exp, tanh and erf are
// the vectorisable kernels/internal/fast_math.hpp ones). The unit-stride
// loops vectorise.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover this file

#include "kernels/formulas/gelu.hpp"
#include "kernels/ops/gelu.hpp"

namespace kn::cpu {

void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x, const kn_tensor& y,
                  const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_gelu_forward", [&](auto tag) {
    using T = decltype(tag);
    if (approximate == KN_GELU_TANH)
      unary<T>(x, y, ctx.num_threads, Work::kHeavy, [](T v) { return act::gelu_tanh(v); });
    else
      unary<T>(x, y, ctx.num_threads, Work::kHeavy, [](T v) { return act::gelu_erf(v); });
  });
}

void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy, const kn_tensor& x,
                   const kn_tensor& dx, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_gelu_backward", [&](auto tag) {
    using T = decltype(tag);
    if (approximate == KN_GELU_TANH)
      binary<T>(dy, x, dx, ctx.num_threads, Work::kHeavy, [](T g, T v) { return act::gelu_tanh_grad(g, v); });
    else
      binary<T>(dy, x, dx, ctx.num_threads, Work::kHeavy, [](T g, T v) { return act::gelu_erf_grad(g, v); });
  });
}

}  // namespace kn::cpu
