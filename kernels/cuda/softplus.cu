// softplus on CUDA: the formulas of kernels/formulas/softplus.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/softplus.hpp"
#include "kernels/ops/softplus.hpp"

namespace kn::cuda {

void softplus_forward(double beta, double threshold, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Softplus>("kn_softplus_forward", x, y, ctx, beta, threshold);
}

void softplus_backward(double beta, double threshold, const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Softplus>("kn_softplus_backward", dy, x, dx, ctx, beta, threshold);
}

}  // namespace kn::cuda
