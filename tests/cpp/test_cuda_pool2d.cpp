// CUDA max_pool2d / avg_pool2d against the CPU kernels, through the C ABI
// (conventions: test_cuda_kernels.cpp). Strided views of random storage on
// both devices; the whole storage of every output is compared afterwards.
// The backward kernels gather in the CPU's summation order, so max pooling
// (and avg's sums) must agree bitwise. Skips without a GPU.
#include <functional>

#include "cuda_util.hpp"
#include "kernels/pool2d.h"

namespace {

using namespace kn_cuda_test;

// x shape and window; the output size is torch's (computed here again).
struct PoolConfig {
  Shape x;
  int64_t k[2], s[2], p[2], d[2];
  bool ceil_mode;
};

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil_mode && (o - 1) * s >= in + p) --o;
  return o;
}

Shape out_shape(const PoolConfig& c, bool dilated) {
  return {c.x[0], c.x[1], out_size(c.x[2], c.k[0], c.s[0], c.p[0], dilated ? c.d[0] : 1, c.ceil_mode),
          out_size(c.x[3], c.k[1], c.s[1], c.p[1], dilated ? c.d[1] : 1, c.ceil_mode)};
}

const std::vector<PoolConfig> kConfigs = {
    {{2, 6, 28, 28}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},   // LeNet, fast path
    {{3, 4, 9, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false},
    {{2, 3, 7, 10}, {3, 2}, {2, 3}, {1, 1}, {2, 1}, true},
    {{1, 2, 6, 7}, {4, 3}, {3, 2}, {2, 1}, {1, 2}, true},
    {{0, 3, 6, 6}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},     // empty batch
    {{4, 5, 33, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, false},
};

std::string describe(const PoolConfig& c, Layout lin, Layout lout) {
  std::ostringstream o;
  o << "x " << shape_str(c.x) << " k " << c.k[0] << "x" << c.k[1] << " s " << c.s[0] << "x" << c.s[1]
    << " p " << c.p[0] << "x" << c.p[1] << " d " << c.d[0] << "x" << c.d[1] << (c.ceil_mode ? " ceil" : "")
    << " in " << layout_name(lin) << " out " << layout_name(lout);
  return o.str();
}

kn_max_pool2d_params max_params(const PoolConfig& c) {
  return {{c.k[0], c.k[1]}, {c.s[0], c.s[1]}, {c.p[0], c.p[1]}, {c.d[0], c.d[1]}, c.ceil_mode ? 1 : 0};
}

// The fixture's pieces (its members are protected): rng, stream, sync.
struct Env {
  std::mt19937& rng_;
  const kn_exec& ex_;
  std::function<void()> sync;
};

template <typename T, typename I>
void max_pool_case(Env f, const PoolConfig& c, Layout lin, Layout lout, bool special) {
  SCOPED_TRACE(describe(c, lin, lout) + (sizeof(I) == 4 ? " int32" : " int64"));
  const kn_max_pool2d_params p = max_params(c);
  const Shape os = out_shape(c, true);
  Buffer<T> x(c.x, lin, f.rng_, special), y(os, lout, f.rng_);
  Buffer<I> ix(os, lout, I(-5));  // storage starts as -5 everywhere
  KN_OK_(kn_max_pool2d_forward(&p, &x.h, &y.h, &ix.h, nullptr));
  KN_OK_(kn_max_pool2d_forward(&p, &x.d, &y.d, &ix.d, &f.ex_));
  f.sync();
  EXPECT_TRUE(same_storage(y, 0, 0));
  EXPECT_TRUE(same_storage(ix, 0, 0));
  // Backward from the CPU's indices (uploaded), dy in the input layout.
  ix.upload();
  Buffer<T> dy(os, lin, f.rng_), dx(c.x, lout, f.rng_);
  KN_OK_(kn_max_pool2d_backward(&p, &dy.h, &ix.h, &dx.h, nullptr));
  KN_OK_(kn_max_pool2d_backward(&p, &dy.d, &ix.d, &dx.d, &f.ex_));
  f.sync();
  EXPECT_TRUE(same_storage(dx, 0, 0));
}

TYPED_TEST(CudaKernels, MaxPool2d) {
  Env env{this->rng_, this->ex_, [this] { this->sync(); }};
  for (const PoolConfig& c : kConfigs)
    for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
      const Layout lin = kInputLayouts[i], lout = kOutputLayouts[(i + 1) % kOutputLayouts.size()];
      max_pool_case<TypeParam, int64_t>(env, c, lin, lout, i == 0);
    }
  max_pool_case<TypeParam, int32_t>(env, kConfigs[1], Layout::Broadcast, Layout::Transposed, true);
  max_pool_case<TypeParam, int32_t>(env, kConfigs[2], Layout::Reversed, Layout::Sliced, false);
}

TYPED_TEST(CudaKernels, AvgPool2d) {
  using T = TypeParam;
  for (const PoolConfig& c : kConfigs)
    for (int variant = 0; variant < 3; ++variant)
      for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
        const Layout lin = kInputLayouts[(i + variant) % kInputLayouts.size()], lout = kOutputLayouts[i];
        SCOPED_TRACE(describe(c, lin, lout) + " variant " + std::to_string(variant));
        const kn_avg_pool2d_params p{{c.k[0], c.k[1]}, {c.s[0], c.s[1]}, {c.p[0], c.p[1]},
                                     c.ceil_mode ? 1 : 0, variant != 1, variant == 2 ? 5 : 0};
        const Shape os = out_shape(c, false);
        Buffer<T> x(c.x, lin, this->rng_), y(os, lout, this->rng_);
        KN_OK_(kn_avg_pool2d_forward(&p, &x.h, &y.h, nullptr));
        KN_OK_(kn_avg_pool2d_forward(&p, &x.d, &y.d, &this->ex_));
        this->sync();
        EXPECT_TRUE(same_storage(y, 4 * eps<T>(), 4 * eps<T>()));
        Buffer<T> dy(os, lin, this->rng_), dx(c.x, lout, this->rng_);
        KN_OK_(kn_avg_pool2d_backward(&p, &dy.h, &dx.h, nullptr));
        KN_OK_(kn_avg_pool2d_backward(&p, &dy.d, &dx.d, &this->ex_));
        this->sync();
        EXPECT_TRUE(same_storage(dx, 4 * eps<T>(), 4 * eps<T>()));
      }
}

// Two runs of each backward give bitwise-equal results (no atomics).
TYPED_TEST(CudaKernels, Pool2dBackwardDeterministic) {
  using T = TypeParam;
  const PoolConfig& c = kConfigs[5];
  const kn_max_pool2d_params p = max_params(c);
  const Shape os = out_shape(c, true);
  Buffer<T> x(c.x, Layout::Contiguous, this->rng_), y(os, Layout::Contiguous, this->rng_),
      dy(os, Layout::Contiguous, this->rng_), dx(c.x, Layout::Contiguous, this->rng_);
  Buffer<int64_t> ix(os, Layout::Contiguous, int64_t(-5));
  KN_OK_(kn_max_pool2d_forward(&p, &x.d, &y.d, &ix.d, &this->ex_));
  KN_OK_(kn_max_pool2d_backward(&p, &dy.d, &ix.d, &dx.d, &this->ex_));
  this->sync();
  const std::vector<T> first = dx.download();
  KN_OK_(kn_max_pool2d_backward(&p, &dy.d, &ix.d, &dx.d, &this->ex_));
  this->sync();
  EXPECT_EQ(dx.download(), first);
}

}  // namespace
