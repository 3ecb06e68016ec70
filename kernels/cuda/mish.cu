// mish on CUDA: the formulas of kernels/formulas/mish.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/mish.hpp"
#include "kernels/ops/mish.hpp"

namespace kn::cuda {

void mish_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Mish>("kn_mish_forward", x, y, ctx);
}

void mish_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Mish>("kn_mish_backward", dy, x, dx, ctx);
}

}  // namespace kn::cuda
