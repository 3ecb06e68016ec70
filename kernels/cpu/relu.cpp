// ReLU on the CPU.
//   forward:  y = max(x, 0)           x, y: any shape (same), any strides
//   backward: dx = dy * (x > 0)       dy, x, dx: same shape
// NaN propagates forward (x < 0 is false for NaN), like torch.relu.
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/stream_store.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/ops/relu.hpp"

namespace kn::cpu {

template <typename T>
static inline T relu(T x) { return x < T(0) ? T(0) : x; }

template <typename T>
static inline T relu_grad(T dy, T x) { return x > T(0) ? dy : T(0); }

void relu_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_relu_forward", [&](auto tag) {
    using T = decltype(tag);
    // Operand 0 is the output: its memory order drives the iteration order.
    // Large outputs: streaming stores (kernels/internal/stream_store.hpp).
    const bool stream = stream_output(y.data, numel(y) * int64_t(sizeof(T)));
    parallel_rows<T, 2>({&y, &x}, ctx.num_threads, [stream](int64_t n, const auto& p, const auto& s) {
      T* out = p[0];
      const T* in = p[1];
      if (all_unit(s)) {
        streamed_row(n, out, stream, [in](int64_t i0, int64_t m, T* dst) {
          const T* src = in + i0;
          for (int64_t i = 0; i < m; ++i) dst[i] = relu(src[i]);
        });
      } else {
        for (int64_t i = 0; i < n; ++i) out[i * s[0]] = relu(in[i * s[1]]);
      }
    });
  });
}

void relu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,
                   const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_relu_backward", [&](auto tag) {
    using T = decltype(tag);
    // Plain stores: streaming measured slower here (two input streams).
    parallel_rows<T, 3>({&dx, &dy, &x}, ctx.num_threads,
                        [](int64_t n, const auto& p, const auto& s) {
                          T* out = p[0];
                          const T* g = p[1];
                          const T* in = p[2];
                          if (all_unit(s)) {
                            for (int64_t i = 0; i < n; ++i) out[i] = relu_grad(g[i], in[i]);
                          } else {
                            for (int64_t i = 0; i < n; ++i)
                              out[i * s[0]] = relu_grad(g[i * s[1]], in[i * s[2]]);
                          }
                        });
  });
}

}  // namespace kn::cpu
