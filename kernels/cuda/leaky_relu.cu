// Leaky ReLU on CUDA: an element-wise functor over any strides
// (CudaCall::elementwise), the formulas of kernels/formulas/leaky_relu.hpp
// (shared with the CPU kernels). x, y, dy, dx: one shape; y may be x and dx
// may be dy (in place): every element is read and written by the same thread.
//
//   leaky_relu  y = x > 0 ? x : s x            dx = self > 0 ? dy : s dy
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/leaky_relu.hpp"
#include "kernels/ops/leaky_relu.hpp"

namespace kn::cuda {
namespace {

// p[0] = y, p[1] = x
struct LeakyReluForward {
  double slope;
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::leaky_relu(*p[1], static_cast<T>(slope)); }
};

// p[0] = dx, p[1] = dy, p[2] = self
struct LeakyReluBackward {
  double slope;
  template <typename T>
  __device__ void operator()(T* const* p) const {
    *p[0] = act::leaky_relu_grad(*p[1], *p[2], static_cast<T>(slope));
  }
};

}  // namespace

void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,
                        const CudaContext& ctx) {
  unary("kn_leaky_relu_forward", x, y, ctx, LeakyReluForward{negative_slope});
}
void leaky_relu_backward(double negative_slope, const kn_tensor& dy, const kn_tensor& self,
                         const kn_tensor& dx, const CudaContext& ctx) {
  binary("kn_leaky_relu_backward", dy, self, dx, ctx, LeakyReluBackward{negative_slope});
}

}  // namespace kn::cuda
