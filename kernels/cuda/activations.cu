// Sigmoid, tanh, leaky ReLU and GELU on CUDA: element-wise functors over any
// strides (CudaCall::elementwise), the formulas of
// kernels/cpu/activation_math.hpp (shared with the CPU kernels; float math
// for float). x, y, dy, dx: one shape; y may be x and dx may be dy (in
// place): every element is read and written by the same thread.
//
//   sigmoid     y = 1 / (1 + exp(-x))          dx = dy (1 - y) y       (from y)
//   tanh        y = tanh(x)                    dx = dy (1 - y^2)       (from y)
//   leaky_relu  y = x > 0 ? x : s x            dx = self > 0 ? dy : s dy
//   gelu        none: y = x Phi(x); tanh: y = x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
#include "kernels/cpu/activation_math.hpp"
#include "kernels/cuda/common.cuh"
#include "kernels/ops/activations.hpp"

namespace kn::cuda {
namespace {

// p[0] = y, p[1] = x
struct SigmoidForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::sigmoid(*p[1]); }
};
struct TanhForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = tanh(*p[1]); }
};
struct LeakyReluForward {
  double slope;
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::leaky_relu(*p[1], static_cast<T>(slope)); }
};
struct GeluErfForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_erf(*p[1]); }
};
struct GeluTanhForward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_tanh(*p[1]); }
};

// p[0] = dx, p[1] = dy, p[2] = y (sigmoid, tanh), self (leaky_relu) or x (gelu)
struct SigmoidBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::sigmoid_grad(*p[1], *p[2]); }
};
struct TanhBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::tanh_grad(*p[1], *p[2]); }
};
struct LeakyReluBackward {
  double slope;
  template <typename T>
  __device__ void operator()(T* const* p) const {
    *p[0] = act::leaky_relu_grad(*p[1], *p[2], static_cast<T>(slope));
  }
};
struct GeluErfBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_erf_grad(*p[1], *p[2]); }
};
struct GeluTanhBackward {
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = act::gelu_tanh_grad(*p[1], *p[2]); }
};

template <typename F>
void forward(const char* op, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx, F f) {
  CudaCall call(op, x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 2>({&y, &x}, f);
  });
}

template <typename F>
void backward(const char* op, const kn_tensor& dy, const kn_tensor& a, const kn_tensor& dx,
              const CudaContext& ctx, F f) {
  CudaCall call(op, a, ctx);
  dispatch_float(a.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 3>({&dx, &dy, &a}, f);
  });
}

}  // namespace

void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  forward("kn_sigmoid_forward", x, y, ctx, SigmoidForward{});
}
void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                      const CudaContext& ctx) {
  backward("kn_sigmoid_backward", dy, y, dx, ctx, SigmoidBackward{});
}
void tanh_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  forward("kn_tanh_forward", x, y, ctx, TanhForward{});
}
void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,
                   const CudaContext& ctx) {
  backward("kn_tanh_backward", dy, y, dx, ctx, TanhBackward{});
}
void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,
                        const CudaContext& ctx) {
  forward("kn_leaky_relu_forward", x, y, ctx, LeakyReluForward{negative_slope});
}
void leaky_relu_backward(double negative_slope, const kn_tensor& dy, const kn_tensor& self,
                         const kn_tensor& dx, const CudaContext& ctx) {
  backward("kn_leaky_relu_backward", dy, self, dx, ctx, LeakyReluBackward{negative_slope});
}
void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x, const kn_tensor& y,
                  const CudaContext& ctx) {
  if (approximate == KN_GELU_TANH)
    forward("kn_gelu_forward", x, y, ctx, GeluTanhForward{});
  else
    forward("kn_gelu_forward", x, y, ctx, GeluErfForward{});
}
void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy, const kn_tensor& x,
                   const kn_tensor& dx, const CudaContext& ctx) {
  if (approximate == KN_GELU_TANH)
    backward("kn_gelu_backward", dy, x, dx, ctx, GeluTanhBackward{});
  else
    backward("kn_gelu_backward", dy, x, dx, ctx, GeluErfBackward{});
}

}  // namespace kn::cuda
