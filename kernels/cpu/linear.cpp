// Linear (fully connected) on the CPU, GEMM through OpenBLAS.
//   forward:  y = x w^T + b          x:(N,in) w:(out,in) b:(out)? -> y:(N,out)
//   backward: dx = dy w              dy:(N,out) w:(out,in)  -> dx:(N,in)
//             dw = dy^T x            dy:(N,out) x:(N,in)    -> dw:(out,in)
//             db = sum_n dy[n, :]    dy:(N,out)             -> db:(out)
// Any strides: blas::gemm passes transposes and leading dimensions to
// OpenBLAS where it can and packs a copy only where it cannot.
//
// Threads: kn::gemm_parallel (kernels/internal/matmul.hpp) decides, by the size of
// the product, between the calling thread alone, one block of columns per thread, and
// OpenBLAS's own threads. (The tests compare 1 and 2 threads with a tolerance: y and dx
// may differ in the last bits.)
#include <algorithm>

#include "kernels/internal/matmul.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/linear.hpp"

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
    gemm_parallel<T>(as_matrix<const T>(x), as_matrix<const T>(w).t(), Y, T(1), b ? T(1) : T(0),
               ctx.num_threads);
  });
}

void linear_backward(const kn_tensor& dy, const kn_tensor* x, const kn_tensor* w,
                     const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,
                     const CpuContext& ctx) {
  dispatch_float(dy.dtype, "kn_linear_backward", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<const T> DY = as_matrix<const T>(dy);
    if (dx) gemm_parallel<T>(DY, as_matrix<const T>(*w), as_matrix<T>(*dx), T(1), T(0), ctx.num_threads);
    if (dw)
      gemm_parallel<T>(DY.t(), as_matrix<const T>(*x), as_matrix<T>(*dw), T(1), T(0), ctx.num_threads);
    if (db) column_sum<T>(DY, data_as<T>(*db), db->strides[0], ctx.num_threads);
  });
}

}  // namespace kn::cpu
