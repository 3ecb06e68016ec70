// leaky_relu: CUDA vs CPU through the C ABI (tests/cpp/cuda_elementwise.hpp),
// with a negative slope, backward from x. Built where CUDA is; skips without
// a GPU.
#include "cuda_elementwise.hpp"
#include "kernels/leaky_relu.h"

namespace {

kn_status forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_leaky_relu_forward(-0.3, x, y, ex);
}
kn_status backward(const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec* ex) {
  return kn_leaky_relu_backward(-0.3, 0, dy, saved, dx, ex);
}

}  // namespace

KN_CUDA_ELEMENTWISE_TESTS(LeakyRelu, forward, backward)
