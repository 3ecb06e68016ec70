// GELU on CUDA: element-wise functors over any strides
// (CudaCall::elementwise), the formulas of kernels/formulas/gelu.hpp (shared
// with the CPU kernels; float math for float). x, y, dy, dx: one shape; y
// may be x and dx may be dy (in place): every element is read and written by
// the same thread.
//
//   gelu        none: y = x Phi(x); tanh: y = x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
#include "kernels/cuda/elementwise.cuh"
#include "kernels/formulas/gelu.hpp"
#include "kernels/ops/gelu.hpp"

namespace kn::cuda {
namespace {

// p[0] = y, p[1] = x
struct GeluErfForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_erf(*p[1]); }
};
struct GeluTanhForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_tanh(*p[1]); }
};

// p[0] = dx, p[1] = dy, p[2] = x
struct GeluErfBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_erf_grad(*p[1], *p[2]); }
};
struct GeluTanhBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_tanh_grad(*p[1], *p[2]); }
};

}  // namespace

void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x, const kn_tensor& y,
                  const CudaContext& ctx) {
  if (approximate == KN_GELU_TANH)
    unary("kn_gelu_forward", x, y, ctx, GeluTanhForward{});
  else
    unary("kn_gelu_forward", x, y, ctx, GeluErfForward{});
}
void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy, const kn_tensor& x,
                   const kn_tensor& dx, const CudaContext& ctx) {
  if (approximate == KN_GELU_TANH)
    binary("kn_gelu_backward", dy, x, dx, ctx, GeluTanhBackward{});
  else
    binary("kn_gelu_backward", dy, x, dx, ctx, GeluErfBackward{});
}

}  // namespace kn::cuda
