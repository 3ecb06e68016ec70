// dropout: CUDA vs CPU through the C ABI (conventions: test_cuda_kernels.cpp).
// Skips without a GPU. The CUDA mask must equal the CPU mask bit for bit (the
// mask is a function of (seed, shape) only), whatever the strides.
#include "cuda_util.hpp"
#include "kernels/dropout.h"

namespace {

using namespace kn_cuda_test;

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
