// Leaky ReLU on the CPU: element-wise over strided rows (parallel_rows), with
// a unit-stride fast path. x, y, dy, dx: one shape (any ndim), any strides; y
// may be x and dx may be dy (in place).
//
//   leaky_relu  y = x > 0 ? x : s x            dx = self > 0 ? dy : s dy
//                                              (self = x, or y when s >= 0)
//
// The formulas are those of kernels/formulas/leaky_relu.hpp (shared with
// CUDA), computed in T. The unit-stride loops vectorise; the forward writes
// large outputs with streaming stores (kernels/internal/elementwise.hpp).
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover this file

#include "kernels/formulas/leaky_relu.hpp"
#include "kernels/ops/leaky_relu.hpp"

namespace kn::cpu {

void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,
                        const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_leaky_relu_forward", [&](auto tag) {
    using T = decltype(tag);
    const T slope = static_cast<T>(negative_slope);
    unary<T>(x, y, ctx.num_threads, Work::kLightStreamed, [slope](T v) { return act::leaky_relu(v, slope); });
  });
}

void leaky_relu_backward(double negative_slope, const kn_tensor& dy, const kn_tensor& self,
                         const kn_tensor& dx, const CpuContext& ctx) {
  dispatch_float(self.dtype, "kn_leaky_relu_backward", [&](auto tag) {
    using T = decltype(tag);
    const T slope = static_cast<T>(negative_slope);
    binary<T>(dy, self, dx, ctx.num_threads, Work::kLight,
              [slope](T g, T v) { return act::leaky_relu_grad(g, v, slope); });
  });
}

}  // namespace kn::cpu
