// Small helpers over the C descriptor kn_tensor, shared by validation and
// kernels. Kernels see only kn_tensor (no framework type, no C++ tensor
// class): raw pointer + shape + element strides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/core.h"

namespace kn {

// 0 if any size is 0 (the other sizes may then be anything, even a product
// past int64); else the product, which validation checked fits.
inline int64_t numel(const kn_tensor& t) {
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] == 0) return 0;
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

// Bytes per element; 0 for a code that is not a kn_dtype.
inline size_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case KN_FLOAT32: return 4;
    case KN_FLOAT64: return 8;
    case KN_FLOAT16: return 2;
    case KN_BFLOAT16: return 2;
    case KN_INT32: return 4;
    case KN_INT64: return 8;
    case KN_UINT8: return 1;
    case KN_BOOL: return 1;
    default: return 0;
  }
}

inline const char* dtype_name(int32_t dtype) {
  switch (dtype) {
    case KN_FLOAT32: return "float32";
    case KN_FLOAT64: return "float64";
    case KN_FLOAT16: return "float16";
    case KN_BFLOAT16: return "bfloat16";
    case KN_INT32: return "int32";
    case KN_INT64: return "int64";
    case KN_UINT8: return "uint8";
    case KN_BOOL: return "bool";
    default: return "unknown dtype";
  }
}

inline const char* device_name(int32_t device_type) {
  switch (device_type) {
    case KN_DEVICE_CPU: return "cpu";
    case KN_DEVICE_CUDA: return "cuda";
    default: return "unknown device";
  }
}

// "(2, 3)" (and "(3,)" for one entry): a shape or strides in error messages.
inline std::string dims_string(const int64_t* v, int n) {
  std::string s = "(";
  for (int d = 0; d < n; ++d) {
    if (d) s += ", ";
    s += std::to_string(v[d]);
  }
  if (n == 1) s += ",";
  return s + ")";
}

inline std::string shape_string(const kn_tensor& t) { return dims_string(t.shape, t.ndim); }
inline std::string strides_string(const kn_tensor& t) { return dims_string(t.strides, t.ndim); }

// A view of `t` with the shape of `like` and every stride 0: a scalar
// broadcast to `like`'s shape (used to treat a reduced grad as element-wise).
inline kn_tensor broadcast_scalar(const kn_tensor& scalar, const kn_tensor& like) {
  kn_tensor b = scalar;
  b.ndim = like.ndim;
  for (int d = 0; d < like.ndim; ++d) {
    b.shape[d] = like.shape[d];
    b.strides[d] = 0;
  }
  return b;
}

template <typename T>
inline T* data_as(const kn_tensor& t) {
  return static_cast<T*>(t.data);
}

}  // namespace kn
