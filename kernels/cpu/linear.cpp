// Linear (fully connected) on the CPU, GEMM through OpenBLAS.
//   forward:  y = x w^T + b          x:(N,in) w:(out,in) b:(out)? -> y:(N,out)
//   backward: dx = dy w              dy:(N,out) w:(out,in)  -> dx:(N,in)
//             dw = dy^T x            dy:(N,out) x:(N,in)    -> dw:(out,in)
//             db = sum_n dy[n, :]    dy:(N,out)             -> db:(out)
// Any strides: blas::gemm passes transposes and leading dimensions to
// OpenBLAS where it can and packs a copy only where it cannot.
#include <vector>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops.hpp"

namespace kn::cpu {

void linear_forward(const kn_tensor& x, const kn_tensor& w, const kn_tensor* b,
                    const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_linear_forward", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<T> Y = as_matrix<T>(y);
    if (b) {  // y = b (broadcast over rows), then y += x w^T
      const T* bias = data_as<const T>(*b);
      const int64_t bs = b->strides[0];
      parallel_for(Y.rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, Y.cols)),
                   ctx.num_threads, [&](int64_t r0, int64_t r1) {
                     for (int64_t r = r0; r < r1; ++r)
                       for (int64_t c = 0; c < Y.cols; ++c) Y.at(r, c) = bias[c * bs];
                   });
    }
    blas::gemm<T>(as_matrix<const T>(x), as_matrix<const T>(w).t(), Y, T(1), b ? T(1) : T(0),
                  ctx.num_threads);
  });
}

// db[j] = sum_n dy[n, j], accumulated in double, parallel over column blocks
// (each thread owns disjoint columns, so the result is thread-count independent).
template <typename T>
static void bias_grad(const MatrixView<const T>& dy, const kn_tensor& db, int threads) {
  T* out = data_as<T>(db);
  const int64_t out_stride = db.strides[0];
  const int64_t grain = std::max<int64_t>(16, kElementwiseGrain / std::max<int64_t>(1, dy.rows));
  parallel_for(dy.cols, grain, threads, [&](int64_t c0, int64_t c1) {
    std::vector<acc_t<T>> acc(static_cast<size_t>(c1 - c0), 0.0);
    for (int64_t r = 0; r < dy.rows; ++r)
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += dy.at(r, c);
    for (int64_t c = c0; c < c1; ++c) out[c * out_stride] = T(acc[c - c0]);
  });
}

void linear_backward(const kn_tensor& dy, const kn_tensor* x, const kn_tensor* w,
                     const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,
                     const CpuContext& ctx) {
  dispatch_float(dy.dtype, "kn_linear_backward", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<const T> DY = as_matrix<const T>(dy);
    if (dx) blas::gemm<T>(DY, as_matrix<const T>(*w), as_matrix<T>(*dx), T(1), T(0), ctx.num_threads);
    if (dw)
      blas::gemm<T>(DY.t(), as_matrix<const T>(*x), as_matrix<T>(*dw), T(1), T(0), ctx.num_threads);
    if (db) bias_grad<T>(DY, *db, ctx.num_threads);
  });
}

}  // namespace kn::cpu
