// Test pieces shared by the 2-D pooling suites (test_pool2d.cpp: max/avg_pool2d,
// test_adaptive_pool2d.cpp: adaptive_avg/max_pool2d): the max backward's
// reference, index comparison, the (case x pool x dtype) fixture, the valid
// calls of the validation tests and the index-argument error cases.
//
// Shapes: x, dx:(N,C,H,W); y, dy, indices:(N,C,Ho,Wo); references work on
// NCHW-ordered double vectors, indices as flat h * W + w within a plane.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "tensor_util.hpp"

namespace kntest {

using Vec = std::vector<double>;

struct Geo {
  int64_t N, C, H, W, Ho, Wo;
};

struct MaxRef {
  Vec y;
  std::vector<int64_t> idx;
};

// dx[i] = sum of dy[o] over the o with idx[o] == i (-1: an empty window).
inline Vec ref_max_backward(const Vec& dy, const std::vector<int64_t>& idx, const Geo& g) {
  Vec dx(static_cast<size_t>(g.N * g.C * g.H * g.W), 0.0);
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t o = 0; o < g.Ho * g.Wo; ++o) {
      const int64_t i = idx[nc * g.Ho * g.Wo + o];
      if (i >= 0) dx[nc * g.H * g.W + i] += dy[nc * g.Ho * g.Wo + o];
    }
  return dx;
}

inline ::testing::AssertionResult indices_equal(const std::vector<int64_t>& got,
                                                const std::vector<int64_t>& want) {
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure()
             << "indices[" << i << "]: got " << got[i] << ", expected " << want[i];
  return ::testing::AssertionSuccess();
}

// Distinct values at least 1e-3 apart, in random order: no argmax flips under
// the +-1e-6 of a finite-difference check. X: HostTensor or a wrapper of one
// with numel() and set(i, v) in logical order.
template <typename X>
void distinct_fill(X& x, Rng& rng) {
  std::vector<double> v(static_cast<size_t>(x.numel()));
  std::iota(v.begin(), v.end(), 0.0);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(rng.integer(0, int64_t(i) - 1))]);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, (v[i] - 0.5 * double(x.numel())) * 1e-2);
}

// ------------------------------------------------------------ cases x pools x dtypes

enum class Pool { Max, Avg };

// The options every pool tester has, over TesterBase's (dtype, threads, seed,
// exec, layouts): which pool, x's (N, C, H, W), the index dtype, and x with
// special values.
template <typename Derived>
class PoolTesterBase : public TesterBase<Derived> {
 public:
  Derived& max() { pool_ = Pool::Max; return this->self(); }
  Derived& avg() { pool_ = Pool::Avg; return this->self(); }
  Derived& pool(Pool p) { pool_ = p; return this->self(); }
  Derived& shape(Shape s) { shape_ = std::move(s); return this->self(); }
  Derived& index_dtype(int32_t d) { idtype_ = d; return this->self(); }
  // The first elements of x are NaN, +-inf; values with ties.
  Derived& special_values(bool v = true) { special_ = v; return this->self(); }

 protected:
  explicit PoolTesterBase(Pool default_pool) : pool_(default_pool) {}

  // x random; with special_values, ties (exact repeats), NaN and +-inf spread
  // over the first planes. X: HostTensor or a wrapper with numel(), set(i, v).
  template <typename X>
  void fill_x(X& x, Rng& rng) const {
    x.fill_random(rng);
    if (special_) {
      const double inf = std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < x.numel(); i += 5) x.set(i, 0.5);
      const double specials[] = {std::nan(""), inf, -inf, -inf, std::nan(""), -inf};
      for (int64_t i = 0; i < x.numel(); i += 11) x.set(i, specials[(i / 11) % 6]);
    }
  }

  Pool pool_;
  Shape shape_ = {2, 3, 7, 6};
  int32_t idtype_ = KN_INT64;
  bool special_ = false;
};

// Every TesterCase of a pool tester, for both pools and both float dtypes:
//   class Pool2dCases : public PoolCases<Pool2dTester> {};
//   TEST_P(Pool2dCases, Forward) { tester().test_forward(); }
//   INSTANTIATE_TEST_SUITE_P(Pool2d, Pool2dCases, pool_case_values(pool_cases()),
//                            pool_case_name<Pool2dCases::ParamType>);
template <typename Tester>
class PoolCases : public ::testing::TestWithParam<std::tuple<TesterCase<Tester>, Pool, int32_t>> {
 protected:
  Tester tester() const {
    Tester t;
    t.pool(std::get<1>(this->GetParam())).dtype(std::get<2>(this->GetParam()));
    std::get<0>(this->GetParam()).apply(t);
    return t;
  }
};

template <typename Tester>
auto pool_case_values(const std::vector<TesterCase<Tester>>& cases) {
  return ::testing::Combine(::testing::ValuesIn(cases), ::testing::Values(Pool::Max, Pool::Avg),
                            ::testing::Values(KN_FLOAT32, KN_FLOAT64));
}

// "<case>_max_<dtype>" / "<case>_avg_<dtype>".
template <typename Param>
std::string pool_case_name(const ::testing::TestParamInfo<Param>& p) {
  return std::get<0>(p.param).name + (std::get<1>(p.param) == Pool::Max ? "_max_" : "_avg_") +
         dtype_str(std::get<2>(p.param));
}

// ------------------------------------------------------------ validation

// Valid float32 calls of the four entries: x, dx of shape `in`; y, dy, indices
// (int64) of shape `out`.
struct PoolCall {
  HostTensor x, y, dy, dx;
  IndexTensor ix;
  OpCall max_fwd, max_bwd, avg_fwd, avg_bwd;
  PoolCall(const Shape& in, const Shape& out)
      : x(in, KN_FLOAT32), y(out, KN_FLOAT32), dy(out, KN_FLOAT32), dx(in, KN_FLOAT32), ix(out, KN_INT64, {}) {
    ix.fill(0);
    const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn(), dyk = dy.kn(), dxk = dx.kn();
    max_fwd.add("x", &xk), max_fwd.add("y", &yk), max_fwd.add("indices", &ik);
    max_bwd.add("dy", &dyk), max_bwd.add("indices", &ik), max_bwd.add("dx", &dxk);
    avg_fwd.add("x", &xk), avg_fwd.add("y", &yk);
    avg_bwd.add("dy", &dyk), avg_bwd.add("dx", &dxk);
  }
  // Every byte of every tensor (a failing call writes nothing anywhere).
  std::vector<std::vector<unsigned char>> snapshot() const {
    std::vector<std::vector<unsigned char>> s{x.raw(), y.raw(), dy.raw(), dx.raw()};
    const std::vector<int64_t> iv = ix.values();
    s.emplace_back(reinterpret_cast<const unsigned char*>(iv.data()),
                   reinterpret_cast<const unsigned char*>(iv.data() + iv.size()));
    return s;
  }
};

// The generic cases assume float arguments: for the Index tensor `indices`
// int32 is valid and float32/float64 are unsupported, so those are replaced.
inline std::vector<ErrorCase> with_index_arg(std::vector<ErrorCase> cases) {
  std::vector<ErrorCase> out;
  for (ErrorCase& c : cases) {
    if (c.name == "indices_int32" || c.name == "indices_dtype_mismatch" ||
        c.name.rfind("indices_aliases_output_", 0) == 0)
      continue;
    out.push_back(std::move(c));
  }
  out.push_back({"indices_float32", [](OpCall& c) { c["indices"].dtype = KN_FLOAT32; }, KN_ERR_UNSUPPORTED, "indices"});
  out.push_back({"indices_float64", [](OpCall& c) { c["indices"].dtype = KN_FLOAT64; }, KN_ERR_UNSUPPORTED, "indices"});
  return out;
}

}  // namespace kntest
