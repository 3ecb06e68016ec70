// hardsigmoid on CUDA: the formulas of kernels/formulas/hardsigmoid.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/hardsigmoid.hpp"
#include "kernels/ops/hardsigmoid.hpp"

namespace kn::cuda {

void hardsigmoid_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Hardsigmoid>("kn_hardsigmoid_forward", x, y, ctx);
}

void hardsigmoid_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Hardsigmoid>("kn_hardsigmoid_backward", dy, x, dx, ctx);
}

}  // namespace kn::cuda
