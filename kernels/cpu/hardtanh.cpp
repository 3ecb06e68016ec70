// hardtanh on the CPU: y = hardtanh(x; min_val, max_val) and its backward, element-wise,
// any strides, threaded, SIMD (kernels/internal/elementwise.hpp). The formulas
// are kernels/formulas/hardtanh.hpp; nothing here needs editing for them.
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/formulas/hardtanh.hpp"
#include "kernels/ops/hardtanh.hpp"

namespace kn::cpu {

void hardtanh_forward(double min_val, double max_val, const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  map_forward<formulas::Hardtanh>("kn_hardtanh_forward", x, y, ctx, min_val, max_val);
}

void hardtanh_backward(double min_val, double max_val, const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                     const CpuContext& ctx) {
  map_backward<formulas::Hardtanh>("kn_hardtanh_backward", dy, y, dx, ctx, min_val, max_val);
}

}  // namespace kn::cpu
