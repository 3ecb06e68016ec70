// Linear (fully connected) on CUDA.
//   forward:  y = x w^T + b          x:(N,in) w:(out,in) b:(out)? -> y:(N,out)
//   backward: dx = dy w              dy:(N,out) w:(out,in)  -> dx:(N,in)
//             dw = dy^T x            dy:(N,out) x:(N,in)    -> dw:(out,in)
//             db = sum_n dy[n, :]    dy:(N,out)             -> db:(out)
//
// The GEMM and the column sum are kernels/cuda/gemm.cuh's (cuBLAS where it fits the
// layout, else the built-in tiled kernel; deterministic column sums).
// The bias is written into y first and the GEMM accumulates onto it (beta = 1),
// as the CPU does. db is a deterministic column sum (double accumulators, a
// fixed reduction order, no atomics).
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/ops/linear.hpp"

namespace kn::cuda {
namespace {

// --------------------------------------------------------- bias and db

// p[0] = y element, p[1] = bias element (broadcast over rows)
struct Copy {
  template <typename T>
  __device__ void operator()(T* const* p) const {
    *p[0] = *p[1];
  }
};

}  // namespace

void linear_forward(const kn_tensor& x, const kn_tensor& w, const kn_tensor* b,
                    const kn_tensor& y, const CudaContext& ctx) {
  CudaCall call("kn_linear_forward", x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    if (b) {  // y = b broadcast over rows, then y += x w^T
      kn_tensor bias = y;  // y's shape, b's data; stride 0 over rows
      bias.data = b->data;
      bias.strides[0] = 0;
      bias.strides[1] = b->strides[0];
      call.elementwise<T, 2>({&y, &bias}, Copy{});
    }
    gemm<T>(call, as_matrix<const T>(x), as_matrix<const T>(w).t(), as_matrix<T>(y), T(1),
            b ? T(1) : T(0));
  });
}

void linear_backward(const kn_tensor& dy, const kn_tensor* x, const kn_tensor* w,
                     const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,
                     const CudaContext& ctx) {
  if (!dx && !dw && !db) return;
  CudaCall call("kn_linear_backward", dy, ctx);
  dispatch_float(dy.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<const T> DY = as_matrix<const T>(dy);
    if (dx) gemm<T>(call, DY, as_matrix<const T>(*w), as_matrix<T>(*dx), T(1), T(0));
    if (dw) gemm<T>(call, DY.t(), as_matrix<const T>(*x), as_matrix<T>(*dw), T(1), T(0));
    if (db) column_sum<T>(call, DY, data_as<T>(*db), db->strides[0]);
  });
}

}  // namespace kn::cuda
