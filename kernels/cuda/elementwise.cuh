// Element-wise CUDA kernels over a formula shared with the CPU
// (kernels/formulas/<op>.hpp), written once:
//
//   map_forward<formulas::Softplus>(op, x, y, ctx, beta, threshold);
//       // y[i] = Softplus<T>{T(beta), T(threshold)}.forward(x[i])
//   map_backward<formulas::Softplus>(op, dy, saved, dx, ctx, beta, threshold);
//       // dx[i] = Softplus<T>{...}.backward(dy[i], saved[i])
//
// or, for a hand-written device functor f(T* const* p) (as the CPU's unary and
// binary of kernels/internal/elementwise.hpp):
//
//   unary(op, x, y, ctx, f);         // p[0] = y, p[1] = x
//   binary(op, dy, a, dx, ctx, f);   // p[0] = dx, p[1] = dy, p[2] = a
//
// Any strides (CudaCall::elementwise, kernels/cuda/common.cuh), launched on
// ctx.stream, nothing launched for zero elements. In place is safe: every
// element is read and written by the same thread.
#pragma once

#include "kernels/cuda/common.cuh"
#include "kernels/internal/math.hpp"

namespace kn::cuda {

// p[0] = y, p[1] = x
template <typename F>
struct MapForward {
  F f;
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = f.forward(*p[1]); }
};

// p[0] = dx, p[1] = dy, p[2] = saved
template <typename F>
struct MapBackward {
  F f;
  template <typename T>
  __device__ void operator()(T* const* p) const { *p[0] = f.backward(*p[1], *p[2]); }
};

template <template <typename> class Formula, typename... Params>
void map_forward(const char* op, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx,
                 Params... params) {
  CudaCall call(op, x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 2>({&y, &x}, MapForward<Formula<T>>{Formula<T>{static_cast<T>(params)...}});
  });
}

template <template <typename> class Formula, typename... Params>
void map_backward(const char* op, const kn_tensor& dy, const kn_tensor& saved, const kn_tensor& dx,
                  const CudaContext& ctx, Params... params) {
  CudaCall call(op, saved, ctx);
  dispatch_float(saved.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 3>({&dx, &dy, &saved},
                           MapBackward<Formula<T>>{Formula<T>{static_cast<T>(params)...}});
  });
}

// A hand-written functor over y and x (p[0] = y, p[1] = x), x's dtype.
template <typename F>
void unary(const char* op, const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx, F f) {
  CudaCall call(op, x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 2>({&y, &x}, f);
  });
}

// A hand-written functor over dx, dy and a (p[0] = dx, p[1] = dy, p[2] = a), a's dtype.
template <typename F>
void binary(const char* op, const kn_tensor& dy, const kn_tensor& a, const kn_tensor& dx,
            const CudaContext& ctx, F f) {
  CudaCall call(op, a, ctx);
  dispatch_float(a.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    call.elementwise<T, 3>({&dx, &dy, &a}, f);
  });
}

}  // namespace kn::cuda
