// @@op@@ on CUDA: the formulas of kernels/formulas/@@op@@.hpp over any strides,
// on ctx.stream (kernels/cuda/elementwise.cuh). In place is safe.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/@@op@@.hpp"
#include "kernels/ops/@@op@@.hpp"

namespace kn::cuda {

void @@op@@_forward(@@c_params@@const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  map_forward<formulas::@@Op@@>("kn_@@op@@_forward", x, y, ctx@@call_params@@);
}

void @@op@@_backward(@@c_params@@const kn_tensor& dy, const kn_tensor& @@saved@@, const kn_tensor& dx,
                     const CudaContext& ctx) {
  map_backward<formulas::@@Op@@>("kn_@@op@@_backward", dy, @@saved@@, dx, ctx@@call_params@@);
}

}  // namespace kn::cuda
