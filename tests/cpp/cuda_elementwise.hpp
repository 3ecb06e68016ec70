// CUDA vs CPU through the C ABI for an element-wise op written with the
// scaffold (tests/cpp/test_cuda_<op>.cpp):
//
//   kn_status forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex);
//   kn_status backward(const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec* ex);
//   KN_CUDA_ELEMENTWISE_TESTS(Softplus, forward, backward)
//
// Every shape of kElementwiseShapes x input and output layouts, in place, both
// dtypes; results within 16 ulps of the CPU's (the host's and CUDA's
// transcendentals differ by a few ulps). Skips without a GPU.
#pragma once

#include "cuda_util.hpp"

#define KN_CUDA_ELEMENTWISE_TESTS(Name, forward, backward)                                        \
  namespace {                                                                                     \
  using namespace kn_cuda_test;                                                                   \
  template <typename T>                                                                           \
  double Name##_tol() { return 16 * eps<T>(); }                                                   \
  TYPED_TEST(CudaKernels, Name##Forward) {                                                        \
    using T = TypeParam;                                                                          \
    for (const Shape& shape : kElementwiseShapes)                                                 \
      for (Layout lx : kInputLayouts)                                                             \
        for (Layout ly : kOutputLayouts) {                                                        \
          SCOPED_TRACE(shape_str(shape) + " x " + layout_name(lx) + " y " + layout_name(ly));     \
          Buffer<T> x(shape, lx, this->rng_, true), y(shape, ly, this->rng_);                     \
          KN_OK_(forward(&x.h, &y.h, nullptr));                                                   \
          KN_OK_(forward(&x.d, &y.d, &this->ex_));                                                \
          this->sync();                                                                           \
          EXPECT_TRUE(same_storage(y, Name##_tol<T>(), Name##_tol<T>()));                         \
          EXPECT_TRUE(same_storage(x, 0, 0));                                                     \
        }                                                                                         \
  }                                                                                               \
  TYPED_TEST(CudaKernels, Name##ForwardInPlace) {                                                 \
    using T = TypeParam;                                                                          \
    for (Layout l : kOutputLayouts) {                                                             \
      Buffer<T> x({37, 29}, l, this->rng_, true);                                                 \
      KN_OK_(forward(&x.h, &x.h, nullptr));                                                       \
      KN_OK_(forward(&x.d, &x.d, &this->ex_));                                                    \
      this->sync();                                                                               \
      EXPECT_TRUE(same_storage(x, Name##_tol<T>(), Name##_tol<T>()));                             \
    }                                                                                             \
  }                                                                                               \
  TYPED_TEST(CudaKernels, Name##Backward) {                                                       \
    using T = TypeParam;                                                                          \
    for (const Shape& shape : kElementwiseShapes)                                                 \
      for (size_t i = 0; i < kInputLayouts.size(); ++i)                                           \
        for (Layout ldx : kOutputLayouts) {                                                       \
          const Layout ldy = kInputLayouts[i], ls = kInputLayouts[(i + 2) % kInputLayouts.size()]; \
          SCOPED_TRACE(shape_str(shape) + " dy " + layout_name(ldy) + " saved " +                 \
                       layout_name(ls) + " dx " + layout_name(ldx));                              \
          Buffer<T> dy(shape, ldy, this->rng_), s(shape, ls, this->rng_, true),                   \
              dx(shape, ldx, this->rng_);                                                         \
          KN_OK_(backward(&dy.h, &s.h, &dx.h, nullptr));                                          \
          KN_OK_(backward(&dy.d, &s.d, &dx.d, &this->ex_));                                       \
          this->sync();                                                                           \
          EXPECT_TRUE(same_storage(dx, Name##_tol<T>(), Name##_tol<T>()));                        \
        }                                                                                         \
  }                                                                                               \
  }  // namespace
