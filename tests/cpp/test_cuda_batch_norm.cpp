// CUDA batch_norm against the CPU kernels, through the C ABI (conventions:
// test_cuda_kernels.cpp): strided views of random storage on both devices, training and
// eval, optional weight / bias / running stats / backward outputs, a channels-last x; the
// whole storage of every output (and of the running stats) is compared afterwards. The
// devices sum in different orders, so within a few hundred rounding errors. Skips without
// a GPU.
#include "cuda_util.hpp"
#include "kernels/batch_norm.h"

namespace {

using namespace kn_cuda_test;

struct BnConfig {
  Shape x;
  bool training, affine, running;
};

const std::vector<BnConfig> kConfigs = {
    {{4, 3, 5, 6}, true, true, true},   {{4, 3, 5, 6}, false, true, true},
    {{7, 5}, true, false, true},        {{3, 4, 9}, true, true, false},
    {{2, 3, 3, 4, 5}, false, false, true}, {{0, 3, 4, 4}, true, true, true},
    {{16, 8, 33, 31}, true, true, true},
};

// (N, *, C) storage viewed as (N, C, *): channels-last, on both devices.
void to_channels_last(kn_tensor& t) {
  const kn_tensor p = t;
  const int n = p.ndim;
  t.shape[1] = p.shape[n - 1], t.strides[1] = p.strides[n - 1];
  for (int d = 2; d < n; ++d) t.shape[d] = p.shape[d - 1], t.strides[d] = p.strides[d - 1];
}

template <typename T>
void bn_case(CudaKernels<T>& f, std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync,
             const BnConfig& c, Layout lin, Layout lout, bool channels_last) {
  SCOPED_TRACE(shape_str(c.x) + (c.training ? " training" : " eval") + " in " + layout_name(lin) +
               " out " + layout_name(lout) + (channels_last ? " channels_last" : ""));
  Shape phys = c.x;
  if (channels_last) {
    phys = {c.x[0]};
    for (size_t d = 2; d < c.x.size(); ++d) phys.push_back(c.x[d]);
    phys.push_back(c.x[1]);
  }
  const Shape cs{c.x[1]};
  const double tol = 512 * eps<T>();
  Buffer<T> x(phys, lin, rng), y(phys, lout, rng), dy(phys, lin, rng), dx(phys, lout, rng);
  if (channels_last)
    for (kn_tensor* t : {&x.h, &x.d, &y.h, &y.d, &dy.h, &dy.d, &dx.h, &dx.d}) to_channels_last(*t);
  Buffer<T> w(cs, Layout::Sliced, rng), b(cs, Layout::Reversed, rng), sm(cs, Layout::Contiguous, rng),
      si(cs, Layout::Contiguous, rng), dw(cs, Layout::Contiguous, rng), db(cs, Layout::Sliced, rng);
  Buffer<T> rm(cs, Layout::Contiguous, rng), rv(cs, Layout::Contiguous, [](size_t i) { return T(0.5 + 0.1 * double(i)); });
  const kn_batch_norm_params p{1e-5, 0.1, c.training ? 1 : 0};
  auto opt = [](bool on, const kn_tensor& t) { return on ? &t : nullptr; };
  KN_OK_(kn_batch_norm_forward(&p, &x.h, opt(c.affine, w.h), opt(c.affine, b.h), opt(c.running, rm.h),
                               opt(c.running, rv.h), &y.h, &sm.h, &si.h, nullptr));
  KN_OK_(kn_batch_norm_forward(&p, &x.d, opt(c.affine, w.d), opt(c.affine, b.d), opt(c.running, rm.d),
                               opt(c.running, rv.d), &y.d, &sm.d, &si.d, &ex));
  sync();
  EXPECT_TRUE(same_storage(y, tol, tol));
  EXPECT_TRUE(same_storage(sm, tol, tol));
  EXPECT_TRUE(same_storage(si, tol, tol));
  EXPECT_TRUE(same_storage(rm, tol, tol));
  EXPECT_TRUE(same_storage(rv, tol, tol));
  // The backward from the CPU's saved stats on both devices.
  sm.upload(), si.upload();
  KN_OK_(kn_batch_norm_backward(&p, &dy.h, &x.h, opt(c.affine, w.h), &sm.h, &si.h, &dx.h, &dw.h, &db.h, nullptr));
  KN_OK_(kn_batch_norm_backward(&p, &dy.d, &x.d, opt(c.affine, w.d), &sm.d, &si.d, &dx.d, &dw.d, &db.d, &ex));
  sync();
  const double gtol = tol * (1 + std::sqrt(double(std::max<int64_t>(1, c.x[0] * (c.x.size() > 2 ? c.x[2] : 1)))));
  EXPECT_TRUE(same_storage(dx, gtol, gtol));
  EXPECT_TRUE(same_storage(dw, gtol, gtol));
  EXPECT_TRUE(same_storage(db, gtol, gtol));
  (void)f;
}

TYPED_TEST(CudaKernels, BatchNorm) {
  for (const BnConfig& c : kConfigs)
    for (size_t i = 0; i < kOutputLayouts.size(); ++i)
      bn_case<TypeParam>(*this, this->rng_, this->ex_, [this] { this->sync(); }, c,
                         kInputLayouts[i], kOutputLayouts[(i + 1) % kOutputLayouts.size()], false);
  for (const BnConfig& c : {kConfigs[0], kConfigs[1], kConfigs[6]})
    bn_case<TypeParam>(*this, this->rng_, this->ex_, [this] { this->sync(); }, c, Layout::Contiguous,
                       Layout::Contiguous, true);
}

// Two runs give bitwise-equal results (block reductions, no atomics).
TYPED_TEST(CudaKernels, BatchNormDeterministic) {
  using T = TypeParam;
  const Shape s{16, 8, 33, 31}, cs{8};
  Buffer<T> x(s, Layout::Contiguous, this->rng_), y(s, Layout::Contiguous, this->rng_),
      dy(s, Layout::Contiguous, this->rng_), dx(s, Layout::Contiguous, this->rng_),
      sm(cs, Layout::Contiguous, this->rng_), si(cs, Layout::Contiguous, this->rng_),
      dw(cs, Layout::Contiguous, this->rng_);
  const kn_batch_norm_params p{1e-5, 0.1, 1};
  KN_OK_(kn_batch_norm_forward(&p, &x.d, nullptr, nullptr, nullptr, nullptr, &y.d, &sm.d, &si.d, &this->ex_));
  KN_OK_(kn_batch_norm_backward(&p, &dy.d, &x.d, nullptr, &sm.d, &si.d, &dx.d, &dw.d, nullptr, &this->ex_));
  this->sync();
  const std::vector<T> y1 = y.download(), dx1 = dx.download(), dw1 = dw.download();
  KN_OK_(kn_batch_norm_forward(&p, &x.d, nullptr, nullptr, nullptr, nullptr, &y.d, &sm.d, &si.d, &this->ex_));
  KN_OK_(kn_batch_norm_backward(&p, &dy.d, &x.d, nullptr, &sm.d, &si.d, &dx.d, &dw.d, nullptr, &this->ex_));
  this->sync();
  EXPECT_EQ(y.download(), y1);
  EXPECT_EQ(dx.download(), dx1);
  EXPECT_EQ(dw.download(), dw1);
}

}  // namespace
