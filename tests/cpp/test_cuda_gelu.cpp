// gelu, both forms: CUDA vs CPU through the C ABI
// (tests/cpp/cuda_elementwise.hpp). Built where CUDA is; skips without a GPU.
#include "cuda_elementwise.hpp"
#include "kernels/gelu.h"

namespace {

kn_status forward_none(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_gelu_forward(KN_GELU_NONE, x, y, ex);
}
kn_status backward_none(const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec* ex) {
  return kn_gelu_backward(KN_GELU_NONE, dy, saved, dx, ex);
}
kn_status forward_tanh(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_gelu_forward(KN_GELU_TANH, x, y, ex);
}
kn_status backward_tanh(const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec* ex) {
  return kn_gelu_backward(KN_GELU_TANH, dy, saved, dx, ex);
}

}  // namespace

KN_CUDA_ELEMENTWISE_TESTS(GeluNone, forward_none, backward_none)
KN_CUDA_ELEMENTWISE_TESTS(GeluTanh, forward_tanh, backward_tanh)
