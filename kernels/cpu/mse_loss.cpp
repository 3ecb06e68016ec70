// Mean squared error on the CPU.
//   forward:  l = (input - target)^2; out = l (NONE), sum(l) (SUM), sum(l)/numel (MEAN)
//             input, target: same shape, any strides; out: input's shape or 0-d
//   backward: dinput = 2 (input - target) dout [/ numel for MEAN]; dtarget = -dinput
//             dout: out's shape (0-d for MEAN/SUM, broadcast over input's shape)
// Reductions accumulate in double, in a fixed order for any thread count.
#include <array>
#include <limits>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/stream_store.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/ops/mse_loss.hpp"

namespace kn::cpu {

void mse_loss_forward(kn_reduction reduction, const kn_tensor& input, const kn_tensor& target,
                      const kn_tensor& out, const CpuContext& ctx) {
  dispatch_float(input.dtype, "kn_mse_loss_forward", [&](auto tag) {
    using T = decltype(tag);
    if (reduction == KN_REDUCTION_NONE) {
      parallel_rows<T, 3>({&out, &input, &target}, ctx.num_threads,
                          [](int64_t n, const auto& p, const auto& s) {
                            T* l = p[0];
                            const T* x = p[1];
                            const T* t = p[2];
                            if (all_unit(s)) {
                              for (int64_t i = 0; i < n; ++i) l[i] = (x[i] - t[i]) * (x[i] - t[i]);
                            } else {
                              for (int64_t i = 0; i < n; ++i) {
                                const T d = x[i * s[1]] - t[i * s[2]];
                                l[i * s[0]] = d * d;
                              }
                            }
                          });
      return;
    }
    using Acc = acc_t<T>;
    const Acc sum = parallel_rows_sum<T, Acc, 2>(
        {&input, &target}, ctx.num_threads, [](int64_t n, const auto& p, const auto& s) {
          const T* x = p[0];
          const T* t = p[1];
          Acc acc(0);
          if (all_unit(s)) {
            // kLanes independent partial sums: one accumulator serialises the
            // loop on add latency (and FP addition may not be reordered by the
            // compiler). The order is fixed, so results stay deterministic.
            constexpr int64_t kLanes = 16;
            Acc lanes[kLanes] = {};
            int64_t i = 0;
            for (; i + kLanes <= n; i += kLanes)
              for (int64_t l = 0; l < kLanes; ++l) {
                const Acc d = Acc(x[i + l]) - Acc(t[i + l]);
                lanes[l] += d * d;
              }
            for (int64_t l = 0; l < kLanes; ++l) acc += lanes[l];
            for (; i < n; ++i) {
              const Acc d = Acc(x[i]) - Acc(t[i]);
              acc += d * d;
            }
          } else {
            for (int64_t i = 0; i < n; ++i) {
              const Acc d = Acc(x[i * s[0]]) - Acc(t[i * s[1]]);
              acc += d * d;
            }
          }
          return acc;
        });
    const int64_t count = numel(input);
    Acc result = sum;
    if (reduction == KN_REDUCTION_MEAN)
      result = count == 0 ? std::numeric_limits<Acc>::quiet_NaN() : sum / Acc(count);
    *data_as<T>(out) = T(result);
  });
}

void mse_loss_backward(kn_reduction reduction, const kn_tensor& dout, const kn_tensor& input,
                       const kn_tensor& target, const kn_tensor* dinput, const kn_tensor* dtarget,
                       const CpuContext& ctx) {
  if (!dinput && !dtarget) return;
  dispatch_float(input.dtype, "kn_mse_loss_backward", [&](auto tag) {
    using T = decltype(tag);
    // A reduced dout is a scalar: view it as input-shaped with stride 0 so
    // one element-wise loop serves every reduction.
    const kn_tensor g = reduction == KN_REDUCTION_NONE ? dout : broadcast_scalar(dout, input);
    const int64_t count = numel(input);
    const T scale = reduction == KN_REDUCTION_MEAN && count > 0 ? T(2) / T(count) : T(2);
    if (dinput && dtarget) {
      parallel_rows<T, 5>({dinput, dtarget, &g, &input, &target}, ctx.num_threads,
                          [scale](int64_t n, const auto& p, const auto& s) {
                            for (int64_t i = 0; i < n; ++i) {
                              const T d =
                                  scale * (p[3][i * s[3]] - p[4][i * s[4]]) * p[2][i * s[2]];
                              p[0][i * s[0]] = d;
                              p[1][i * s[1]] = -d;
                            }
                          });
      return;
    }
    // One gradient: dinput = +scale (x - t) g, or dtarget = -scale (x - t) g.
    const kn_tensor& grad = dinput ? *dinput : *dtarget;
    const T signed_scale = dinput ? scale : -scale;
    // Large outputs: streaming stores (kernels/internal/stream_store.hpp;
    // measured 16.5 -> 21 GB/s at 16M, 2 threads, mean reduction).
    const bool stream = stream_output(grad.data, numel(grad) * int64_t(sizeof(T)));
    parallel_rows<T, 4>({&grad, &g, &input, &target}, ctx.num_threads,
                        [signed_scale, stream](int64_t n, const auto& p, const auto& s) {
                          T* out = p[0];
                          const T *dy = p[1], *x = p[2], *t = p[3];
                          if (all_unit(s)) {
                            streamed_row(n, out, stream, [=](int64_t i0, int64_t m, T* dst) {
                              for (int64_t i = i0; i < i0 + m; ++i)
                                dst[i - i0] = signed_scale * (x[i] - t[i]) * dy[i];
                            });
                          } else if (s[0] == 1 && s[1] == 0 && s[2] == 1 && s[3] == 1) {
                            // MEAN/SUM: dout is a broadcast scalar (same expression).
                            const T d0 = *dy;
                            streamed_row(n, out, stream, [=](int64_t i0, int64_t m, T* dst) {
                              for (int64_t i = i0; i < i0 + m; ++i)
                                dst[i - i0] = signed_scale * (x[i] - t[i]) * d0;
                            });
                          } else {
                            for (int64_t i = 0; i < n; ++i)
                              out[i * s[0]] = signed_scale * (x[i * s[2]] - t[i * s[3]]) * dy[i * s[1]];
                          }
                        });
  });
}

}  // namespace kn::cpu
