// Conv2d: the CUDA kernels against the CPU kernels, through the C ABI (see
// test_cuda_kernels.cpp for the conventions). Each case builds strided views of
// random storage, runs forward and backward on the CPU descriptors and on the CUDA
// descriptors (on a created stream), and compares the whole storage of every output
// (guard elements and the gaps of sliced views included). Skips without a GPU.
#include "cuda_util.hpp"
#include "kernels/conv2d.h"

namespace {

using namespace kn_cuda_test;

struct Conv {
  const char* name;
  int64_t N, C, H, W, O, kH, kW, sh, sw, ph, pw, dh, dw, G;
  int64_t Ho() const { return (H + 2 * ph - dh * (kH - 1) - 1) / sh + 1; }
  int64_t Wo() const { return (W + 2 * pw - dw * (kW - 1) - 1) / sw + 1; }
  kn_conv2d_params params() const {
    kn_conv2d_params p{};
    p.stride[0] = sh, p.stride[1] = sw, p.padding[0] = ph, p.padding[1] = pw;
    p.dilation[0] = dh, p.dilation[1] = dw, p.groups = G;
    return p;
  }
};

const Conv kConvs[] = {
    //  name              N  C   H   W   O  kH kW sh sw ph pw dh dw G
    {"basic", 2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},
    {"stride_padding", 3, 4, 9, 8, 6, 3, 2, 2, 3, 1, 2, 1, 1, 2},
    {"dilation", 2, 2, 11, 10, 3, 3, 3, 1, 2, 2, 1, 2, 3, 1},
    {"depthwise", 2, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4},
    {"pointwise", 4, 6, 5, 7, 9, 1, 1, 1, 1, 0, 0, 1, 1, 3},
    {"stride_beyond_kernel", 2, 2, 9, 9, 2, 2, 2, 3, 3, 0, 0, 1, 1, 1},
    {"lenet_conv1", 5, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1},
    {"lenet_conv2", 5, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1},
    {"empty_batch", 0, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},
};

// Tolerance for a sum of `terms` products of values in [-1, 1] in T (different
// summation orders): relative, and absolute for results that cancel (atol).
template <typename T>
double tol(int64_t terms) {
  return 8.0 * static_cast<double>(terms + 2) * eps<T>();
}
template <typename T>
double atol(int64_t terms) {
  return tol<T>(terms) * std::sqrt(static_cast<double>(terms + 1));
}

TYPED_TEST(CudaKernels, Conv2dForward) {
  using T = TypeParam;
  for (const Conv& c : kConvs)
    for (size_t i = 0; i < kInputLayouts.size(); ++i) {
      const Layout lx = kInputLayouts[i], lw = kInputLayouts[(i + 1) % kInputLayouts.size()];
      const Layout ly = kOutputLayouts[i % kOutputLayouts.size()];
      for (bool bias : {true, false}) {
        SCOPED_TRACE(std::string(c.name) + " x " + layout_name(lx) + " w " + layout_name(lw) + " y " +
                     layout_name(ly) + (bias ? " bias" : " no bias"));
        Buffer<T> x({c.N, c.C, c.H, c.W}, lx, this->rng_), w({c.O, c.C / c.G, c.kH, c.kW}, lw, this->rng_);
        Buffer<T> b({c.O}, Layout::Sliced, this->rng_), y({c.N, c.O, c.Ho(), c.Wo()}, ly, this->rng_);
        const kn_conv2d_params p = c.params();
        KN_OK_(kn_conv2d_forward(&p, &x.h, &w.h, bias ? &b.h : nullptr, &y.h, nullptr));
        KN_OK_(kn_conv2d_forward(&p, &x.d, &w.d, bias ? &b.d : nullptr, &y.d, &this->ex_));
        this->sync();
        EXPECT_TRUE(same_storage(y, tol<T>(c.C / c.G * c.kH * c.kW), atol<T>(c.C / c.G * c.kH * c.kW)));
        EXPECT_TRUE(same_storage(x, 0, 0));  // inputs untouched
      }
    }
}

TYPED_TEST(CudaKernels, Conv2dBackward) {
  using T = TypeParam;
  for (const Conv& c : kConvs)
    for (size_t i = 0; i < kInputLayouts.size(); ++i) {
      const Layout ldy = kInputLayouts[i], lx = kInputLayouts[(i + 2) % kInputLayouts.size()];
      const Layout lw = kInputLayouts[(i + 3) % kInputLayouts.size()];
      const Layout lout = kOutputLayouts[i % kOutputLayouts.size()];
      SCOPED_TRACE(std::string(c.name) + " dy " + layout_name(ldy) + " x " + layout_name(lx) + " w " +
                   layout_name(lw) + " outputs " + layout_name(lout));
      Buffer<T> dy({c.N, c.O, c.Ho(), c.Wo()}, ldy, this->rng_), x({c.N, c.C, c.H, c.W}, lx, this->rng_),
          w({c.O, c.C / c.G, c.kH, c.kW}, lw, this->rng_);
      Buffer<T> dx({c.N, c.C, c.H, c.W}, lout, this->rng_), dw({c.O, c.C / c.G, c.kH, c.kW}, lout, this->rng_),
          db({c.O}, lout, this->rng_);
      const kn_conv2d_params p = c.params();
      KN_OK_(kn_conv2d_backward(&p, &dy.h, &x.h, &w.h, &dx.h, &dw.h, &db.h, nullptr));
      KN_OK_(kn_conv2d_backward(&p, &dy.d, &x.d, &w.d, &dx.d, &dw.d, &db.d, &this->ex_));
      this->sync();
      const int64_t positions = c.N * c.Ho() * c.Wo();
      EXPECT_TRUE(same_storage(dx, tol<T>(c.O / c.G * c.kH * c.kW), atol<T>(c.O / c.G * c.kH * c.kW)));
      EXPECT_TRUE(same_storage(dw, tol<T>(positions), atol<T>(positions)));
      EXPECT_TRUE(same_storage(db, tol<T>(positions), atol<T>(positions)));
    }
}

// Only the requested gradients are written; x and w may be NULL where not needed.
TYPED_TEST(CudaKernels, Conv2dBackwardOptional) {
  using T = TypeParam;
  const Conv& c = kConvs[1];
  const kn_conv2d_params p = c.params();
  for (int mask = 0; mask < 8; ++mask) {
    SCOPED_TRACE("mask " + std::to_string(mask));
    const bool need_dx = mask & 1, need_dw = mask & 2, need_db = mask & 4;
    Buffer<T> dy({c.N, c.O, c.Ho(), c.Wo()}, Layout::Transposed, this->rng_),
        x({c.N, c.C, c.H, c.W}, Layout::Contiguous, this->rng_), w({c.O, c.C / c.G, c.kH, c.kW}, Layout::Sliced, this->rng_);
    Buffer<T> dx({c.N, c.C, c.H, c.W}, Layout::Contiguous, this->rng_),
        dw({c.O, c.C / c.G, c.kH, c.kW}, Layout::Contiguous, this->rng_), db({c.O}, Layout::Contiguous, this->rng_);
    KN_OK_(kn_conv2d_backward(&p, &dy.h, need_dw ? &x.h : nullptr, need_dx ? &w.h : nullptr,
                              need_dx ? &dx.h : nullptr, need_dw ? &dw.h : nullptr, need_db ? &db.h : nullptr,
                              nullptr));
    KN_OK_(kn_conv2d_backward(&p, &dy.d, need_dw ? &x.d : nullptr, need_dx ? &w.d : nullptr,
                              need_dx ? &dx.d : nullptr, need_dw ? &dw.d : nullptr, need_db ? &db.d : nullptr,
                              &this->ex_));
    this->sync();
    // Unrequested outputs keep their (identical) random storage on both sides.
    EXPECT_TRUE(same_storage(dx, tol<T>(c.O * c.kH * c.kW), atol<T>(c.O * c.kH * c.kW)));
    EXPECT_TRUE(same_storage(dw, tol<T>(c.N * c.Ho() * c.Wo()), atol<T>(c.N * c.Ho() * c.Wo())));
    EXPECT_TRUE(same_storage(db, tol<T>(c.N * c.Ho() * c.Wo()), atol<T>(c.N * c.Ho() * c.Wo())));
  }
}

// dw and db are deterministic: two runs give identical bits.
TYPED_TEST(CudaKernels, Conv2dBackwardDeterministic) {
  using T = TypeParam;
  const Conv& c = kConvs[7];
  const kn_conv2d_params p = c.params();
  Buffer<T> dy({c.N, c.O, c.Ho(), c.Wo()}, Layout::Contiguous, this->rng_),
      x({c.N, c.C, c.H, c.W}, Layout::Contiguous, this->rng_);
  Buffer<T> dw1({c.O, c.C, c.kH, c.kW}, Layout::Contiguous, this->rng_),
      dw2({c.O, c.C, c.kH, c.kW}, Layout::Contiguous, this->rng_);
  KN_OK_(kn_conv2d_backward(&p, &dy.d, &x.d, nullptr, nullptr, &dw1.d, nullptr, &this->ex_));
  KN_OK_(kn_conv2d_backward(&p, &dy.d, &x.d, nullptr, nullptr, &dw2.d, nullptr, &this->ex_));
  this->sync();
  const std::vector<T> a = dw1.download(), b = dw2.download();
  for (size_t i = Buffer<T>::kGuard; i + Buffer<T>::kGuard < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
}

}  // namespace
