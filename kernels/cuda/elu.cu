// elu on CUDA: the formulas of kernels/formulas/elu.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/elu.hpp"
#include "kernels/ops/elu.hpp"

namespace kn::cuda {

void elu_forward(double alpha, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Elu>("kn_elu_forward", x, y, ctx, alpha);
}

void elu_backward(double alpha, const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Elu>("kn_elu_backward", dy, x, dx, ctx, alpha);
}

}  // namespace kn::cuda
