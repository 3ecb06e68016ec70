// elu on the CPU: y = elu(x; alpha) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/elu.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/elu.hpp"
#include "kernels/ops/elu.hpp"

namespace kn::cpu {

void elu_forward(double alpha, const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Elu>("kn_elu_forward", x, y, ctx, alpha);
}

void elu_backward(double alpha, const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Elu>("kn_elu_backward", dy, x, dx, ctx, alpha);
}

}  // namespace kn::cpu
