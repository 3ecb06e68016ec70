// ReLU on CUDA.
//   forward:  y = x < 0 ? 0 : x        x, y: any shape (same), any strides
//   backward: dx = x > 0 ? dy : 0      dy, x, dx: same shape, any strides
// NaN propagates forward (NaN < 0 is false), like torch.relu and the CPU
// kernel. y may be x itself and dx may be dy itself (in-place): every element
// is read and written by the same thread.
#include "kernels/cuda/common.cuh"
#include "kernels/ops/relu.hpp"

namespace kn::cuda {
namespace {

// p[0] = y, p[1] = x
struct ReluForward {
  template <typename T>
  __device__ void operator()(T* const* p) const {
    const T x = *p[1];
    *p[0] = x < T(0) ? T(0) : x;
  }
};

// p[0] = dx, p[1] = dy, p[2] = x
struct ReluBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const {
    *p[0] = *p[2] > T(0) ? *p[1] : T(0);
  }
};

}  // namespace

void relu_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  CudaCall call("kn_relu_forward", x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 2>({&y, &x}, ReluForward{});
  });
}

void relu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                   const CudaContext& ctx) {
  CudaCall call("kn_relu_backward", x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 3>({&dx, &dy, &x}, ReluBackward{});
  });
}

}  // namespace kn::cuda
