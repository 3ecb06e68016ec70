// Cross-entropy with class-index targets on CUDA (maths as
// kernels/cpu/cross_entropy.cpp): one warp per row computes the row's max and
// log-sum-exp (warp_all, fixed order, sums in double).
//   forward:  NONE: a row kernel (8 warps = 8 rows per block) writes out[r];
//             then ONE block of 1024 threads (32 warps over a fixed set of
//             rows each) sums total_weight, and for MEAN/SUM the row losses
//             (recomputed there: no scratch memory, no atomics, deterministic).
//   backward: a row kernel: recompute max and sum, then
//             dinput[r, c] = A exp(x_c - m) - B w[c] - [c == t] a.
// Out-of-range targets give NaN (see class_loss.cuh).
#include "kernels/cuda/class_loss.cuh"
#include "kernels/ops/cross_entropy.hpp"

namespace kn::cuda {
namespace {

// Row max m (returned) and sum exp(x - m) (in s), warp-cooperative: every
// lane of the warp must call it; all lanes get the results.
template <typename T>
__device__ T warp_row_max_sum(const T* x, int64_t cs, int64_t classes, double& s) {
  const unsigned lane = threadIdx.x % 32;
  T m = -INFINITY;
  for (int64_t c = lane; c < classes; c += 32) m = x[c * cs] > m ? x[c * cs] : m;
  const T mx = T(warp_all<true>(double(m)));
  double acc = 0;
  for (int64_t c = lane; c < classes; c += 32) acc += double(dev_exp<T>(x[c * cs] - mx));
  s = warp_all<false>(acc);
  return mx;
}

// The row's loss and weight, warp-cooperative (t is uniform across the warp).
template <typename T>
__device__ void warp_row_loss(const LossArgs<T>& a, const T* x, int64_t cs, int64_t t, bool need_loss,
                              double& loss, double& weight) {
  if (a.ignored(t)) {
    loss = 0, weight = 0;
    return;
  }
  if (a.bad(t)) {
    loss = NAN, weight = NAN;
    return;
  }
  weight = a.w(t);
  if (!need_loss) {
    loss = 0;
    return;
  }
  double s;
  const T m = warp_row_max_sum<T>(x, cs, a.classes, s);
  const double l = double(m) + ::log(s);
  loss = (1.0 - a.label_smoothing) * weight * (l - double(x[t * cs]));
  if (a.label_smoothing > 0) {
    double acc = 0;
    for (int64_t c = threadIdx.x % 32; c < a.classes; c += 32) acc += a.w(c) * (l - double(x[c * cs]));
    loss += a.label_smoothing / double(a.classes) * warp_all<false>(acc);
  }
}

// operands: 0 = out rows (NONE) or target, 1 = target, 2 = input rows
template <typename T, typename I>
__global__ void __launch_bounds__(kLossRowThreads)
    ce_rows_kernel(LossArgs<T> a, StridedIndexer<3> ix, int64_t rows, int64_t cs, char* out,
                   const char* target, const char* input) {
  const int64_t warps = int64_t(gridDim.x) * (kLossRowThreads / 32);
  for (int64_t r = int64_t(blockIdx.x) * (kLossRowThreads / 32) + threadIdx.x / 32; r < rows;
       r += warps) {
    int64_t off[3];
    ix.offsets(r, off);
    double loss, weight;
    warp_row_loss<T>(a, at_bytes<T>(input, off[2]), cs, load_target<I>(target, off[1]), true, loss,
                     weight);
    if (threadIdx.x % 32 == 0) *at_bytes<T>(out, off[0]) = T(loss);
  }
}

template <typename T, typename I>
__global__ void __launch_bounds__(kLossReduceThreads)
    ce_reduce_kernel(LossArgs<T> a, StridedIndexer<3> ix, int64_t rows, int64_t cs,
                     const char* target, const char* input, T* out, T* total_weight) {
  const bool need_loss = a.reduction != KN_REDUCTION_NONE;
  double loss_acc = 0, weight_acc = 0;
  for (int64_t r = threadIdx.x / 32; r < rows; r += kLossReduceThreads / 32) {
    int64_t off[3];
    ix.offsets(r, off);
    double loss, weight;
    warp_row_loss<T>(a, at_bytes<T>(input, off[2]), cs, load_target<I>(target, off[1]), need_loss,
                     loss, weight);
    if (threadIdx.x % 32 == 0) loss_acc += loss, weight_acc += weight;
  }
  const double loss_sum = block_all<false>(loss_acc);
  const double weight_sum = block_all<false>(weight_acc);
  if (threadIdx.x == 0) {
    *total_weight = T(weight_sum);
    if (need_loss) *out = T(a.reduction == KN_REDUCTION_MEAN ? loss_sum / weight_sum : loss_sum);
  }
}

// operands: 0 = dinput rows, 1 = target, 2 = input rows, 3 = dout rows (NONE) or target
template <typename T, typename I>
__global__ void __launch_bounds__(kLossRowThreads)
    ce_backward_kernel(LossArgs<T> a, StridedIndexer<4> ix, int64_t rows, int64_t cs, int64_t ds,
                       double weight_sum, char* dinput, const char* target, const char* input,
                       const char* dout, const T* dout0, const T* total_weight) {
  const int64_t warps = int64_t(gridDim.x) * (kLossRowThreads / 32);
  const unsigned lane = threadIdx.x % 32;
  for (int64_t r = int64_t(blockIdx.x) * (kLossRowThreads / 32) + threadIdx.x / 32; r < rows;
       r += warps) {
    int64_t off[4];
    ix.offsets(r, off);
    T* dx = at_bytes<T>(dinput, off[0]);
    const T* x = at_bytes<T>(input, off[2]);
    const int64_t t = load_target<I>(target, off[1]);
    if (a.ignored(t) || a.bad(t)) {
      const T v = a.ignored(t) ? T(0) : T(NAN);
      for (int64_t c = lane; c < a.classes; c += 32) dx[c * ds] = v;
      continue;
    }
    double s;
    const T m = warp_row_max_sum<T>(x, cs, a.classes, s);
    const double g = a.reduction == KN_REDUCTION_NONE ? double(*at_bytes<T>(dout, off[3]))
                                                      : reduced_scale(a.reduction, dout0, total_weight);
    const double smooth = a.label_smoothing / double(a.classes);
    const double coef = g * (1.0 - a.label_smoothing) * a.w(t);
    double wsum = weight_sum;  // < 0: a weight is given, W = sum_c w[c] per warp
    if (wsum < 0) {
      double acc = 0;
      for (int64_t c = lane; c < a.classes; c += 32) acc += a.w(c);
      wsum = warp_all<false>(acc);
    }
    const T A = T((coef + g * smooth * wsum) / s), B = T(g * smooth);
    for (int64_t c = lane; c < a.classes; c += 32) {
      T v = A * dev_exp<T>(x[c * cs] - m) - B * T(a.w(c));
      if (c == t) v = T(double(v) - coef);
      dx[c * ds] = v;
    }
  }
}

}  // namespace

void cross_entropy_forward(const kn_cross_entropy_params& p, const kn_tensor& input,
                           const kn_tensor& target, const kn_tensor* weight, const kn_tensor& out,
                           const kn_tensor& total_weight, const CudaContext& ctx) {
  CudaCall call("kn_cross_entropy_forward", input, ctx);
  dispatch_float(input.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(target.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      const int cd = class_dim(input);
      const LossArgs<T> a = loss_args<T>(p, input.shape[cd], weight);
      const bool none = p.reduction == KN_REDUCTION_NONE;
      const kn_tensor& o = none ? out : target;
      int64_t rows = 0;
      const StridedIndexer<3> ix = row_indexer<3>(
          {byte_row_view(o, -1), byte_row_view(target, -1), byte_row_view(input, cd)}, rows);
      const char* tg = static_cast<const char*>(target.data);
      const char* in = static_cast<const char*>(input.data);
      if (none && rows > 0) {
        const LaunchConfig cfg = call.grid_stride(rows * 32, kLossRowThreads);
        ce_rows_kernel<T, I><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
            a, ix, rows, input.strides[cd], static_cast<char*>(out.data), tg, in);
        call.check_launch("ce_rows_kernel");
      }
      ce_reduce_kernel<T, I><<<1, kLossReduceThreads, 0, call.stream()>>>(
          a, ix, rows, input.strides[cd], tg, in, static_cast<T*>(out.data),
          static_cast<T*>(total_weight.data));
      call.check_launch("ce_reduce_kernel");
    });
  });
}

void cross_entropy_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,
                            const kn_tensor& input, const kn_tensor& target,
                            const kn_tensor* weight, const kn_tensor& total_weight,
                            const kn_tensor& dinput, const CudaContext& ctx) {
  CudaCall call("kn_cross_entropy_backward", input, ctx);
  if (numel(dinput) == 0) return;
  dispatch_float(input.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(target.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      const int cd = class_dim(input);
      const int64_t classes = input.shape[cd];
      const LossArgs<T> a = loss_args<T>(p, classes, weight);
      // W = sum_c w[c]: C without a weight; with one (device memory) each
      // warp sums it (weight_sum = -1 tells the kernel so).
      const bool none = p.reduction == KN_REDUCTION_NONE;
      const kn_tensor& g = none ? dout : target;
      int64_t rows = 0;
      const StridedIndexer<4> ix = row_indexer<4>({byte_row_view(dinput, cd), byte_row_view(target, -1),
                                                   byte_row_view(input, cd), byte_row_view(g, -1)},
                                                  rows);
      const LaunchConfig cfg = call.grid_stride(rows * 32, kLossRowThreads);
      ce_backward_kernel<T, I><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
          a, ix, rows, input.strides[cd], dinput.strides[cd], weight ? -1.0 : double(classes),
          static_cast<char*>(dinput.data), static_cast<const char*>(target.data),
          static_cast<const char*>(input.data), static_cast<const char*>(g.data),
          static_cast<const T*>(dout.data), static_cast<const T*>(total_weight.data));
      call.check_launch("ce_backward_kernel");
    });
  });
}

}  // namespace kn::cuda
