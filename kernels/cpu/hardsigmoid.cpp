// hardsigmoid on the CPU: y = hardsigmoid(x) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/hardsigmoid.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/hardsigmoid.hpp"
#include "kernels/ops/hardsigmoid.hpp"

namespace kn::cpu {

void hardsigmoid_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Hardsigmoid>("kn_hardsigmoid_forward", x, y, ctx);
}

void hardsigmoid_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Hardsigmoid>("kn_hardsigmoid_backward", dy, x, dx, ctx);
}

}  // namespace kn::cpu
