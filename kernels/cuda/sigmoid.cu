// Sigmoid on CUDA: an element-wise functor over any strides
// (CudaCall::elementwise), the formulas of kernels/formulas/sigmoid.hpp
// (shared with the CPU kernels; float math for float). x, y, dy, dx: one
// shape; y may be x and dx may be dy (in place): every element is read and
// written by the same thread.
//
//   sigmoid     y = 1 / (1 + exp(-x))          dx = dy (1 - y) y       (from y)
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/sigmoid.hpp"
#include "kernels/ops/sigmoid.hpp"

namespace kn::cuda {
namespace {

// p[0] = y, p[1] = x
struct SigmoidForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::sigmoid(*p[1]); }
};

// p[0] = dx, p[1] = dy, p[2] = y
struct SigmoidBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::sigmoid_grad(*p[1], *p[2]); }
};

}  // namespace

void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  unary("kn_sigmoid_forward", x, y, ctx, SigmoidForward{});
}
void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                      const CudaContext& ctx) {
  binary("kn_sigmoid_backward", dy, y, dx, ctx, SigmoidBackward{});
}

}  // namespace kn::cuda
