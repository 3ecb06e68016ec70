// Tanh on the CPU: element-wise over strided rows (parallel_rows), with a
// unit-stride fast path. x, y, dy, dx: one shape (any ndim), any strides; y
// may be x and dx may be dy (in place).
//
//   tanh        y = tanh(x)                    dx = dy (1 - y^2)       (from y)
//
// The formulas are those of kernels/formulas/tanh.hpp (shared with CUDA),
// computed in T (float math for float, as torch; float tanh is the
// vectorisable kernels/internal/fast_math.hpp one). The unit-stride loops
// vectorise.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover this file

#include "kernels/formulas/tanh.hpp"
#include "kernels/ops/tanh.hpp"

namespace kn::cpu {

void tanh_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_tanh_forward", [&](auto tag) {
    using T = decltype(tag);
    unary<T>(x, y, ctx.num_threads, Work::kHeavy, [](T v) { return act::tanh(v); });
  });
}

void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                   const CpuContext& ctx) {
  dispatch_float(y.dtype, "kn_tanh_backward", [&](auto tag) {
    using T = decltype(tag);
    binary<T>(dy, y, dx, ctx.num_threads, Work::kLight, [](T g, T v) { return act::tanh_grad(g, v); });
  });
}

}  // namespace kn::cpu
