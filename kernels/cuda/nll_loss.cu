// NLL loss on CUDA (maths as kernels/cpu/nll_loss.cpp).
//   forward:  NONE: one thread per row writes out[r] = -w[t] x[r, t] (0 if ignored);
//             then ONE block of 1024 threads sums, per thread over a fixed set
//             of rows in double, then block_all: total_weight, and out for
//             MEAN/SUM (deterministic, no atomics, no scratch memory).
//   backward: one thread per element of dinput: -w[t] g_r at c == t, else 0.
// Out-of-range targets give NaN (see class_loss.cuh).
#include "kernels/cuda/class_loss.cuh"
#include "kernels/ops/nll_loss.hpp"

namespace kn::cuda {
namespace {

template <typename T, typename I>
__device__ void nll_row(const LossArgs<T>& a, const char* target, int64_t toff, const char* input,
                        int64_t ioff, int64_t cs, double& loss, double& weight) {
  const int64_t t = load_target<I>(target, toff);
  if (a.ignored(t)) {
    loss = 0, weight = 0;
  } else if (a.bad(t)) {
    loss = NAN, weight = NAN;
  } else {
    weight = a.w(t);
    loss = -weight * double(at_bytes<T>(input, ioff)[t * cs]);
  }
}

// operands: 0 = out rows, 1 = target, 2 = input rows
template <typename T, typename I>
__global__ void nll_rows_kernel(LossArgs<T> a, StridedIndexer<3> ix, int64_t rows, int64_t cs,
                                char* out, const char* target, const char* input) {
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[3];
    ix.offsets(r, off);
    double loss, weight;
    nll_row<T, I>(a, target, off[1], input, off[2], cs, loss, weight);
    *at_bytes<T>(out, off[0]) = T(loss);
  }
}

template <typename T, typename I>
__global__ void __launch_bounds__(kLossReduceThreads)
    nll_reduce_kernel(LossArgs<T> a, StridedIndexer<3> ix, int64_t rows, int64_t cs,
                      const char* target, const char* input, T* out, T* total_weight) {
  double loss_acc = 0, weight_acc = 0;
  for (int64_t r = threadIdx.x; r < rows; r += kLossReduceThreads) {
    int64_t off[3];
    ix.offsets(r, off);
    double loss, weight;
    nll_row<T, I>(a, target, off[1], input, off[2], cs, loss, weight);
    loss_acc += loss, weight_acc += weight;
  }
  const double loss_sum = block_all<false>(loss_acc);
  const double weight_sum = block_all<false>(weight_acc);
  if (threadIdx.x == 0) {
    *total_weight = T(weight_sum);
    if (a.reduction != KN_REDUCTION_NONE)
      *out = T(a.reduction == KN_REDUCTION_MEAN ? loss_sum / weight_sum : loss_sum);
  }
}

// operands: 0 = dinput rows, 1 = target, 2 = dout rows (NONE) or target
template <typename T, typename I>
__global__ void nll_backward_kernel(LossArgs<T> a, StridedIndexer<3> ix, int64_t total,
                                    int64_t ds, char* dinput, const char* target, const char* dout,
                                    const T* dout0, const T* total_weight) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e / a.classes, c = e - r * a.classes;
    int64_t off[3];
    ix.offsets(r, off);
    const int64_t t = load_target<I>(target, off[1]);
    T v = T(0);
    if (a.bad(t)) {
      v = T(NAN);
    } else if (c == t && !a.ignored(t)) {
      const double g = a.reduction == KN_REDUCTION_NONE ? double(*at_bytes<T>(dout, off[2]))
                                                        : reduced_scale(a.reduction, dout0, total_weight);
      v = T(-a.w(t) * g);
    }
    at_bytes<T>(dinput, off[0])[c * ds] = v;
  }
}

}  // namespace

void nll_loss_forward(const kn_cross_entropy_params& p, const kn_tensor& input,
                      const kn_tensor& target, const kn_tensor* weight, const kn_tensor& out,
                      const kn_tensor& total_weight, const CudaContext& ctx) {
  CudaCall call("kn_nll_loss_forward", input, ctx);
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
        const LaunchConfig cfg = call.grid_stride(rows, kLossRowThreads);
        nll_rows_kernel<T, I><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
            a, ix, rows, input.strides[cd], static_cast<char*>(out.data), tg, in);
        call.check_launch("nll_rows_kernel");
      }
      // Always one block: total_weight (and a reduced out) is always written.
      nll_reduce_kernel<T, I><<<1, kLossReduceThreads, 0, call.stream()>>>(
          a, ix, rows, input.strides[cd], tg, in, static_cast<T*>(out.data),
          static_cast<T*>(total_weight.data));
      call.check_launch("nll_reduce_kernel");
    });
  });
}

void nll_loss_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,
                       const kn_tensor& target, const kn_tensor* weight,
                       const kn_tensor& total_weight, const kn_tensor& dinput,
                       const CudaContext& ctx) {
  CudaCall call("kn_nll_loss_backward", dinput, ctx);
  const int64_t total = numel(dinput);
  if (total == 0) return;
  dispatch_float(dinput.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(target.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      const int cd = class_dim(dinput);
      const LossArgs<T> a = loss_args<T>(p, dinput.shape[cd], weight);
      const bool none = p.reduction == KN_REDUCTION_NONE;
      const kn_tensor& g = none ? dout : target;
      int64_t rows = 0;
      const StridedIndexer<3> ix = row_indexer<3>(
          {byte_row_view(dinput, cd), byte_row_view(target, -1), byte_row_view(g, -1)}, rows);
      const LaunchConfig cfg = call.grid_stride(total, kLossRowThreads);
      nll_backward_kernel<T, I><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
          a, ix, total, dinput.strides[cd], static_cast<char*>(dinput.data),
          static_cast<const char*>(target.data), static_cast<const char*>(g.data),
          static_cast<const T*>(dout.data), static_cast<const T*>(total_weight.data));
      call.check_launch("nll_backward_kernel");
    });
  });
}

}  // namespace kn::cuda
