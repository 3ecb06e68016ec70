// @@op@@ on the CPU: y = @@op@@(x@@doc_params@@) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/@@op@@.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/@@op@@.hpp"
#include "kernels/ops/@@op@@.hpp"

namespace kn::cpu {

void @@op@@_forward(@@c_params@@const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::@@Op@@>("kn_@@op@@_forward", x, y, ctx@@call_params@@);
}

void @@op@@_backward(@@c_params@@const kn_tensor& dy, const kn_tensor& @@saved@@, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::@@Op@@>("kn_@@op@@_backward", dy, @@saved@@, dx, ctx@@call_params@@);
}

}  // namespace kn::cpu
