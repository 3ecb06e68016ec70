// Negative log-likelihood loss on the CPU (class-index targets).
//   input (N, C, d1..dk) | (C,)   target (N, d1..dk) | ()   weight (C,)? (else 1)
//   forward:  loss_r = -w[t_r] * input[r, t_r], 0 where t_r == ignore_index
//             out = loss (NONE, target's shape) | sum loss (SUM) | sum loss / total_weight (MEAN)
//             total_weight = sum over non-ignored rows of w[t_r] (0-d, always written)
//   backward: dinput[r, c] = -w[c] g_r if c == t_r (not ignored), else 0;
//             g_r = dout[r] (NONE) | dout (SUM) | dout / total_weight (MEAN)
// Every target is range-checked before anything is written. Sums accumulate
// in double over fixed blocks of rows (deterministic for any thread count).
#include <algorithm>
#include <array>

#include "kernels/cpu/class_loss.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/ops/nll_loss.hpp"

namespace kn::cpu {

void nll_loss_forward(const kn_cross_entropy_params& p, const kn_tensor& input,
                      const kn_tensor& target, const kn_tensor* weight, const kn_tensor& out,
                      const kn_tensor& total_weight, const CpuContext& ctx) {
  const char* op = "kn_nll_loss_forward";
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
      // Operand 2 is out's rows for NONE; otherwise target again (unused).
      const kn_tensor& o = none ? out : target;
      const LossSum sum = sum_rows<3>(
          {byte_row_view(target, -1), byte_row_view(input, cd), byte_row_view(o, -1)},
          {target.data, input.data, o.data}, classes, ctx.num_threads,
          [&](const std::array<char*, 3>& r) {
            const int64_t t = static_cast<int64_t>(*reinterpret_cast<const I*>(r[0]));
            LossSum s;
            if (t != ignore) {
              const double wt = w ? double(w[t * ws]) : 1.0;
              s = LossSum(-wt * double(reinterpret_cast<const T*>(r[1])[t * cs]), wt);
            }
            if (none) *reinterpret_cast<T*>(r[2]) = T(s.loss);
            return s;
          });
      if (!none) *static_cast<T*>(out.data) = T(reduce_loss(p.reduction, sum));
      *static_cast<T*>(total_weight.data) = T(sum.weight);
    });
  });
}

void nll_loss_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,
                       const kn_tensor& target, const kn_tensor* weight,
                       const kn_tensor& total_weight, const kn_tensor& dinput,
                       const CpuContext& ctx) {
  const char* op = "kn_nll_loss_backward";
  dispatch_float(dinput.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(target.dtype, op, [&](auto itag) {
      using I = decltype(itag);
      const int cd = class_dim(dinput);
      const int64_t classes = dinput.shape[cd], cs = dinput.strides[cd];
      check_targets<I>(op, target, classes, p.ignore_index);
      if (numel(dinput) == 0) return;
      const bool none = p.reduction == KN_REDUCTION_NONE;
      const double g0 = none ? 0.0 : reduced_grad<T>(p.reduction, dout, total_weight);
      const T* w = weight ? static_cast<const T*>(weight->data) : nullptr;
      const int64_t ws = weight ? weight->strides[0] : 0;
      const int64_t ignore = p.ignore_index;
      const kn_tensor& g = none ? dout : target;
      parallel_dim_rows<3>(
          {byte_row_view(dinput, cd), byte_row_view(target, -1), byte_row_view(g, -1)},
          {dinput.data, target.data, g.data}, classes, ctx.num_threads,
          [&](const std::array<char*, 3>& r) {
            T* dx = reinterpret_cast<T*>(r[0]);
            // A unit-stride row is zeroed by std::fill (a vectorised memset; the loop
            // over a runtime stride stays scalar), the row being most of the work.
            if (cs == 1)
              std::fill(dx, dx + classes, T(0));
            else
              for (int64_t c = 0; c < classes; ++c) dx[c * cs] = T(0);
            const int64_t t = static_cast<int64_t>(*reinterpret_cast<const I*>(r[1]));
            if (t == ignore) return;
            const double gr = none ? double(*reinterpret_cast<const T*>(r[2])) : g0;
            dx[t * cs] = T(-(w ? double(w[t * ws]) : 1.0) * gr);
          });
    });
  });
}

}  // namespace kn::cpu
