// Layer normalisation on CUDA (maths as kernels/cpu/layer_norm.cpp and
// capi/include/kernels/layer_norm.h), on the caller's stream, no allocation.
//   forward, and backward's dx: the row kernels shared with group_norm
//             (kernels/cuda/norm_rows.cuh), one block per row;
//   backward: dweight, dbias: a (32 x 8) block per 32 columns, each of its 8
//             thread rows summing rows r = ty, ty + 8, ... in order, the 8
//             partials then added in a fixed order. No atomics: bitwise the
//             same run to run.
// Rows and elements are addressed through StridedIndexer (any strides): rows
// over the leading dims, elements over the row's dims with every operand of
// the row (an absent weight/bias: stride 0).
#include "kernels/cuda/norm_rows.cuh"
#include "kernels/ops/layer_norm.hpp"

namespace kn::cuda {
namespace {

using norm_rows::bytes;

// layer_norm's affine: weight and bias per element of the row, the element
// indexer's operands a[0] (weight) and a[1] (bias) in the forward, a[0]
// (weight) in dx; absent: nullptr (and a stride-0 stand-in operand).
template <typename T>
struct Affine {
  const char* w;
  const char* b;
  __device__ const Affine& row(int64_t) const { return *this; }
  __device__ T y(const int64_t* a, T xv, T mt, T rt) const {
    T v = (xv - mt) * rt;
    if (w) v = v * *at_bytes<T>(w, a[0]);
    if (b) v = v + *at_bytes<T>(b, a[1]);
    return v;
  }
  __device__ double g(const int64_t* a, double dy) const {
    return w ? dy * double(*at_bytes<T>(w, a[0])) : dy;
  }
  __device__ T dx_g(const int64_t* a, T dy, T rt) const {
    T g = dy;
    if (w) g = *at_bytes<T>(w, a[0]) * g;
    return rt * g;
  }
};

constexpr int kColTile = 32, kRowThreads = 8;

// rows: {dy, x, mean, rstd}; elems: {dy, x, dweight, dbias}. blockDim (32, 8).
template <typename T, typename IndexT>
__global__ void __launch_bounds__(kColTile * kRowThreads)
    param_grad_kernel(StridedIndexer<4> rows, int64_t num_rows, StridedIndexer<4> elems, int64_t n,
                      const char* dy, const char* x, const char* mean, const char* rstd, char* dw,
                      char* db) {
  __shared__ double part_w[kRowThreads][kColTile], part_b[kRowThreads][kColTile];
  for (int64_t c0 = int64_t(blockIdx.x) * kColTile; c0 < n; c0 += int64_t(gridDim.x) * kColTile) {
    const int64_t i = c0 + threadIdx.x;
    double sw = 0, sb = 0;
    int64_t eo[4] = {0, 0, 0, 0};
    if (i < n) {
      elems.offsets(static_cast<IndexT>(i), eo);
      for (int64_t r = threadIdx.y; r < num_rows; r += kRowThreads) {
        int64_t ro[4];
        rows.offsets(r, ro);
        const T g = *at_bytes<T>(dy, ro[0] + eo[0]);
        const T xh = (*at_bytes<T>(x, ro[1] + eo[1]) - *at_bytes<T>(mean, ro[2])) *
                     *at_bytes<T>(rstd, ro[3]);
        sw += double(g) * double(xh);
        sb += double(g);
      }
    }
    part_w[threadIdx.y][threadIdx.x] = sw;
    part_b[threadIdx.y][threadIdx.x] = sb;
    __syncthreads();
    if (threadIdx.y == 0 && i < n) {
      double tw = 0, tb = 0;
      for (int k = 0; k < kRowThreads; ++k) tw += part_w[k][threadIdx.x], tb += part_b[k][threadIdx.x];
      if (dw) *at_bytes<T>(dw, eo[2]) = T(tw);
      if (db) *at_bytes<T>(db, eo[3]) = T(tb);
    }
    __syncthreads();
  }
}

// A stand-in for an absent operand: `shape`'s dims, every stride 0.
kn_tensor zero_strides(const kn_tensor& shape) {
  kn_tensor t = shape;
  for (int d = 0; d < t.ndim; ++d) t.strides[d] = 0;
  return t;
}

}  // namespace

void layer_norm_forward(const kn_layer_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
                        const kn_tensor* bias, const kn_tensor& y, const kn_tensor& mean,
                        const kn_tensor& rstd, const CudaContext& ctx) {
  CudaCall call("kn_layer_norm_forward", x, ctx);
  const int k = p.normalized_ndim;
  const NormSplit sx = split_trailing(x, k), sy = split_trailing(y, k);
  if (sx.rows == 0) return;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    int64_t rows = 0, n = 0;
    const StridedIndexer<4> ri =
        row_indexer<4>({bytes(sy.lead), bytes(sx.lead), bytes(mean), bytes(rstd)}, rows);
    const StridedIndexer<4> ei = row_indexer<4>(
        {bytes(sy.row), bytes(sx.row), weight ? bytes(*weight) : zero_strides(sx.row),
         bias ? bytes(*bias) : zero_strides(sx.row)},
        n);
    n = sx.row_len;
    norm_rows::launch_forward<T>(
        call, "layer_norm forward_kernel", ri, rows, ei, n, p.eps, y, x, mean, rstd,
        Affine<T>{weight ? static_cast<const char*>(weight->data) : nullptr,
                  bias ? static_cast<const char*>(bias->data) : nullptr});
  });
}

void layer_norm_backward(const kn_layer_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
                         const kn_tensor* weight, const kn_tensor& mean, const kn_tensor& rstd,
                         const kn_tensor* dx, const kn_tensor* dweight, const kn_tensor* dbias,
                         const CudaContext& ctx) {
  CudaCall call("kn_layer_norm_backward", x, ctx);
  const int k = p.normalized_ndim;
  const NormSplit sx = split_trailing(x, k), sdy = split_trailing(dy, k);
  const int64_t n = sx.row_len;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    if (dx && sx.rows > 0 && n > 0) {
      const NormSplit sdx = split_trailing(*dx, k);
      int64_t rows = 0, elems = 0;
      const StridedIndexer<5> ri = row_indexer<5>(
          {bytes(sdx.lead), bytes(sdy.lead), bytes(sx.lead), bytes(mean), bytes(rstd)}, rows);
      const StridedIndexer<4> ei = row_indexer<4>(
          {bytes(sdx.row), bytes(sdy.row), bytes(sx.row), weight ? bytes(*weight) : zero_strides(sx.row)},
          elems);
      norm_rows::launch_dx<T>(
          call, "layer_norm dx_kernel", ri, rows, ei, n, *dx, dy, x, mean, rstd,
          Affine<T>{weight ? static_cast<const char*>(weight->data) : nullptr, nullptr});
    }
    if ((dweight || dbias) && n > 0) {
      int64_t rows = 0, elems = 0;
      const StridedIndexer<4> ri =
          row_indexer<4>({bytes(sdy.lead), bytes(sx.lead), bytes(mean), bytes(rstd)}, rows);
      rows = sx.rows;  // 0 rows: the kernel writes zeros
      const StridedIndexer<4> ei = row_indexer<4>(
          {bytes(sdy.row), bytes(sx.row), dweight ? bytes(*dweight) : zero_strides(sx.row),
           dbias ? bytes(*dbias) : zero_strides(sx.row)},
          elems);
      const LaunchConfig cfg = call.grid_stride(n * kRowThreads, kColTile * kRowThreads);
      const dim3 block(kColTile, kRowThreads);
      auto launch = [&](auto index_tag) {
        using I = decltype(index_tag);
        param_grad_kernel<T, I><<<cfg.blocks, block, 0, call.stream()>>>(
            ri, rows, ei, n, static_cast<const char*>(dy.data), static_cast<const char*>(x.data),
            static_cast<const char*>(mean.data), static_cast<const char*>(rstd.data),
            dweight ? static_cast<char*>(dweight->data) : nullptr,
            dbias ? static_cast<char*>(dbias->data) : nullptr);
      };
      if (n <= INT32_MAX) launch(uint32_t{}); else launch(int64_t{});
      call.check_launch("layer_norm param_grad_kernel");
    }
  });
}

}  // namespace kn::cuda
