// celu on the CPU: y = celu(x; alpha) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/celu.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/celu.hpp"
#include "kernels/ops/celu.hpp"

namespace kn::cpu {

void celu_forward(double alpha, const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Celu>("kn_celu_forward", x, y, ctx, alpha);
}

void celu_backward(double alpha, const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Celu>("kn_celu_backward", dy, x, dx, ctx, alpha);
}

}  // namespace kn::cpu
