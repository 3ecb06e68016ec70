// Group normalisation on CUDA (maths as kernels/cpu/group_norm.cpp and
// capi/include/kernels/group_norm.h), on the caller's stream, no allocation.
//   forward, and backward's dx: the row kernels shared with layer_norm
//             (kernels/cuda/norm_rows.cuh), one block per group (n, g);
//   backward: dweight, dbias: one block per channel c summing over (n, *) in
//             a fixed assignment and order. No atomics: bitwise the same run
//             to run.
// The channel of an element of a group comes from a stand-in operand of the
// element indexer with strides (1, 0, ..., 0): its "offset" is the channel
// index within the group.
#include "kernels/cuda/norm_rows.cuh"
#include "kernels/ops/group_norm.hpp"

namespace kn::cuda {
namespace {

using norm_rows::bytes;
using norm_rows::kThreads;

// group_norm's affine: weight and bias per channel (w[c * sw], b[c * sb];
// absent: nullptr), c = (r % groups) cg + the element's channel within the
// group, which is the offset a[0] of the channel stand-in operand.
template <typename T>
struct Affine {
  const T* w;
  int64_t sw;
  const T* b;
  int64_t sb;
  int64_t groups, cg;
  struct Row {
    Affine f;
    int64_t c0;
    __device__ T y(const int64_t* a, T xv, T mt, T rt) const {
      const int64_t c = c0 + a[0];
      const T scale = f.w ? rt * f.w[c * f.sw] : rt, shift = f.b ? f.b[c * f.sb] : T(0);
      return (xv - mt) * scale + shift;
    }
    __device__ double g(const int64_t* a, double dy) const {
      return f.w ? dy * double(f.w[(c0 + a[0]) * f.sw]) : dy;
    }
    __device__ T dx_g(const int64_t* a, T dy, T rt) const {
      const T s = f.w ? rt * f.w[(c0 + a[0]) * f.sw] : rt;
      return s * dy;
    }
  };
  __device__ Row row(int64_t r) const { return Row{*this, (r % groups) * cg}; }
};

// One block per channel c: sums over j = n S + s in [0, N S), thread t taking
// j = t, t + blockDim.x, ... (fixed), then block_all. spatial: {dy, x} over (*).
struct ParamGradArgs {
  int64_t N, C, S, cg;
  int64_t dy_n, dy_c, x_n, x_c;      // byte strides of dy, x along N and C
  int64_t mean_n, mean_g, rstd_n, rstd_g;  // byte strides of mean, rstd
  int64_t dw_s, db_s;                // byte strides of dweight, dbias
};

template <typename T>
__global__ void __launch_bounds__(kThreads)
    param_grad_kernel(StridedIndexer<2> spatial, ParamGradArgs a, const char* dy, const char* x,
                      const char* mean, const char* rstd, char* dw, char* db) {
  for (int64_t c = blockIdx.x; c < a.C; c += gridDim.x) {
    const int64_t g = c / a.cg;
    double sw = 0, sb = 0;
    for (int64_t j = threadIdx.x; j < a.N * a.S; j += blockDim.x) {
      const int64_t n = j / a.S, s = j - n * a.S;
      int64_t so[2];
      spatial.offsets(s, so);
      const T m = *at_bytes<T>(mean, n * a.mean_n + g * a.mean_g);
      const T r = *at_bytes<T>(rstd, n * a.rstd_n + g * a.rstd_g);
      const T d = *at_bytes<T>(dy, n * a.dy_n + c * a.dy_c + so[0]);
      const T xh = (*at_bytes<T>(x, n * a.x_n + c * a.x_c + so[1]) - m) * r;
      sw += double(d) * double(xh);
      sb += double(d);
    }
    const double tw = block_all<false>(sw), tb = block_all<false>(sb);
    if (threadIdx.x == 0) {
      if (dw) *at_bytes<T>(dw, c * a.dw_s) = T(tw);
      if (db) *at_bytes<T>(db, c * a.db_s) = T(tb);
    }
  }
}

// The channel-within-group stand-in over a group's dims (C/G, *).
kn_tensor channel_operand(const kn_tensor& row) {
  kn_tensor t = row;
  for (int d = 0; d < t.ndim; ++d) t.strides[d] = 0;
  if (t.ndim > 0 && t.shape[0] > 1) t.strides[0] = 1;
  return t;
}

// dims 2.. of t:(N, C, *), strides in bytes.
kn_tensor spatial_bytes(const kn_tensor& t) {
  kn_tensor v = bytes(t);
  v.ndim = t.ndim - 2;
  for (int d = 0; d < v.ndim; ++d) {
    v.shape[d] = v.shape[d + 2];
    v.strides[d] = v.strides[d + 2];
  }
  return v;
}

}  // namespace

void group_norm_forward(const kn_group_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
                        const kn_tensor* bias, const kn_tensor& y, const kn_tensor& mean,
                        const kn_tensor& rstd, const CudaContext& ctx) {
  CudaCall call("kn_group_norm_forward", x, ctx);
  const int64_t G = p.num_groups;
  const NormSplit sx = split_groups(x, G), sy = split_groups(y, G);
  if (sx.rows == 0) return;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    int64_t rows = 0, elems = 0;
    const StridedIndexer<4> ri =
        row_indexer<4>({bytes(sy.lead), bytes(sx.lead), bytes(mean), bytes(rstd)}, rows);
    const StridedIndexer<3> ei =
        row_indexer<3>({bytes(sy.row), bytes(sx.row), channel_operand(sx.row)}, elems);
    const int64_t n = sx.row_len;
    norm_rows::launch_forward<T>(
        call, "group_norm forward_kernel", ri, rows, ei, n, p.eps, y, x, mean, rstd,
        Affine<T>{weight ? static_cast<const T*>(weight->data) : nullptr,
                  weight ? weight->strides[0] : 0, bias ? static_cast<const T*>(bias->data) : nullptr,
                  bias ? bias->strides[0] : 0, G, x.shape[1] / G});
  });
}

void group_norm_backward(const kn_group_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
                         const kn_tensor* weight, const kn_tensor& mean, const kn_tensor& rstd,
                         const kn_tensor* dx, const kn_tensor* dweight, const kn_tensor* dbias,
                         const CudaContext& ctx) {
  CudaCall call("kn_group_norm_backward", x, ctx);
  const int64_t G = p.num_groups, cg = x.shape[1] / G;
  const NormSplit sx = split_groups(x, G), sdy = split_groups(dy, G);
  const int64_t n = sx.row_len;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t esz = static_cast<int64_t>(sizeof(T));
    if (dx && sx.rows > 0 && n > 0) {
      const NormSplit sdx = split_groups(*dx, G);
      int64_t rows = 0, elems = 0;
      const StridedIndexer<5> ri = row_indexer<5>(
          {bytes(sdx.lead), bytes(sdy.lead), bytes(sx.lead), bytes(mean), bytes(rstd)}, rows);
      const StridedIndexer<4> ei = row_indexer<4>(
          {bytes(sdx.row), bytes(sdy.row), bytes(sx.row), channel_operand(sx.row)}, elems);
      norm_rows::launch_dx<T>(
          call, "group_norm dx_kernel", ri, rows, ei, n, *dx, dy, x, mean, rstd,
          Affine<T>{weight ? static_cast<const T*>(weight->data) : nullptr,
                    weight ? weight->strides[0] : 0, nullptr, 0, G, cg});
    }
    const int64_t C = x.shape[1];
    if ((dweight || dbias) && C > 0) {
      ParamGradArgs a{};
      a.N = x.shape[0], a.C = C, a.cg = cg;
      int64_t S = 0;
      const StridedIndexer<2> si = row_indexer<2>({spatial_bytes(dy), spatial_bytes(x)}, S);
      a.S = S;
      a.dy_n = dy.strides[0] * esz, a.dy_c = dy.strides[1] * esz;
      a.x_n = x.strides[0] * esz, a.x_c = x.strides[1] * esz;
      a.mean_n = mean.strides[0] * esz, a.mean_g = mean.strides[1] * esz;
      a.rstd_n = rstd.strides[0] * esz, a.rstd_g = rstd.strides[1] * esz;
      a.dw_s = dweight ? dweight->strides[0] * esz : 0;
      a.db_s = dbias ? dbias->strides[0] * esz : 0;
      const LaunchConfig cfg = call.grid_stride(C * kThreads, kThreads);
      param_grad_kernel<T><<<cfg.blocks, kThreads, 0, call.stream()>>>(
          si, a, static_cast<const char*>(dy.data), static_cast<const char*>(x.data),
          static_cast<const char*>(mean.data), static_cast<const char*>(rstd.data),
          dweight ? static_cast<char*>(dweight->data) : nullptr,
          dbias ? static_cast<char*>(dbias->data) : nullptr);
      call.check_launch("group_norm param_grad_kernel");
    }
  });
}

}  // namespace kn::cuda
