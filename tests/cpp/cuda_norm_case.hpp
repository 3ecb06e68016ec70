// The CUDA-vs-CPU checks of the normalisation ops (test_cuda_layer_norm.cpp,
// test_cuda_group_norm.cpp), through the C ABI (conventions:
// test_cuda_kernels.cpp). Each suite describes its op in an Op struct:
//   Config                      one case (x's shape and the op's parameter)
//   Params, forward, backward   kn_<op>_params, kn_<op>_forward, kn_<op>_backward
//   params(c), describe(c)      the call's parameters; the case's parameter for traces
//   lead(c), norm(c)            mean/rstd's shape; weight/bias's shape
//   terms(c)                    terms summed into one dweight element (its tolerance)
// Strided views of random storage on both devices; the whole storage of every
// output is compared afterwards (statistics are in double on both devices;
// dweight/dbias are summed in another order, so the tolerance grows with the
// number of terms).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cuda_util.hpp"

namespace kn_cuda_test {

template <typename Op, typename T>
void norm_case(std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync,
               const typename Op::Config& c, Layout lin, Layout lout, bool affine) {
  SCOPED_TRACE("x " + shape_str(c.x) + Op::describe(c) + " in " + layout_name(lin) + " out " +
               layout_name(lout) + (affine ? " affine" : ""));
  const double tol = 16 * eps<T>();
  const typename Op::Params p = Op::params(c);
  Buffer<T> x(c.x, lin, rng), w(Op::norm(c), Layout::Contiguous, rng), b(Op::norm(c), Layout::Sliced, rng),
      y(c.x, lout, rng), mean(Op::lead(c), lout, rng), rstd(Op::lead(c), lout, rng);
  KN_OK_(Op::forward(&p, &x.h, affine ? &w.h : nullptr, affine ? &b.h : nullptr, &y.h, &mean.h, &rstd.h, nullptr));
  KN_OK_(Op::forward(&p, &x.d, affine ? &w.d : nullptr, affine ? &b.d : nullptr, &y.d, &mean.d, &rstd.d, &ex));
  sync();
  EXPECT_TRUE(same_storage(y, tol, tol));
  EXPECT_TRUE(same_storage(mean, tol, tol));
  EXPECT_TRUE(same_storage(rstd, tol, tol));
  mean.upload();
  rstd.upload();
  Buffer<T> dy(c.x, lin, rng), dx(c.x, lout, rng), dw(Op::norm(c), lout, rng),
      db(Op::norm(c), Layout::Contiguous, rng);
  KN_OK_(Op::backward(&p, &dy.h, &x.h, affine ? &w.h : nullptr, &mean.h, &rstd.h, &dx.h, &dw.h, &db.h, nullptr));
  KN_OK_(Op::backward(&p, &dy.d, &x.d, affine ? &w.d : nullptr, &mean.d, &rstd.d, &dx.d, &dw.d, &db.d, &ex));
  sync();
  const int64_t terms = Op::terms(c);
  EXPECT_TRUE(same_storage(dx, 64 * tol, 64 * tol));
  EXPECT_TRUE(same_storage(dw, tol, tol * double(terms + 1)));
  EXPECT_TRUE(same_storage(db, tol, tol * double(terms + 1)));
}

// Every config, each with an input and an output layout (affine on every other one).
template <typename Op, typename T>
void norm_cases(std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync,
                const std::vector<typename Op::Config>& configs) {
  for (const typename Op::Config& c : configs)
    for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
      const Layout lin = kInputLayouts[i], lout = kOutputLayouts[(i + 1) % kOutputLayouts.size()];
      norm_case<Op, T>(rng, ex, sync, c, lin, lout, i % 2 == 0);
    }
}

// Two runs of the backward give bitwise-equal results (no atomics): x of shape s,
// weight of shape n, mean and rstd of shape l.
template <typename Op, typename T>
void norm_backward_deterministic(std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync,
                                 const typename Op::Params& p, const Shape& s, const Shape& n, const Shape& l) {
  Buffer<T> x(s, Layout::Contiguous, rng), w(n, Layout::Contiguous, rng), y(s, Layout::Contiguous, rng),
      mean(l, Layout::Contiguous, rng), rstd(l, Layout::Contiguous, rng), dy(s, Layout::Contiguous, rng),
      dx(s, Layout::Contiguous, rng), dw(n, Layout::Contiguous, rng);
  KN_OK_(Op::forward(&p, &x.d, &w.d, nullptr, &y.d, &mean.d, &rstd.d, &ex));
  KN_OK_(Op::backward(&p, &dy.d, &x.d, &w.d, &mean.d, &rstd.d, &dx.d, &dw.d, nullptr, &ex));
  sync();
  const std::vector<T> first_dx = dx.download(), first_dw = dw.download();
  KN_OK_(Op::backward(&p, &dy.d, &x.d, &w.d, &mean.d, &rstd.d, &dx.d, &dw.d, nullptr, &ex));
  sync();
  EXPECT_EQ(dx.download(), first_dx);
  EXPECT_EQ(dw.download(), first_dw);
}

}  // namespace kn_cuda_test
