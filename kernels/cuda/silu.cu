// silu on CUDA: the formulas of kernels/formulas/silu.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/silu.hpp"
#include "kernels/ops/silu.hpp"

namespace kn::cuda {

void silu_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Silu>("kn_silu_forward", x, y, ctx);
}

void silu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Silu>("kn_silu_backward", dy, x, dx, ctx);
}

}  // namespace kn::cuda
