// mish: CUDA vs CPU through the C ABI, at the default parameters
// (tests/cpp/cuda_elementwise.hpp). Built where CUDA is; skips without a GPU.
#include "cuda_elementwise.hpp"
#include "kernels/mish.h"

namespace {

kn_status forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_mish_forward(x, y, ex);
}
kn_status backward(const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec* ex) {
  return kn_mish_backward(dy, saved, dx, ex);
}

}  // namespace

KN_CUDA_ELEMENTWISE_TESTS(Mish, forward, backward)
