// hardtanh on CUDA: the formulas of kernels/formulas/hardtanh.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/hardtanh.hpp"
#include "kernels/ops/hardtanh.hpp"

namespace kn::cuda {

void hardtanh_forward(double min_val, double max_val, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Hardtanh>("kn_hardtanh_forward", x, y, ctx, min_val, max_val);
}

void hardtanh_backward(double min_val, double max_val, const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Hardtanh>("kn_hardtanh_backward", dy, y, dx, ctx, min_val, max_val);
}

}  // namespace kn::cuda
