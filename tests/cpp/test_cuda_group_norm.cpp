// CUDA group_norm against the CPU kernels, through the C ABI (conventions:
// test_cuda_kernels.cpp). Strided views of random storage on both devices;
// the whole storage of every output is compared afterwards (statistics are in
// double on both devices; dweight/dbias are summed in another order, so the
// tolerance grows with the row count). Skips without a GPU.
#include "cuda_util.hpp"
#include "kernels/group_norm.h"

namespace {

using namespace kn_cuda_test;

struct LnConfig {
  Shape x;
  int64_t g;
};

const std::vector<LnConfig> kConfigs = {
    {{2, 6, 4, 5}, 3}, {{3, 4, 7}, 2},  {{2, 4}, 4},       {{1, 8, 2, 3, 2}, 1},
    {{0, 4, 3}, 2},    {{2, 4, 0}, 2},  {{4, 32, 28, 28}, 8},
};

Shape lead(const LnConfig& c) { return {c.x[0], c.g}; }
Shape norm(const LnConfig& c) { return {c.x[1]}; }

template <typename T>
void group_norm_case(CudaKernels<T>& f, std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync,
                     const LnConfig& c, Layout lin, Layout lout, bool affine) {
  SCOPED_TRACE("x " + shape_str(c.x) + " G " + std::to_string(c.g) + " in " + layout_name(lin) + " out " +
               layout_name(lout) + (affine ? " affine" : ""));
  const double tol = 16 * eps<T>();
  const kn_group_norm_params p{c.g, 1e-5};
  Buffer<T> x(c.x, lin, rng), w(norm(c), Layout::Contiguous, rng), b(norm(c), Layout::Sliced, rng),
      y(c.x, lout, rng), mean(lead(c), lout, rng), rstd(lead(c), lout, rng);
  KN_OK_(kn_group_norm_forward(&p, &x.h, affine ? &w.h : nullptr, affine ? &b.h : nullptr, &y.h, &mean.h, &rstd.h,
                               nullptr));
  KN_OK_(kn_group_norm_forward(&p, &x.d, affine ? &w.d : nullptr, affine ? &b.d : nullptr, &y.d, &mean.d, &rstd.d,
                               &ex));
  sync();
  EXPECT_TRUE(same_storage(y, tol, tol));
  EXPECT_TRUE(same_storage(mean, tol, tol));
  EXPECT_TRUE(same_storage(rstd, tol, tol));
  mean.upload();
  rstd.upload();
  Buffer<T> dy(c.x, lin, rng), dx(c.x, lout, rng), dw(norm(c), lout, rng), db(norm(c), Layout::Contiguous, rng);
  KN_OK_(kn_group_norm_backward(&p, &dy.h, &x.h, affine ? &w.h : nullptr, &mean.h, &rstd.h, &dx.h, &dw.h, &db.h,
                                nullptr));
  KN_OK_(kn_group_norm_backward(&p, &dy.d, &x.d, affine ? &w.d : nullptr, &mean.d, &rstd.d, &dx.d, &dw.d, &db.d,
                                &ex));
  sync();
  int64_t rows = 1;  // terms per dweight element
  for (size_t d = 0; d < c.x.size(); ++d) rows *= d == 1 ? 1 : c.x[d];
  EXPECT_TRUE(same_storage(dx, 64 * tol, 64 * tol));
  EXPECT_TRUE(same_storage(dw, tol, tol * double(rows + 1)));
  EXPECT_TRUE(same_storage(db, tol, tol * double(rows + 1)));
}

TYPED_TEST(CudaKernels, GroupNorm) {
  for (const LnConfig& c : kConfigs)
    for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
      const Layout lin = kInputLayouts[i], lout = kOutputLayouts[(i + 1) % kOutputLayouts.size()];
      group_norm_case<TypeParam>(*this, this->rng_, this->ex_, [this] { this->sync(); }, c, lin, lout, i % 2 == 0);
    }
}

// Two runs of the backward give bitwise-equal results (no atomics).
TYPED_TEST(CudaKernels, GroupNormBackwardDeterministic) {
  using T = TypeParam;
  const kn_group_norm_params p{1, 1e-5};
  const Shape s{9, 16, 17, 13}, n{16}, l{9, 4};
  Buffer<T> x(s, Layout::Contiguous, this->rng_), w(n, Layout::Contiguous, this->rng_),
      y(s, Layout::Contiguous, this->rng_), mean(l, Layout::Contiguous, this->rng_),
      rstd(l, Layout::Contiguous, this->rng_), dy(s, Layout::Contiguous, this->rng_),
      dx(s, Layout::Contiguous, this->rng_), dw(n, Layout::Contiguous, this->rng_);
  KN_OK_(kn_group_norm_forward(&p, &x.d, &w.d, nullptr, &y.d, &mean.d, &rstd.d, &this->ex_));
  KN_OK_(kn_group_norm_backward(&p, &dy.d, &x.d, &w.d, &mean.d, &rstd.d, &dx.d, &dw.d, nullptr, &this->ex_));
  this->sync();
  const std::vector<T> first_dx = dx.download(), first_dw = dw.download();
  KN_OK_(kn_group_norm_backward(&p, &dy.d, &x.d, &w.d, &mean.d, &rstd.d, &dx.d, &dw.d, nullptr, &this->ex_));
  this->sync();
  EXPECT_EQ(dx.download(), first_dx);
  EXPECT_EQ(dw.download(), first_dw);
}

}  // namespace
