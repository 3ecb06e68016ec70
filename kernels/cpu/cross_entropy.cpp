// Cross-entropy of logits with class-index targets on the CPU: log_softmax
// fused into nll_loss, with torch's label smoothing e in [0, 1].
//   input (N, C, d1..dk) | (C,)   target (N, d1..dk) | ()   weight (C,)? (else 1)
//   forward, per row r (t = t_r, x = input[r, :]):
//     lse_r  = m + log sum_c exp(x_c - m), m = max_c x_c
//     loss_r = (1 - e) w[t] (lse_r - x_t) + (e / C) sum_c w[c] (lse_r - x_c)
//              (0 and weight 0 where t == ignore_index)
//     out = loss (NONE) | sum loss (SUM) | sum loss / total_weight (MEAN)
//     total_weight = sum over non-ignored rows of w[t]  (torch's normaliser for
//     both the nll and the smoothing term)
//   backward, s_c = exp(x_c - lse_r) (lse_r recomputed from input), W = sum_c w[c]:
//     dinput[r, c] = g_r ((1 - e) w[t] (s_c - [c == t]) + (e / C)(W s_c - w[c]))
//     (0 in ignored rows); g_r = dout[r] | dout | dout / total_weight
// No (N, C) log-probability buffer and no saved lse: backward recomputes each
// row's max and log-sum-exp (a float lse loses ulp(lse) ~ 1e-3 at logits 1e4).
// Targets are range-checked before anything is written. Row sums in double.
// Lets GCC if-convert fast_expf's clamps and vectorise the exp loops (FP
// exceptions are never enabled or inspected by libkernels).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif
#include <array>
#include <cmath>

#include "kernels/cpu/class_loss.hpp"
#include "kernels/cpu/softmax_row.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/ops/cross_entropy.hpp"

namespace kn::cpu {
namespace {

// The row loops, compiled as AVX-512/AVX2/baseline clones (KN_SIMD_CLONES).
// Each row is computed by one thread: results do not depend on the thread count.

// sum_c exp(x_c - m) with m = max_c x_c (stored in *m).
template <typename T>
KN_SIMD_CLONES double row_max_sum_exp(int64_t n, const T* x, int64_t sx, T* m) {
  *m = row_max<T>(n, x, sx);
  return row_sum_exp<T>(n, x, sx, *m, nullptr, 0);
}

// Unit strides: as row_max_sum_exp, and the exponentials exp(x_c - m) stored in e.
template <typename T>
KN_SIMD_CLONES double row_max_sum_exp_store(int64_t n, const T* x, T* e, T* m) {
  *m = row_max<T>(n, x, 1);
  return row_sum_exp<T>(n, x, 1, *m, e, 1);
}

// dx_c = A dx_c - B w_c (w_c = 1 without weights), dx holding exp(x_c - m); unit strides.
template <typename T>
KN_SIMD_CLONES void row_scale_exp(int64_t n, T A, T B, const T* w, T* dx) {
  if (w) {
    for (int64_t c = 0; c < n; ++c) dx[c] = A * dx[c] - B * w[c];
  } else {
    for (int64_t c = 0; c < n; ++c) dx[c] = A * dx[c] - B;
  }
}

}  // namespace

void cross_entropy_forward(const kn_cross_entropy_params& p, const kn_tensor& input,
                           const kn_tensor& target, const kn_tensor* weight, const kn_tensor& out,
                           const kn_tensor& total_weight, const CpuContext& ctx) {
  const char* op = "kn_cross_entropy_forward";
  dispatch_float(input.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(target.dtype, op, [&](auto itag) {
      using I = decltype(itag);
      const int cd = class_dim(input);
      const int64_t classes = input.shape[cd], cs = input.strides[cd];
      check_targets<I>(op, target, classes, p.ignore_index);
      const bool none = p.reduction == KN_REDUCTION_NONE;
      const T* w = weight ? static_cast<const T*>(weight->data) : nullptr;
      const int64_t ws = weight ? weight->strides[0] : 0;
      const int64_t ignore = p.ignore_index;
      const double eps = p.label_smoothing;
      const double smooth = classes > 0 ? eps / double(classes) : 0.0;
      const kn_tensor& o = none ? out : target;
      const LossSum sum = sum_rows<3>(
          {byte_row_view(target, -1), byte_row_view(input, cd), byte_row_view(o, -1)},
          {target.data, input.data, o.data}, classes, ctx.num_threads,
          [&](const std::array<char*, 3>& r) {
            const T* x = reinterpret_cast<const T*>(r[1]);
            T m;
            const double l = std::log(row_max_sum_exp<T>(classes, x, cs, &m)) + double(m);
            const int64_t t = static_cast<int64_t>(*reinterpret_cast<const I*>(r[0]));
            LossSum s;
            if (t != ignore) {
              const double wt = w ? double(w[t * ws]) : 1.0;
              double loss = (1.0 - eps) * wt * (l - double(x[t * cs]));
              if (eps > 0) {
                double acc = 0;
                for (int64_t c = 0; c < classes; ++c)
                  acc += (w ? double(w[c * ws]) : 1.0) * (l - double(x[c * cs]));
                loss += smooth * acc;
              }
              s = LossSum(loss, wt);
            }
            if (none) *reinterpret_cast<T*>(r[2]) = T(s.loss);
            return s;
          });
      if (!none) *static_cast<T*>(out.data) = T(reduce_loss(p.reduction, sum));
      *static_cast<T*>(total_weight.data) = T(sum.weight);
    });
  });
}

void cross_entropy_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,
                            const kn_tensor& input, const kn_tensor& target,
                            const kn_tensor* weight, const kn_tensor& total_weight,
                            const kn_tensor& dinput,
                            const CpuContext& ctx) {
  const char* op = "kn_cross_entropy_backward";
  dispatch_float(input.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(target.dtype, op, [&](auto itag) {
      using I = decltype(itag);
      const int cd = class_dim(input);
      const int64_t classes = input.shape[cd], cs = input.strides[cd], ds = dinput.strides[cd];
      check_targets<I>(op, target, classes, p.ignore_index);
      if (numel(dinput) == 0) return;
      const bool none = p.reduction == KN_REDUCTION_NONE;
      const double g0 = none ? 0.0 : reduced_grad<T>(p.reduction, dout, total_weight);
      const T* w = weight ? static_cast<const T*>(weight->data) : nullptr;
      const int64_t ws = weight ? weight->strides[0] : 0;
      double wsum = double(classes);
      if (w) {
        wsum = 0;
        for (int64_t c = 0; c < classes; ++c) wsum += double(w[c * ws]);
      }
      const int64_t ignore = p.ignore_index;
      const double eps = p.label_smoothing, smooth = eps / double(classes);
      const kn_tensor& g = none ? dout : target;
      parallel_dim_rows<4>(
          {byte_row_view(dinput, cd), byte_row_view(input, cd), byte_row_view(target, -1),
           byte_row_view(g, -1)},
          {dinput.data, input.data, target.data, g.data}, classes, ctx.num_threads,
          [&](const std::array<char*, 4>& r) {
            T* dx = reinterpret_cast<T*>(r[0]);
            const T* x = reinterpret_cast<const T*>(r[1]);
            const int64_t t = static_cast<int64_t>(*reinterpret_cast<const I*>(r[2]));
            if (t == ignore) {
              for (int64_t c = 0; c < classes; ++c) dx[c * ds] = T(0);
              return;
            }
            // s_c = exp(x_c - m) / sum: x_c - m is exact-ish in T, 1/sum in [1/C, 1].
            // Unit strides: the exponentials are kept in dx (one exp per element).
            const bool unit = cs == 1 && ds == 1 && (!w || ws == 1);
            T m;
            const T inv = T(1.0 / (unit ? row_max_sum_exp_store<T>(classes, x, dx, &m)
                                        : row_max_sum_exp<T>(classes, x, cs, &m)));
            const double gr = none ? double(*reinterpret_cast<const T*>(r[3])) : g0;
            const double a = gr * (1.0 - eps) * (w ? double(w[t * ws]) : 1.0);
            // dx_c = A s_c - B w_c, then dx_t -= a.
            const T A = T((a + gr * smooth * wsum) * double(inv)), B = T(gr * smooth);
            if (unit) {
              row_scale_exp<T>(classes, A, B, w, dx);
            } else {
              for (int64_t c = 0; c < classes; ++c)
                dx[c * ds] = A * exp_of<T>(x[c * cs] - m) - B * (w ? w[c * ws] : T(1));
            }
            dx[t * ds] = T(double(dx[t * ds]) - a);
          });
    });
  });
}

}  // namespace kn::cpu
