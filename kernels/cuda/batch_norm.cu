// Batch normalisation on CUDA (formulas: capi/include/kernels/batch_norm.h; the CPU
// kernel, kernels/cpu/batch_norm.cpp, computes the same sums in another order).
//
// One block per channel (grid-stride over channels): the block walks the channel's M
// values through a StridedIndexer of the channel's view (any strides), each thread sums
// its share in double, block_sum adds the threads' partials in a fixed order (no atomics:
// deterministic run to run), thread 0 turns the sums into the channel's scalars (and
// updates the running stats), and the block then writes the channel's y or dx. One
// kernel per call, no workspace.
// Only on ctx.stream, no allocation, no synchronisation, nothing launched for C == 0.
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/ops/batch_norm.hpp"

namespace kn::cuda {
namespace {

constexpr int kBnThreads = 256;

// A (C) tensor: pointer (nullptr = absent) and element stride.
template <typename T>
struct Vec {
  T* p;
  int64_t s;
  __device__ __forceinline__ T& operator[](int64_t c) const { return p[c * s]; }
};

template <typename T>
Vec<T> vec(const kn_tensor* t) {
  return t ? Vec<T>{static_cast<T*>(t->data), t->strides[0]} : Vec<T>{nullptr, 0};
}

// t without its dim 1 (C), at channel 0.
kn_tensor channel_view(const kn_tensor& t) {
  kn_tensor v = t;
  v.ndim = t.ndim - 1;
  for (int d = 2; d < t.ndim; ++d) v.shape[d - 1] = t.shape[d], v.strides[d - 1] = t.strides[d];
  return v;
}

template <typename T>
struct FwdArgs {
  StridedIndexer<2> ix;  // operand 0: y, 1: x (channel views)
  T* y;
  const T* x;
  int64_t cy, cx;  // channel strides
  int64_t C, M;
  Vec<const T> weight, bias;
  Vec<T> rm, rv, save_mean, save_invstd;
  double eps, momentum;
  int training;
};

template <typename T>
__global__ void __launch_bounds__(kBnThreads) forward_kernel(FwdArgs<T> a) {
  __shared__ T coef[2];
  for (int64_t c = blockIdx.x; c < a.C; c += gridDim.x) {
    const T* x = a.x + c * a.cx;
    T* y = a.y + c * a.cy;
    if (a.training) {
      const double K = a.M > 0 ? static_cast<double>(x[0]) : 0.0;
      double s1 = 0, s2 = 0;
      for (int64_t i = threadIdx.x; i < a.M; i += blockDim.x) {
        int64_t off[2];
        a.ix.offsets(i, off);
        const double d = static_cast<double>(x[off[1]]) - K;
        s1 += d;
        s2 += d * d;
      }
      s1 = block_sum(s1);
      __syncthreads();
      s2 = block_sum(s2);
      if (threadIdx.x == 0) {
        if (a.M == 0) {
          a.save_mean[c] = T(0), a.save_invstd[c] = T(0);
        } else {
          const double n = static_cast<double>(a.M);
          const double mean = K + s1 / n;
          double var = (s2 - s1 * s1 / n) / n;
          if (var < 0.0) var = 0.0;  // rounding; a NaN stays NaN (fmax would drop it)
          const double invstd = 1.0 / sqrt(var + a.eps);
          a.save_mean[c] = static_cast<T>(mean);
          a.save_invstd[c] = static_cast<T>(invstd);
          if (a.rm.p) {
            const double m = a.momentum;
            a.rm[c] = static_cast<T>((1.0 - m) * static_cast<double>(a.rm[c]) + m * mean);
            a.rv[c] = static_cast<T>((1.0 - m) * static_cast<double>(a.rv[c]) + m * var * n / (n - 1.0));
          }
          const double w = a.weight.p ? static_cast<double>(a.weight[c]) : 1.0;
          const double b = a.bias.p ? static_cast<double>(a.bias[c]) : 0.0;
          coef[0] = static_cast<T>(invstd * w);
          coef[1] = static_cast<T>(b - mean * invstd * w);
        }
      }
    } else if (threadIdx.x == 0) {
      const double mean = static_cast<double>(a.rm[c]);
      const double invstd = 1.0 / sqrt(static_cast<double>(a.rv[c]) + a.eps);
      a.save_mean[c] = static_cast<T>(mean);
      a.save_invstd[c] = static_cast<T>(invstd);
      const double w = a.weight.p ? static_cast<double>(a.weight[c]) : 1.0;
      const double b = a.bias.p ? static_cast<double>(a.bias[c]) : 0.0;
      coef[0] = static_cast<T>(invstd * w);
      coef[1] = static_cast<T>(b - mean * invstd * w);
    }
    __syncthreads();
    const T A = coef[0], B = coef[1];
    for (int64_t i = threadIdx.x; i < a.M; i += blockDim.x) {
      int64_t off[2];
      a.ix.offsets(i, off);
      y[off[0]] = x[off[1]] * A + B;
    }
    __syncthreads();  // coef and the block_sum scratch are reused by the next channel
  }
}

template <typename T>
struct BwdArgs {
  StridedIndexer<3> ix;  // operand 0: dx (or dy when dx is absent), 1: dy, 2: x
  T* dx;
  const T* dy;
  const T* x;
  int64_t cdx, cdy, cx;
  int64_t C, M;
  Vec<const T> weight, save_mean, save_invstd;
  Vec<T> dweight, dbias;
  int training;
};

template <typename T>
__global__ void __launch_bounds__(kBnThreads) backward_kernel(BwdArgs<T> a) {
  __shared__ T coef[4];  // mean, k, grad mean, scale
  const bool need_sums = a.dweight.p || a.dbias.p || (a.dx && a.training);
  for (int64_t c = blockIdx.x; c < a.C; c += gridDim.x) {
    const T* x = a.x + c * a.cx;
    const T* dy = a.dy + c * a.cdy;
    const double mean = static_cast<double>(a.save_mean[c]);
    const double invstd = static_cast<double>(a.save_invstd[c]);
    double s_dy = 0, s_dyx = 0;
    if (need_sums) {
      for (int64_t i = threadIdx.x; i < a.M; i += blockDim.x) {
        int64_t off[3];
        a.ix.offsets(i, off);
        const double g = static_cast<double>(dy[off[1]]);
        s_dy += g;
        s_dyx += g * (static_cast<double>(x[off[2]]) - mean);
      }
      s_dy = block_sum(s_dy);
      __syncthreads();
      s_dyx = block_sum(s_dyx);
    }
    if (threadIdx.x == 0) {
      if (a.dbias.p) a.dbias[c] = static_cast<T>(s_dy);
      if (a.dweight.p) a.dweight[c] = static_cast<T>(s_dyx * invstd);
      const double n = a.M > 0 ? static_cast<double>(a.M) : 1.0;
      const double w = a.weight.p ? static_cast<double>(a.weight[c]) : 1.0;
      coef[0] = a.save_mean[c];
      coef[1] = static_cast<T>(s_dyx * invstd * invstd / n);
      coef[2] = static_cast<T>(s_dy / n);
      coef[3] = static_cast<T>(invstd * w);
    }
    __syncthreads();
    if (a.dx) {
      T* dx = a.dx + c * a.cdx;
      const T m = coef[0], k = coef[1], gm = coef[2], s = coef[3];
      for (int64_t i = threadIdx.x; i < a.M; i += blockDim.x) {
        int64_t off[3];
        a.ix.offsets(i, off);
        dx[off[0]] = a.training ? (dy[off[1]] - gm - (x[off[2]] - m) * k) * s : dy[off[1]] * s;
      }
    }
    __syncthreads();
  }
}

unsigned channel_blocks(int64_t C) { return static_cast<unsigned>(std::min<int64_t>(C, 65535)); }

}  // namespace

void batch_norm_forward(const kn_batch_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
                        const kn_tensor* bias, const kn_tensor* running_mean,
                        const kn_tensor* running_var, const kn_tensor& y,
                        const kn_tensor& save_mean, const kn_tensor& save_invstd,
                        const CudaContext& ctx) {
  CudaCall call("kn_batch_norm_forward", x, ctx);
  const int64_t C = x.shape[1];
  if (C == 0) return;
  const kn_tensor xv = channel_view(x), yv = channel_view(y);
  const StridedLayout<2> L = make_layout<2>({&yv, &xv});
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    FwdArgs<T> a{make_indexer(L), static_cast<T*>(y.data), static_cast<const T*>(x.data),
                 y.strides[1], x.strides[1], C, L.numel,
                 vec<const T>(weight), vec<const T>(bias), vec<T>(running_mean),
                 vec<T>(running_var), vec<T>(&save_mean), vec<T>(&save_invstd),
                 p.eps, p.momentum, p.training};
    forward_kernel<T><<<channel_blocks(C), kBnThreads, 0, call.stream()>>>(a);
    call.check_launch("forward_kernel");
  });
}

void batch_norm_backward(const kn_batch_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
                         const kn_tensor* weight, const kn_tensor& save_mean,
                         const kn_tensor& save_invstd, const kn_tensor* dx,
                         const kn_tensor* dweight, const kn_tensor* dbias,
                         const CudaContext& ctx) {
  CudaCall call("kn_batch_norm_backward", x, ctx);
  const int64_t C = x.shape[1];
  if (C == 0) return;
  const kn_tensor dyv = channel_view(dy), xv = channel_view(x), dxv = channel_view(dx ? *dx : dy);
  const StridedLayout<3> L = make_layout<3>({&dxv, &dyv, &xv});
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    BwdArgs<T> a{make_indexer(L), dx ? static_cast<T*>(dx->data) : nullptr,
                 static_cast<const T*>(dy.data), static_cast<const T*>(x.data),
                 dx ? dx->strides[1] : 0, dy.strides[1], x.strides[1], C, L.numel,
                 vec<const T>(weight), vec<const T>(&save_mean), vec<const T>(&save_invstd),
                 vec<T>(dweight), vec<T>(dbias), p.training};
    backward_kernel<T><<<channel_blocks(C), kBnThreads, 0, call.stream()>>>(a);
    call.check_launch("backward_kernel");
  });
}

}  // namespace kn::cuda
