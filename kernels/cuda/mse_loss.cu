// Mean squared error on CUDA.
//   forward:  l = (input - target)^2; out = l (NONE), sum(l) (SUM), sum(l)/numel (MEAN)
//             input, target: same shape, any strides; out: input's shape or 0-d
//   backward: dinput = 2 (input - target) dout [/ numel for MEAN]; dtarget = -dinput
//             dout: out's shape (0-d for MEAN/SUM, broadcast over input's shape)
// MEAN and SUM reduce in ONE block of kReduceThreads threads: each thread
// grid-strides over the elements accumulating in double, then a fixed-order
// block_sum. No allocation, no atomics, bit-identical run to run; MEAN over
// zero elements is 0/0 = NaN (as torch and the CPU kernel).
#include "kernels/cuda/common.cuh"
#include "kernels/ops/mse_loss.hpp"

namespace kn::cuda {
namespace {

constexpr int kReduceThreads = 1024;

// p[0] = l, p[1] = input, p[2] = target
struct SquaredError {
  template <typename T>
  __device__ void operator()(T* const* p) const {
    const T d = *p[1] - *p[2];
    *p[0] = d * d;
  }
};

// out = sum((input - target)^2) / divisor  (divisor: 1 for SUM, numel for MEAN)
template <typename T, typename IndexT>
__global__ void __launch_bounds__(kReduceThreads)
    squared_error_sum_kernel(StridedIndexer<2> ix, const T* input, const T* target, IndexT n,
                             double divisor, T* out) {
  double acc = 0.0;
  for (IndexT i = threadIdx.x; i < n; i += kReduceThreads) {
    int64_t off[2];
    ix.offsets(i, off);
    const double d = double(input[off[0]]) - double(target[off[1]]);
    acc += d * d;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) *out = T(acc / divisor);
}

// p[0] = grad (dinput or dtarget), p[1] = dout, p[2] = input, p[3] = target
template <typename T>
struct OneGrad {
  T scale;  // +-2 [/ numel]
  __device__ void operator()(T* const* p) const { *p[0] = scale * (*p[2] - *p[3]) * *p[1]; }
};

// p[0] = dinput, p[1] = dtarget, p[2] = dout, p[3] = input, p[4] = target
template <typename T>
struct BothGrads {
  T scale;
  __device__ void operator()(T* const* p) const {
    const T d = scale * (*p[3] - *p[4]) * *p[2];
    *p[0] = d;
    *p[1] = -d;
  }
};

}  // namespace

void mse_loss_forward(kn_reduction reduction, const kn_tensor& input, const kn_tensor& target,
                      const kn_tensor& out, const CudaContext& ctx) {
  CudaCall call("kn_mse_loss_forward", input, ctx);
  dispatch_float(input.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    if (reduction == KN_REDUCTION_NONE) {
      call.elementwise<T, 3>({&out, &input, &target}, SquaredError{});
      return;
    }
    // One block even for zero elements: the 0-d output is always written.
    const StridedLayout<2> L = make_layout<2>({&input, &target});
    const StridedIndexer<2> ix = make_indexer(L);
    const double divisor = reduction == KN_REDUCTION_MEAN ? double(L.numel) : 1.0;
    const T* in = data_as<const T>(input);
    const T* tg = data_as<const T>(target);
    T* result = data_as<T>(out);
    if (L.numel <= INT32_MAX)
      squared_error_sum_kernel<T, uint32_t><<<1, kReduceThreads, 0, call.stream()>>>(
          ix, in, tg, static_cast<uint32_t>(L.numel), divisor, result);
    else
      squared_error_sum_kernel<T, int64_t><<<1, kReduceThreads, 0, call.stream()>>>(
          ix, in, tg, L.numel, divisor, result);
    call.check_launch("squared_error_sum_kernel");
  });
}

void mse_loss_backward(kn_reduction reduction, const kn_tensor& dout, const kn_tensor& input,
                       const kn_tensor& target, const kn_tensor* dinput, const kn_tensor* dtarget,
                       const CudaContext& ctx) {
  if (!dinput && !dtarget) return;
  CudaCall call("kn_mse_loss_backward", input, ctx);
  dispatch_float(input.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    // A reduced dout is a 0-d tensor: view it as input-shaped with stride 0
    // so one element-wise kernel serves every reduction.
    const kn_tensor g = reduction == KN_REDUCTION_NONE ? dout : broadcast_scalar(dout, input);
    const int64_t count = numel(input);
    const T scale = reduction == KN_REDUCTION_MEAN && count > 0 ? T(2) / T(count) : T(2);
    if (dinput && dtarget) {
      call.elementwise<T, 5>({dinput, dtarget, &g, &input, &target}, BothGrads<T>{scale});
      return;
    }
    const kn_tensor& grad = dinput ? *dinput : *dtarget;
    call.elementwise<T, 4>({&grad, &g, &input, &target}, OneGrad<T>{dinput ? scale : -scale});
  });
}

}  // namespace kn::cuda
