// Sigmoid on the CPU: element-wise over strided rows (parallel_rows), with a
// unit-stride fast path. x, y, dy, dx: one shape (any ndim), any strides; y
// may be x and dx may be dy (in place).
//
//   sigmoid     y = 1 / (1 + exp(-x))          dx = dy (1 - y) y       (from y)
//
// The formulas are those of kernels/formulas/sigmoid.hpp (shared with CUDA),
// computed in T (float math for float, as torch; float exp is the vectorisable
// kernels/internal/fast_math.hpp one). The unit-stride loops vectorise.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover this file

#include "kernels/formulas/sigmoid.hpp"
#include "kernels/ops/sigmoid.hpp"

namespace kn::cpu {

void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_sigmoid_forward", [&](auto tag) {
    using T = decltype(tag);
    unary<T>(x, y, ctx.num_threads, Work::kHeavy, [](T v) { return act::sigmoid(v); });
  });
}

void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                      const CpuContext& ctx) {
  dispatch_float(y.dtype, "kn_sigmoid_backward", [&](auto tag) {
    using T = decltype(tag);
    binary<T>(dy, y, dx, ctx.num_threads, Work::kLight, [](T g, T v) { return act::sigmoid_grad(g, v); });
  });
}

}  // namespace kn::cpu
