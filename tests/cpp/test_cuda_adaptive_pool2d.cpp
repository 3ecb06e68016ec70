// CUDA adaptive_avg_pool2d / adaptive_max_pool2d against the CPU kernels, through the
// C ABI (conventions: test_cuda_kernels.cpp). Strided views of random storage on both
// devices; the whole storage of every output is compared afterwards. Max pooling and
// the average backward (a gather in the CPU's order and formula) must agree bitwise;
// the average forward within a few roundings (the CPU's global-average path sums in
// lanes). Skips without a GPU.
#include <functional>

#include "cuda_util.hpp"
#include "kernels/adaptive_pool2d.h"

namespace {

using namespace kn_cuda_test;

struct Config {
  Shape x;
  int64_t Ho, Wo;
};

const std::vector<Config> kConfigs = {
    {{2, 3, 7, 7}, 3, 3},    {{2, 3, 5, 5}, 1, 1},   {{2, 2, 3, 3}, 5, 5},     {{1, 2, 1, 1}, 1, 1},
    {{2, 4, 28, 28}, 7, 7},  {{4, 64, 7, 7}, 1, 1},  {{3, 2, 10, 9}, 4, 7},    {{0, 3, 6, 6}, 2, 2},
    {{2, 3, 2, 5}, 7, 3},
};

std::string describe(const Config& c, Layout lin, Layout lout) {
  std::ostringstream o;
  o << "x " << shape_str(c.x) << " -> (" << c.Ho << ", " << c.Wo << ") in " << layout_name(lin) << " out "
    << layout_name(lout);
  return o.str();
}

Shape out_shape(const Config& c) { return {c.x[0], c.x[1], c.Ho, c.Wo}; }

TYPED_TEST(CudaKernels, AdaptiveMaxPool2d) {
  using T = TypeParam;
  for (const Config& c : kConfigs)
    for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
      const Layout lin = kInputLayouts[i], lout = kOutputLayouts[(i + 1) % kOutputLayouts.size()];
      SCOPED_TRACE(describe(c, lin, lout));
      const Shape os = out_shape(c);
      Buffer<T> x(c.x, lin, this->rng_, i == 0), y(os, lout, this->rng_);
      Buffer<int64_t> ix(os, lout, int64_t(-5));
      KN_OK_(kn_adaptive_max_pool2d_forward(&x.h, &y.h, &ix.h, nullptr));
      KN_OK_(kn_adaptive_max_pool2d_forward(&x.d, &y.d, &ix.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(y, 0, 0));
      EXPECT_TRUE(same_storage(ix, 0, 0));
      ix.upload();  // backward from the CPU's indices
      Buffer<T> dy(os, lin, this->rng_), dx(c.x, lout, this->rng_);
      KN_OK_(kn_adaptive_max_pool2d_backward(&dy.h, &ix.h, &dx.h, nullptr));
      KN_OK_(kn_adaptive_max_pool2d_backward(&dy.d, &ix.d, &dx.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(dx, 0, 0));
    }
}

TYPED_TEST(CudaKernels, AdaptiveAvgPool2d) {
  using T = TypeParam;
  for (const Config& c : kConfigs)
    for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
      const Layout lin = kInputLayouts[i], lout = kOutputLayouts[i];
      SCOPED_TRACE(describe(c, lin, lout));
      const Shape os = out_shape(c);
      Buffer<T> x(c.x, lin, this->rng_), y(os, lout, this->rng_);
      KN_OK_(kn_adaptive_avg_pool2d_forward(&x.h, &y.h, nullptr));
      KN_OK_(kn_adaptive_avg_pool2d_forward(&x.d, &y.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(y, 8 * eps<T>(), 8 * eps<T>()));
      Buffer<T> dy(os, lin, this->rng_), dx(c.x, lout, this->rng_);
      KN_OK_(kn_adaptive_avg_pool2d_backward(&dy.h, &dx.h, nullptr));
      KN_OK_(kn_adaptive_avg_pool2d_backward(&dy.d, &dx.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(dx, 0, 0));
    }
}

// Two runs of each backward give bitwise-equal results (no atomics).
TYPED_TEST(CudaKernels, AdaptivePool2dBackwardDeterministic) {
  using T = TypeParam;
  const Config c{{4, 16, 33, 31}, 10, 9};
  const Shape os = out_shape(c);
  Buffer<T> x(c.x, Layout::Contiguous, this->rng_), y(os, Layout::Contiguous, this->rng_),
      dy(os, Layout::Contiguous, this->rng_), dx(c.x, Layout::Contiguous, this->rng_);
  Buffer<int64_t> ix(os, Layout::Contiguous, int64_t(-5));
  KN_OK_(kn_adaptive_max_pool2d_forward(&x.d, &y.d, &ix.d, &this->ex_));
  for (int avg = 0; avg < 2; ++avg) {
    auto run = [&] {
      const kn_status s = avg ? kn_adaptive_avg_pool2d_backward(&dy.d, &dx.d, &this->ex_)
                              : kn_adaptive_max_pool2d_backward(&dy.d, &ix.d, &dx.d, &this->ex_);
      EXPECT_EQ(s, KN_OK) << kn_last_error();
      this->sync();
      return dx.download();
    };
    const std::vector<T> first = run();
    EXPECT_EQ(run(), first);
  }
}

}  // namespace
