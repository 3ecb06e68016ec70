// silu on the CPU: y = silu(x) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/silu.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/silu.hpp"
#include "kernels/ops/silu.hpp"

namespace kn::cpu {

void silu_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Silu>("kn_silu_forward", x, y, ctx);
}

void silu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Silu>("kn_silu_backward", dy, x, dx, ctx);
}

}  // namespace kn::cpu
