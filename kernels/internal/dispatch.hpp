// dtype dispatch, written once: turns a runtime kn_dtype into a C++ type.
//
//   dispatch_float(x.dtype, "kn_relu_forward", [&](auto tag) {
//     using T = decltype(tag);          // float or double
//     ...
//   });
#pragma once

#include <cstdint>
#include <utility>

#include "kernels/internal/error.hpp"
#include "kernels/internal/tensor.hpp"

namespace kn {

template <typename Fn>
decltype(auto) dispatch_float(int32_t dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case KN_FLOAT32: return std::forward<Fn>(fn)(float{});
    case KN_FLOAT64: return std::forward<Fn>(fn)(double{});
    default:
      fail(KN_ERR_UNSUPPORTED, op, ": dtype ", dtype_name(dtype),
           " is not supported (float32 and float64 are)");
  }
}

// The same for index tensors (class targets, argmax indices): int32 or int64.
//
//   dispatch_index(target.dtype, op, [&](auto itag) { using I = decltype(itag); ... });
template <typename Fn>
decltype(auto) dispatch_index(int32_t dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case KN_INT32: return std::forward<Fn>(fn)(int32_t{});
    case KN_INT64: return std::forward<Fn>(fn)(int64_t{});
    default:
      fail(KN_ERR_UNSUPPORTED, op, ": index dtype ", dtype_name(dtype),
           " is not supported (int32 and int64 are)");
  }
}

// Accumulator type for sums: double for both float and double inputs, so
// float32 reductions are accurate and their result does not depend on the
// thread count.
template <typename T>
using acc_t = double;

}  // namespace kn
