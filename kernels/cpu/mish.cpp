// mish on the CPU: y = mish(x) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/mish.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/mish.hpp"
#include "kernels/ops/mish.hpp"

namespace kn::cpu {

void mish_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Mish>("kn_mish_forward", x, y, ctx);
}

void mish_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Mish>("kn_mish_backward", dy, x, dx, ctx);
}

}  // namespace kn::cpu
