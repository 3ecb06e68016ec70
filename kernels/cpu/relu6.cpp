// relu6 on the CPU: y = relu6(x) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/relu6.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/relu6.hpp"
#include "kernels/ops/relu6.hpp"

namespace kn::cpu {

void relu6_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Relu6>("kn_relu6_forward", x, y, ctx);
}

void relu6_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Relu6>("kn_relu6_backward", dy, y, dx, ctx);
}

}  // namespace kn::cpu
