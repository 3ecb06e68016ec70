// The kernels' internal C++ interface: the execution contexts, and the macro
// that declares an op's kernels for both devices. Each op declares its
// kernels in kernels/ops/<op>.hpp (included by its kernels and its C entry
// only, so that editing one op's declarations rebuilds only that op):
//
//   #define KN_RELU_KERNELS(Context)  (continued over lines with backslashes)
//     void relu_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);
//   KN_DECLARE_KERNELS(KN_RELU_KERNELS)   // kn::cpu::relu_forward(..., CpuContext)
//                                         // kn::cuda::relu_forward(..., CudaContext)
//
// Each op has a CPU kernel (kernels/cpu/<op>.cpp) and a CUDA kernel
// (kernels/cuda/<op>.cu) with the same signature apart from the context.
// Arguments have been validated by capi/ (non-null where required, shapes
// agree, one float dtype, one device, outputs do not overlap inputs), so a
// kernel only computes. Optional arguments are pointers (nullptr = absent /
// not needed); required ones are references.
#pragma once

#include <cstddef>

#include "kernels/core.h"

namespace kn {

struct CpuContext {
  int num_threads;  // resolved: >= 1
};

struct CudaContext {
  void* stream;  // cudaStream_t; nullptr = legacy default stream
  void* workspace;
  size_t workspace_bytes;
};

}  // namespace kn

// Declares LIST(Context) in kn::cpu with CpuContext and in kn::cuda with
// CudaContext (the CUDA ones are defined only in a build with CUDA; capi's
// OpValidator::run never references them otherwise).
#define KN_DECLARE_KERNELS(LIST) \
  namespace kn {                 \
  namespace cpu {                \
  LIST(CpuContext)               \
  }                              \
  namespace cuda {               \
  LIST(CudaContext)              \
  }                              \
  }
