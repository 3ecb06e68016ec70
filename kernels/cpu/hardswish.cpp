// hardswish on the CPU: y = hardswish(x) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/hardswish.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/hardswish.hpp"
#include "kernels/ops/hardswish.hpp"

namespace kn::cpu {

void hardswish_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Hardswish>("kn_hardswish_forward", x, y, ctx);
}

void hardswish_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Hardswish>("kn_hardswish_backward", dy, x, dx, ctx);
}

}  // namespace kn::cpu
