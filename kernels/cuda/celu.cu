// celu on CUDA: the formulas of kernels/formulas/celu.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/celu.hpp"
#include "kernels/ops/celu.hpp"

namespace kn::cuda {

void celu_forward(double alpha, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Celu>("kn_celu_forward", x, y, ctx, alpha);
}

void celu_backward(double alpha, const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Celu>("kn_celu_backward", dy, x, dx, ctx, alpha);
}

}  // namespace kn::cuda
