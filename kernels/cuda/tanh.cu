// Tanh on CUDA: an element-wise functor over any strides
// (CudaCall::elementwise), the formulas of kernels/formulas/tanh.hpp (shared
// with the CPU kernels; float math for float). x, y, dy, dx: one shape; y
// may be x and dx may be dy (in place): every element is read and written by
// the same thread.
//
//   tanh        y = tanh(x)                    dx = dy (1 - y^2)       (from y)
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/tanh.hpp"
#include "kernels/ops/tanh.hpp"

namespace kn::cuda {
namespace {

// p[0] = y, p[1] = x
struct TanhForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = tanh(*p[1]); }
};

// p[0] = dx, p[1] = dy, p[2] = y
struct TanhBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::tanh_grad(*p[1], *p[2]); }
};

}  // namespace

void tanh_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  unary("kn_tanh_forward", x, y, ctx, TanhForward{});
}
void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                   const CudaContext& ctx) {
  binary("kn_tanh_backward", dy, y, dx, ctx, TanhBackward{});
}

}  // namespace kn::cuda
