// CUDA vs CPU through the C ABI for sigmoid, tanh, leaky_relu, gelu and
// dropout (conventions: test_cuda_kernels.cpp). Skips without a GPU.
// Dropout: the CUDA mask must equal the CPU mask bit for bit (the mask is a
// function of (seed, shape) only), whatever the strides.
#include "cuda_util.hpp"
#include "kernels/activations.h"
#include "kernels/dropout.h"

namespace {

using namespace kn_cuda_test;

enum class Act { Sigmoid, Tanh, LeakyRelu, GeluNone, GeluTanh };
const Act kActs[] = {Act::Sigmoid, Act::Tanh, Act::LeakyRelu, Act::GeluNone, Act::GeluTanh};
const char* act_name(Act a) {
  const char* names[] = {"sigmoid", "tanh", "leaky_relu", "gelu_none", "gelu_tanh"};
  return names[static_cast<int>(a)];
}

kn_status forward(Act a, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  switch (a) {
    case Act::Sigmoid: return kn_sigmoid_forward(x, y, ex);
    case Act::Tanh: return kn_tanh_forward(x, y, ex);
    case Act::LeakyRelu: return kn_leaky_relu_forward(-0.3, x, y, ex);
    case Act::GeluNone: return kn_gelu_forward(KN_GELU_NONE, x, y, ex);
    case Act::GeluTanh: return kn_gelu_forward(KN_GELU_TANH, x, y, ex);
  }
  return KN_ERR_INTERNAL;
}
kn_status backward(Act a, const kn_tensor* dy, const kn_tensor* s, const kn_tensor* dx, const kn_exec* ex) {
  switch (a) {
    case Act::Sigmoid: return kn_sigmoid_backward(dy, s, dx, ex);
    case Act::Tanh: return kn_tanh_backward(dy, s, dx, ex);
    case Act::LeakyRelu: return kn_leaky_relu_backward(-0.3, 0, dy, s, dx, ex);
    case Act::GeluNone: return kn_gelu_backward(KN_GELU_NONE, dy, s, dx, ex);
    case Act::GeluTanh: return kn_gelu_backward(KN_GELU_TANH, dy, s, dx, ex);
  }
  return KN_ERR_INTERNAL;
}

// Transcendentals differ between the host libm and CUDA's by a few ulps.
template <typename T>
double act_tol() { return 16 * eps<T>(); }

TYPED_TEST(CudaKernels, ActivationsForward) {
  using T = TypeParam;
  for (Act a : kActs)
    for (const Shape& shape : kElementwiseShapes)
      for (Layout lx : kInputLayouts)
        for (Layout ly : kOutputLayouts) {
          SCOPED_TRACE(std::string(act_name(a)) + " " + shape_str(shape) + " x " + layout_name(lx) + " y " + layout_name(ly));
          Buffer<T> x(shape, lx, this->rng_, true), y(shape, ly, this->rng_);
          KN_OK_(forward(a, &x.h, &y.h, nullptr));
          KN_OK_(forward(a, &x.d, &y.d, &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(y, act_tol<T>(), act_tol<T>()));
          EXPECT_TRUE(same_storage(x, 0, 0));
        }
}

TYPED_TEST(CudaKernels, ActivationsForwardInPlace) {
  using T = TypeParam;
  for (Act a : kActs)
    for (Layout l : kOutputLayouts) {
      Buffer<T> x({37, 29}, l, this->rng_, true);
      KN_OK_(forward(a, &x.h, &x.h, nullptr));
      KN_OK_(forward(a, &x.d, &x.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(x, act_tol<T>(), act_tol<T>())) << act_name(a);
    }
}

TYPED_TEST(CudaKernels, ActivationsBackward) {
  using T = TypeParam;
  for (Act a : kActs)
    for (const Shape& shape : kElementwiseShapes)
      for (size_t i = 0; i < kInputLayouts.size(); ++i)
        for (Layout ldx : kOutputLayouts) {
          const Layout ldy = kInputLayouts[i], ls = kInputLayouts[(i + 2) % kInputLayouts.size()];
          SCOPED_TRACE(std::string(act_name(a)) + " " + shape_str(shape) + " dy " + layout_name(ldy) +
                       " saved " + layout_name(ls) + " dx " + layout_name(ldx));
          Buffer<T> dy(shape, ldy, this->rng_), s(shape, ls, this->rng_, true), dx(shape, ldx, this->rng_);
          KN_OK_(backward(a, &dy.h, &s.h, &dx.h, nullptr));
          KN_OK_(backward(a, &dy.d, &s.d, &dx.d, &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(dx, act_tol<T>(), act_tol<T>()));
        }
}

// ------------------------------------------------------------ dropout

TYPED_TEST(CudaKernels, DropoutMaskAndOutputEqualCpu) {
  using T = TypeParam;
  for (double p : {0.0, 0.3, 1.0})
    for (const Shape& shape : kElementwiseShapes)
      for (Layout lx : kInputLayouts)
        for (Layout ly : kOutputLayouts) {
          SCOPED_TRACE(shape_str(shape) + " p " + std::to_string(p) + " x " + layout_name(lx) + " y " + layout_name(ly));
          Buffer<T> x(shape, lx, this->rng_), y(shape, ly, this->rng_);
          Buffer<uint8_t> m(shape, ly == Layout::Transposed ? Layout::Reversed : Layout::Transposed,
                            uint8_t(0xA5));
          KN_OK_(kn_dropout_forward(p, 0x1234567890ull, &x.h, &y.h, &m.h, nullptr));
          KN_OK_(kn_dropout_forward(p, 0x1234567890ull, &x.d, &y.d, &m.d, &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(y, 0, 0));
          EXPECT_EQ(m.download(), m.host()) << "CUDA mask differs from the CPU mask";
        }
}

TYPED_TEST(CudaKernels, DropoutBackwardEqualsCpu) {
  using T = TypeParam;
  for (const Shape& shape : kElementwiseShapes)
    for (Layout l : kInputLayouts) {
      SCOPED_TRACE(shape_str(shape) + " " + layout_name(l));
      Buffer<T> x(shape, Layout::Contiguous, this->rng_), y(shape, Layout::Contiguous, this->rng_);
      Buffer<T> dy(shape, l, this->rng_), dx(shape, Layout::Sliced, this->rng_);
      Buffer<uint8_t> m(shape, Layout::Contiguous, uint8_t(0xA5));
      KN_OK_(kn_dropout_forward(0.4, 9, &x.h, &y.h, &m.h, nullptr));
      KN_OK_(kn_dropout_forward(0.4, 9, &x.d, &y.d, &m.d, &this->ex_));
      KN_OK_(kn_dropout_backward(0.4, &dy.h, &m.h, &dx.h, nullptr));
      KN_OK_(kn_dropout_backward(0.4, &dy.d, &m.d, &dx.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(dx, 0, 0));
    }
}

}  // namespace
