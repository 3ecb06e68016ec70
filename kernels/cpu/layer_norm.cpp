// Layer normalisation on the CPU (maths in capi/include/kernels/layer_norm.h).
//
// One row = the last k dims of x (D elements), rows = the leading dims
// (kernels/internal/norm_rows.hpp). Rows are split across threads, each row
// computed by one thread: a row whose elements are contiguous is used in
// place, any other (transposed, sliced, reversed) is gathered into a
// per-thread buffer first and its output scattered back, so one vectorised
// row function (KN_SIMD_CLONES) serves every layout. Statistics in double,
// one pass over the cached row (kernels/internal/moments.hpp).
//
// Backward: dx row by row (sums in double, then dx = rstd g + c2 (x - mean)
// + c3 in T). dweight and dbias are column sums over the rows: the rows are
// cut into a fixed number of chunks that depends only on the shape (at most
// 256, and at most 4 MB of double partials), each chunk sums its rows in T over
// blocks of 32 rows flushed into double, and the chunks' partials are added in
// chunk order: bitwise the same for any thread count. The partials live in a
// buffer each calling thread keeps between calls (up to 4 MB per thread).
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
#include "kernels/ops/layer_norm.hpp"

namespace kn::cpu {
namespace {

template <typename T>
KN_SIMD_CLONES void forward_row(int64_t n, const T* __restrict__ x, const T* __restrict__ w,
                                const T* __restrict__ b, T* __restrict__ y, double eps, T* mean_out,
                                T* rstd_out) {
  const Moments mo = row_moments(n, x, eps);
  *mean_out = T(mo.mean);
  *rstd_out = T(mo.rstd);
  const T m = T(mo.mean), r = T(mo.rstd);
  if (w && b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * r * w[i] + b[i];
  } else if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * r * w[i];
  } else if (b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * r + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * r;
  }
}

// dx of one row (dx != nullptr), and dy xhat, dy added into acc_w, acc_b (each or null).
// No pointer aliases another (outputs never overlap inputs: capi validates it; the
// accumulators are the thread's own): __restrict__ lets GCC vectorise the fused loop.
template <typename T>
KN_SIMD_CLONES void backward_row(int64_t n, const T* __restrict__ dy, const T* __restrict__ x,
                                 const T* __restrict__ w, T mean_t, T rstd_t, T* __restrict__ dx,
                                 T* __restrict__ acc_w, T* __restrict__ acc_b) {
  const T m = mean_t, r = rstd_t;
  if (dx) {
    double s_g, s_gd;
    row_grad_sums(n, dy, w, x, mean_t, s_g, s_gd);
    const GradCoefficients c = grad_coefficients(n, double(rstd_t), s_g, s_gd);
    const T c2 = T(c.c2), c3 = T(c.c3);
    if (acc_w && acc_b) {  // the usual case: one pass for dx and both parameter sums
      if (w) {
        for (int64_t i = 0; i < n; ++i) {
          const T g = dy[i], d = x[i] - m;
          dx[i] = r * (w[i] * g) + c2 * d + c3;
          acc_w[i] += g * (d * r);
          acc_b[i] += g;
        }
      } else {
        for (int64_t i = 0; i < n; ++i) {
          const T g = dy[i], d = x[i] - m;
          dx[i] = r * g + c2 * d + c3;
          acc_w[i] += g * (d * r);
          acc_b[i] += g;
        }
      }
      return;
    }
    if (w) {
      for (int64_t i = 0; i < n; ++i) dx[i] = r * (w[i] * dy[i]) + c2 * (x[i] - m) + c3;
    } else {
      for (int64_t i = 0; i < n; ++i) dx[i] = r * dy[i] + c2 * (x[i] - m) + c3;
    }
  }
  if (acc_w)
    for (int64_t i = 0; i < n; ++i) acc_w[i] += dy[i] * ((x[i] - m) * r);
  if (acc_b)
    for (int64_t i = 0; i < n; ++i) acc_b[i] += dy[i];
}

constexpr int64_t kMaxChunks = 256;   // dweight/dbias partials: at most this many row chunks
constexpr int64_t kMaxPartBytes = int64_t(4) << 20;  // and at most this many bytes of them
constexpr int64_t kMinChunkRows = 32;
constexpr int64_t kFlushRows = 32;    // rows summed in T before adding into double

}  // namespace

void layer_norm_forward(const kn_layer_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
                        const kn_tensor* bias, const kn_tensor& y, const kn_tensor& mean,
                        const kn_tensor& rstd, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_layer_norm_forward", [&](auto tag) {
    using T = decltype(tag);
    const NormSplit sx = split_trailing(x, p.normalized_ndim), sy = split_trailing(y, p.normalized_ndim);
    const int64_t R = sx.rows, D = sx.row_len;
    if (R == 0) return;
    std::vector<T> wbuf, bbuf;
    const T* w = param_row<T>(weight, wbuf);
    const T* b = param_row<T>(bias, bbuf);
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, D));
    parallel_for(R, grain, ctx.num_threads, [&](int64_t r0, int64_t r1) {
      RowIO<T> xio(&x, sx), yio(&y, sy);
      for (int64_t r = r0; r < r1; ++r) {
        if (r + 1 < r1) xio.prefetch(r + 1);  // read twice, computed between (row_prefetch.hpp)
        forward_row<T>(D, xio.in(r), w, b, yio.out(r), p.eps, row_elem<T>(mean, r),
                       row_elem<T>(rstd, r));
        yio.flush(r);
      }
    });
  });
}

void layer_norm_backward(const kn_layer_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
                         const kn_tensor* weight, const kn_tensor& mean, const kn_tensor& rstd,
                         const kn_tensor* dx, const kn_tensor* dweight, const kn_tensor* dbias,
                         const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const int k = p.normalized_ndim;
    const NormSplit sx = split_trailing(x, k), sdy = split_trailing(dy, k);
    NormSplit sdx{};
    if (dx) sdx = split_trailing(*dx, k);
    const int64_t R = sx.rows, D = sx.row_len;
    const bool need_w = dweight != nullptr, need_b = dbias != nullptr;
    if (!dx && !need_w && !need_b) return;
    std::vector<T> wbuf;
    const T* w = dx ? param_row<T>(weight, wbuf) : nullptr;
    // Chunks of rows: a function of R and D only (never of the thread count or
    // of which outputs are asked for), at most kMaxPartBytes of partials.
    const int64_t by_bytes = std::max<int64_t>(1, kMaxPartBytes / (2 * std::max<int64_t>(1, D) * 8));
    const int64_t chunks =
        R == 0 ? 0 : std::min({kMaxChunks, by_bytes, (R + kMinChunkRows - 1) / kMinChunkRows});
    const int64_t chunk_rows = chunks == 0 ? 0 : (R + chunks - 1) / chunks;
    const int64_t num_chunks = chunks == 0 ? 0 : (R + chunk_rows - 1) / chunk_rows;
    const int per = int(need_w) + int(need_b);
    // The partials live in a buffer the calling thread keeps between calls: a
    // fresh multi-MB vector per call made glibc return and re-fault those pages
    // (and trim the heap under the caller's tensors) on every training step.
    // (Only up to kMaxPartBytes: a larger one, for rows of more than 256K
    // elements, is allocated per call and not kept.)
    static thread_local std::vector<double> part_cache;
    std::vector<double> part_once;
    const size_t part_size = size_t(num_chunks * per * D);
    std::vector<double>& part_buf = part_size * sizeof(double) <= size_t(kMaxPartBytes) ? part_cache : part_once;
    if (part_buf.size() < part_size) part_buf.resize(part_size);
    double* const parts_data = part_buf.data();  // each chunk's first flush assigns: no zero fill
    parallel_for(num_chunks, 1, ctx.num_threads, [&](int64_t c0, int64_t c1) {
      RowIO<T> xio(&x, sx), dyio(&dy, sdy), dxio(dx, sdx);
      std::vector<T> acc(size_t(per * D));
      T* acc_w = need_w ? acc.data() : nullptr;
      T* acc_b = need_b ? acc.data() + (need_w ? D : 0) : nullptr;
      for (int64_t c = c0; c < c1; ++c) {
        double* part = parts_data + c * per * D;
        const int64_t r_end = std::min(R, (c + 1) * chunk_rows);
        int64_t pending = 0;
        bool first_flush = true;
        for (int64_t r = c * chunk_rows; r < r_end; ++r) {
          const T* xr = xio.in(r);
          const T* dyr = dyio.in(r);
          backward_row<T>(D, dyr, xr, w, *row_elem<T>(mean, r), *row_elem<T>(rstd, r), dxio.out(r),
                          acc_w, acc_b);
          dxio.flush(r);
          if (per && (++pending == kFlushRows || r + 1 == r_end)) {
            if (first_flush) {
              for (int64_t i = 0; i < per * D; ++i) part[i] = double(acc[i]);
            } else {
              for (int64_t i = 0; i < per * D; ++i) part[i] += double(acc[i]);
            }
            std::fill(acc.begin(), acc.end(), T(0));
            pending = 0;
            first_flush = false;
          }
        }
      }
    });
    // Chunk partials in chunk order (zero rows: zeros), each column's sum in that order
    // whatever thread takes it; chunk-major reads, split over the threads by columns (run
    // by one thread this was ~8% of the 4096x1024 backward, the other thread spinning).
    auto finish = [&](const kn_tensor* out, int64_t slot) {
      if (!out) return;
      std::vector<T> total(static_cast<size_t>(D));
      parallel_for(D, 256, ctx.num_threads, [&](int64_t i0, int64_t i1) {
        std::vector<double> s(static_cast<size_t>(i1 - i0), 0.0);
        for (int64_t c = 0; c < num_chunks; ++c) {
          const double* pc = parts_data + (c * per + slot) * D;
          for (int64_t i = i0; i < i1; ++i) s[i - i0] += pc[i];
        }
        for (int64_t i = i0; i < i1; ++i) total[i] = T(s[i - i0]);
      });
      if (D > 0) scatter_row(*out, static_cast<T*>(out->data), total.data());
    };
    finish(dweight, 0);
    finish(dbias, need_w ? 1 : 0);
  });
}

}  // namespace kn::cpu
