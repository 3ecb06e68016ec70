// Group normalisation on the CPU (maths in capi/include/kernels/group_norm.h).
//
// x:(N, C, *) is read as rows (n, g) of C/G channels x S spatial positions
// (kernels/internal/norm_rows.hpp: split_groups). Rows are split across
// threads, each computed by one thread; a row that is not contiguous is
// gathered into a per-thread buffer (and its output scattered back), so the
// vectorised row functions (KN_SIMD_CLONES) see contiguous channels of S
// elements. Statistics in double, one pass over the cached row
// (kernels/internal/moments.hpp).
//
// Backward: per row, per channel, sum(dy) and sum(dy (x - mean)) in double;
// they give dx and the (n, c) terms of dweight and dbias, which are then
// added over n in order: bitwise the same for any thread count.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <algorithm>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/moments.hpp"
#include "kernels/internal/norm_rows.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/group_norm.hpp"

namespace kn::cpu {
namespace {

// One group: cg channels of s elements at x (contiguous); w, b: the group's cg
// affine parameters (each or null).
template <typename T>
KN_SIMD_CLONES void forward_row(int64_t cg, int64_t s, const T* __restrict__ x, const T* __restrict__ w,
                                const T* __restrict__ b, T* __restrict__ y, double eps, T* mean_out,
                                T* rstd_out) {
  const Moments mo = row_moments(cg * s, x, eps);
  *mean_out = T(mo.mean);
  *rstd_out = T(mo.rstd);
  const T m = T(mo.mean), r = T(mo.rstd);
  for (int64_t c = 0; c < cg; ++c) {
    const T scale = w ? r * w[c] : r, shift = b ? b[c] : T(0);
    const T* xc = x + c * s;
    T* yc = y + c * s;
    for (int64_t i = 0; i < s; ++i) yc[i] = (xc[i] - m) * scale + shift;
  }
}

// dx of one group (dx may be null), and per channel rstd sum(dy (x - mean)) and
// sum(dy) into pw[c], pb[c].
template <typename T>
KN_SIMD_CLONES void backward_row(int64_t cg, int64_t s, const T* __restrict__ dy,
                                 const T* __restrict__ x, const T* __restrict__ w, T mean_t, T rstd_t,
                                 T* __restrict__ dx, double* __restrict__ pw, double* __restrict__ pb) {
  const double rs = double(rstd_t);
  double s_g = 0, s_gd = 0;
  for (int64_t c = 0; c < cg; ++c) {
    double a, b;
    row_grad_sums<T>(s, dy + c * s, nullptr, x + c * s, mean_t, a, b);
    pw[c] = s > 0 ? rs * b : 0.0;  // an empty group: rstd is NaN, the sum 0
    pb[c] = a;
    const double wc = w ? double(w[c]) : 1.0;
    s_g += wc * a;
    s_gd += wc * b;
  }
  if (!dx) return;
  const GradCoefficients k = grad_coefficients(cg * s, rs, s_g, s_gd);
  const T c2 = T(k.c2), c3 = T(k.c3), mt = mean_t;
  for (int64_t c = 0; c < cg; ++c) {
    const T a = w ? rstd_t * w[c] : rstd_t;
    const T* dyc = dy + c * s;
    const T* xc = x + c * s;
    T* dxc = dx + c * s;
    for (int64_t i = 0; i < s; ++i) dxc[i] = a * dyc[i] + c2 * (xc[i] - mt) + c3;
  }
}

}  // namespace

void group_norm_forward(const kn_group_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
                        const kn_tensor* bias, const kn_tensor& y, const kn_tensor& mean,
                        const kn_tensor& rstd, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_group_norm_forward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t G = p.num_groups;
    const NormSplit sx = split_groups(x, G), sy = split_groups(y, G);
    const int64_t R = sx.rows, M = sx.row_len, cg = x.shape[1] / G, S = cg ? M / cg : 0;
    if (R == 0) return;
    std::vector<T> wbuf, bbuf;
    const T* w = param_row<T>(weight, wbuf);
    const T* b = param_row<T>(bias, bbuf);
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, M));
    parallel_for(R, grain, ctx.num_threads, [&](int64_t r0, int64_t r1) {
      RowIO<T> xio(&x, sx), yio(&y, sy);
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t g = r % G;
        forward_row<T>(cg, S, xio.in(r), w ? w + g * cg : nullptr, b ? b + g * cg : nullptr,
                       yio.out(r), p.eps, row_elem<T>(mean, r), row_elem<T>(rstd, r));
        yio.flush(r);
      }
    });
  });
}

void group_norm_backward(const kn_group_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
                         const kn_tensor* weight, const kn_tensor& mean, const kn_tensor& rstd,
                         const kn_tensor* dx, const kn_tensor* dweight, const kn_tensor* dbias,
                         const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_group_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    if (!dx && !dweight && !dbias) return;
    const int64_t G = p.num_groups, N = x.shape[0], C = x.shape[1];
    const NormSplit sx = split_groups(x, G), sdy = split_groups(dy, G);
    NormSplit sdx{};
    if (dx) sdx = split_groups(*dx, G);
    const int64_t R = sx.rows, M = sx.row_len, cg = C / G, S = cg ? M / cg : 0;
    std::vector<T> wbuf;
    const T* w = param_row<T>(weight, wbuf);
    std::vector<double> pw(size_t(N * C)), pb(size_t(N * C));  // (n, c) terms
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, M));
    parallel_for(R, grain, ctx.num_threads, [&](int64_t r0, int64_t r1) {
      RowIO<T> xio(&x, sx), dyio(&dy, sdy), dxio(dx, sdx);
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t g = r % G;
        const T* xr = xio.in(r);
        const T* dyr = dyio.in(r);
        backward_row<T>(cg, S, dyr, xr, w ? w + g * cg : nullptr, *row_elem<T>(mean, r),
                        *row_elem<T>(rstd, r), dxio.out(r), pw.data() + r * cg, pb.data() + r * cg);
        dxio.flush(r);
      }
    });
    auto finish = [&](const kn_tensor* out, const std::vector<double>& part) {
      if (!out || C == 0) return;
      std::vector<T> total(static_cast<size_t>(C));
      for (int64_t c = 0; c < C; ++c) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) s += part[size_t(n * C + c)];
        total[c] = T(s);
      }
      scatter_row(*out, static_cast<T*>(out->data), total.data());
    };
    finish(dweight, pw);
    finish(dbias, pb);
  });
}

}  // namespace kn::cpu
