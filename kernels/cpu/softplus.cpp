// softplus on the CPU: y = softplus(x; beta, threshold) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/softplus.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/softplus.hpp"
#include "kernels/ops/softplus.hpp"

namespace kn::cpu {

void softplus_forward(double beta, double threshold, const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Softplus>("kn_softplus_forward", x, y, ctx, beta, threshold);
}

void softplus_backward(double beta, double threshold, const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Softplus>("kn_softplus_backward", dy, x, dx, ctx, beta, threshold);
}

}  // namespace kn::cpu
