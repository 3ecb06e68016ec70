// relu6 on CUDA: the formulas of kernels/formulas/relu6.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/relu6.hpp"
#include "kernels/ops/relu6.hpp"

namespace kn::cuda {

void relu6_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Relu6>("kn_relu6_forward", x, y, ctx);
}

void relu6_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Relu6>("kn_relu6_backward", dy, y, dx, ctx);
}

}  // namespace kn::cuda
