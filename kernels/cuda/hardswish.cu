// hardswish on CUDA: the formulas of kernels/formulas/hardswish.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/hardswish.hpp"
#include "kernels/ops/hardswish.hpp"

namespace kn::cuda {

void hardswish_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::Hardswish>("kn_hardswish_forward", x, y, ctx);
}

void hardswish_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::Hardswish>("kn_hardswish_backward", dy, x, dx, ctx);
}

}  // namespace kn::cuda
