// ReLU on the CPU.
//   forward:  y = max(x, 0)           x, y: any shape (same), any strides
//   backward: dx = dy * (x > 0)       dy, x, dx: same shape
// NaN propagates forward (x < 0 is false for NaN), like torch.relu.
//
// On the element-wise loops of kernels/internal/elementwise.hpp (AVX-512 / AVX2 /
// baseline clones): a loop of its own here was compiled for baseline x86-64
// only, 4 floats a vector, which showed where the data is in cache (the LeNet
// layer, 64x6x28x28 float32, 2 threads, Intel Xeon model 167: forward 1.37x
// torch's time).
#include "kernels/internal/elementwise.hpp"  // first: its FP options cover the formulas

#include "kernels/ops/relu.hpp"

namespace kn::cpu {

template <typename T>
static inline T relu(T x) { return x < T(0) ? T(0) : x; }

template <typename T>
static inline T relu_grad(T dy, T x) { return x > T(0) ? dy : T(0); }

void relu_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_relu_forward", [&](auto tag) {
    using T = decltype(tag);
    // Large outputs whose pages are resident: streaming stores.
    unary<T>(x, y, ctx.num_threads, Work::kLightStreamed, [](T v) { return relu(v); });
  });
}

void relu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                   const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_relu_backward", [&](auto tag) {
    using T = decltype(tag);
    // Plain stores: streaming measured slower here (two input streams).
    binary<T>(dy, x, dx, ctx.num_threads, Work::kLight, [](T g, T v) { return relu_grad(g, v); });
  });
}

}  // namespace kn::cpu
