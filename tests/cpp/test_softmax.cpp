// kn_softmax_* / kn_log_softmax_* through the C ABI against a naive double
// reference (below), with the shared machinery of tensor_util.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor_util.hpp"
#include "kernels/softmax.h"

namespace kntest {
namespace {

// ------------------------------------------------------------ reference

// Logical row-major index of element c of row (outer, inner) along `dim`.
struct Rows {
  int64_t outer = 1, n = 1, inner = 1;
  Rows(const Shape& s, int dim) {
    for (int d = 0; d < static_cast<int>(s.size()); ++d)
      (d < dim ? outer : d == dim ? n : inner) *= s[d];
  }
  int64_t at(int64_t o, int64_t c, int64_t i) const { return (o * n + c) * inner + i; }
};

std::vector<double> ref_forward(bool log, const Shape& s, int dim, const std::vector<double>& x) {
  const Rows R(s, dim);
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < R.outer; ++o)
    for (int64_t i = 0; i < R.inner; ++i) {
      double m = -INFINITY, sum = 0;
      for (int64_t c = 0; c < R.n; ++c) m = std::max(m, x[R.at(o, c, i)]);
      for (int64_t c = 0; c < R.n; ++c) sum += std::exp(x[R.at(o, c, i)] - m);
      for (int64_t c = 0; c < R.n; ++c) {
        const double v = x[R.at(o, c, i)] - m;
        y[R.at(o, c, i)] = log ? v - std::log(sum) : std::exp(v) / sum;
      }
    }
  return y;
}

// dx and the magnitude of the terms that form it (for the tolerance).
void ref_backward(bool log, const Shape& s, int dim, const std::vector<double>& dy,
                  const std::vector<double>& y, std::vector<double>& dx, std::vector<double>& mag) {
  const Rows R(s, dim);
  dx.assign(y.size(), 0.0), mag.assign(y.size(), 0.0);
  for (int64_t o = 0; o < R.outer; ++o)
    for (int64_t i = 0; i < R.inner; ++i) {
      double sum = 0, abs_sum = 0;
      for (int64_t c = 0; c < R.n; ++c) {
        const int64_t k = R.at(o, c, i);
        sum += log ? dy[k] : dy[k] * y[k];
        abs_sum += log ? std::fabs(dy[k]) : std::fabs(dy[k] * y[k]);
      }
      for (int64_t c = 0; c < R.n; ++c) {
        const int64_t k = R.at(o, c, i);
        dx[k] = log ? dy[k] - std::exp(y[k]) * sum : y[k] * (dy[k] - sum);
        mag[k] = log ? std::fabs(dy[k]) + std::exp(y[k]) * abs_sum
                     : std::fabs(y[k]) * (std::fabs(dy[k]) + abs_sum);
      }
    }
}

// ------------------------------------------------------------ tester

// SoftmaxTester().log().shape({4, 5, 3}).dim(1).transpose("x").test_forward();
// Operands: x, y (forward); dy, y, dx (backward).
class SoftmaxTester : public TesterBase<SoftmaxTester> {
 public:
  SoftmaxTester& log(bool v = true) { log_ = v; return *this; }
  SoftmaxTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  SoftmaxTester& dim(int d) { dim_ = d; return *this; }
  SoftmaxTester& scale(double s) { scale_ = s; return *this; }  // inputs in [-scale, scale)
  SoftmaxTester& in_place(bool v = true) { in_place_ = v; return *this; }  // y = x; dx = dy

  std::string describe() const {
    std::ostringstream o;
    o << (log_ ? "log_softmax" : "softmax") << " shape=" << shape_str(shape_) << " dim=" << dim_
      << " scale=" << scale_ << (in_place_ ? " in-place" : "") << (null_exec_ ? " ex=NULL" : "")
      << " " << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", shape_);
    x.fill_random(rng, -scale_, scale_);
    const std::vector<double> xv = x.values();
    const std::vector<double> want = ref_forward(log_, shape_, dim_, xv);
    const auto x_raw = x.raw();
    HostTensor y;
    if (!in_place_) y = make_output("y", shape_);
    HostTensor& out = in_place_ ? x : y;
    const kn_tensor xk = x.kn(), yk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(call_forward(&xk, &yk, exec_ptr(ex)));
    // x - max is formed in T: its rounding scales with |x - max| <= 2 scale.
    std::vector<double> mag(want.size());
    for (size_t i = 0; i < want.size(); ++i)
      mag[i] = log_ ? std::fabs(want[i]) + 4 * scale_ + 1 : std::fabs(want[i]) * (4 * scale_ + 1);
    EXPECT_TRUE(all_close("y", out.values(), want, mag, rtol(8)));
    EXPECT_TRUE(out.outside_untouched("y"));
    if (!in_place_) {
      EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    }
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor dy = make("dy", shape_), y = make("y", shape_);
    dy.fill_random(rng);
    // y: a real forward output (log: <= 0; softmax: in (0, 1]).
    HostTensor x(shape_, dtype_);
    x.fill_random(rng, -scale_, scale_);
    y.set_values(ref_forward(log_, shape_, dim_, x.values()));
    std::vector<double> want, mag;
    ref_backward(log_, shape_, dim_, dy.values(), y.values(), want, mag);
    const auto y_raw = y.raw(), dy_raw = dy.raw();
    HostTensor dx;
    if (!in_place_) dx = make_output("dx", shape_);
    HostTensor& out = in_place_ ? dy : dx;
    const kn_tensor dyk = dy.kn(), yk = y.kn(), dxk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(call_backward(&dyk, &yk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx", out.values(), want, mag, rtol(8)));
    EXPECT_TRUE(out.outside_untouched("dx"));
    EXPECT_EQ(y.raw(), y_raw) << "y was modified";
    if (!in_place_) {
      EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
    }
  }

  // Central differences of L = sum(dy * f(x)) against backward(dy, f(x)).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    HostTensor x = make("x", shape_), dy = make("dy", shape_), y = make_output("y", shape_),
               dx = make_output("dx", shape_);
    x.fill_random(rng, -scale_, scale_), dy.fill_random(rng);
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), yk = y.kn();
      EXPECT_EQ(call_forward(&xk, &yk, exec_ptr(ex)), KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    loss();
    const kn_tensor dyk = dy.kn(), yk = y.kn(), dxk = dx.kn();
    KN_ASSERT_OK(call_backward(&dyk, &yk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {},
                          1e-7, 1e-7));
  }

  // 1 and 2 threads: bitwise-equal forward and backward.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", shape_), dy = make("dy", shape_);
    x.fill_random(rng, -scale_, scale_), dy.fill_random(rng);
    std::vector<double> y_of[2], dx_of[2];
    for (int k = 0; k < 2; ++k) {
      HostTensor y = make_output("y", shape_), dx = make_output("dx", shape_);
      const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
      const kn_exec ex = make_exec(k + 1);
      KN_ASSERT_OK(call_forward(&xk, &yk, &ex));
      KN_ASSERT_OK(call_backward(&dyk, &yk, &dxk, &ex));
      y_of[k] = y.values(), dx_of[k] = dx.values();
    }
    EXPECT_TRUE(all_equal("y(1) vs y(2)", y_of[0], y_of[1]));
    EXPECT_TRUE(all_equal("dx(1) vs dx(2)", dx_of[0], dx_of[1]));
  }

  kn_status call_forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) const {
    return log_ ? kn_log_softmax_forward(dim_, x, y, ex) : kn_softmax_forward(dim_, x, y, ex);
  }
  kn_status call_backward(const kn_tensor* dy, const kn_tensor* y, const kn_tensor* dx,
                          const kn_exec* ex) const {
    return log_ ? kn_log_softmax_backward(dim_, dy, y, dx, ex)
                : kn_softmax_backward(dim_, dy, y, dx, ex);
  }

 private:
  bool log_ = false, in_place_ = false;
  Shape shape_ = {4, 7};
  int dim_ = 1;
  double scale_ = 3.0;
};

// ------------------------------------------------------------ cases x {softmax, log} x dtypes

using Case = TesterCase<SoftmaxTester>;

std::vector<Case> softmax_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"rows_2d_last", [](SoftmaxTester&) {}},
      {"rows_2d_first", [](SoftmaxTester& t) { t.dim(0); }},
      {"vector_1d", [](SoftmaxTester& t) { t.shape({37}).dim(0); }},
      {"long_rows", [](SoftmaxTester& t) { t.shape({3, 203}); }},
      {"one_class", [](SoftmaxTester& t) { t.shape({5, 1}); }},
      {"dim0_of_3d", [](SoftmaxTester& t) { t.shape({5, 3, 4}).dim(0); }},
      {"dim1_of_3d", [](SoftmaxTester& t) { t.shape({3, 5, 4}).dim(1); }},
      {"dim2_of_3d", [](SoftmaxTester& t) { t.shape({3, 4, 21}).dim(2); }},
      {"dim0_of_4d", [](SoftmaxTester& t) { t.shape({3, 2, 3, 4}).dim(0); }},
      {"dim1_of_4d", [](SoftmaxTester& t) { t.shape({2, 5, 3, 4}).dim(1); }},
      {"dim2_of_4d", [](SoftmaxTester& t) { t.shape({2, 3, 5, 4}).dim(2); }},
      {"dim3_of_4d", [](SoftmaxTester& t) { t.shape({2, 3, 4, 18}).dim(3); }},
      {"max_dims_8d", [](SoftmaxTester& t) { t.shape({2, 1, 2, 3, 1, 2, 2, 3}).dim(3); }},
      {"empty_rows", [](SoftmaxTester& t) { t.shape({0, 5}); }},
      {"empty_dim", [](SoftmaxTester& t) { t.shape({4, 0}); }},
      {"size1_dim", [](SoftmaxTester& t) { t.shape({3, 1, 4}).dim(1); }},
      {"large_logits", [](SoftmaxTester& t) { t.shape({6, 9}).scale(30); }},
      {"transposed_x", [T](SoftmaxTester& t) { t.shape({4, 3, 5}).dim(2).layout("x", T); }},
      {"transposed_all_dim0", [T](SoftmaxTester& t) {
         t.shape({6, 5}).dim(0).layout("x", T).layout("y", T).layout("dy", T).layout("dx", T);
       }},
      {"sliced_everything", [S](SoftmaxTester& t) {
         t.shape({4, 6}).layout("x", S).layout("y", S.s(3)).layout("dy", S).layout("dx", S);
       }},
      {"reversed", [R](SoftmaxTester& t) {
         t.shape({5, 4, 3}).dim(1).layout("x", R).layout("y", R).layout("dy", R).layout("dx", R);
       }},
      {"mixed_layouts", [T, S, R](SoftmaxTester& t) {
         t.shape({3, 4, 5}).dim(1).layout("x", T.s(2)).layout("y", R).layout("dy", S.r())
             .layout("dx", T);
       }},
      {"broadcast_x_along_dim", [](SoftmaxTester& t) { t.shape({4, 5}).dim(1).broadcast("x", 2u); }},
      {"broadcast_x_across_rows", [](SoftmaxTester& t) { t.shape({4, 5}).dim(1).broadcast("x", 1u); }},
      {"broadcast_dy", [](SoftmaxTester& t) { t.shape({4, 5}).dim(0).broadcast("dy", 1u); }},
      {"in_place", [T](SoftmaxTester& t) { t.shape({5, 6}).layout("x", T).layout("dy", T).in_place(); }},
      {"threads_2_large", [](SoftmaxTester& t) { t.shape({300, 257}).threads(2); }},
      {"threads_2_strided_dim", [](SoftmaxTester& t) { t.shape({40, 30, 50}).dim(1).threads(2); }},
      {"exec_null", [](SoftmaxTester& t) { t.null_exec(); }},
  };
}

class SoftmaxCases : public ::testing::TestWithParam<std::tuple<Case, bool, int32_t>> {
 protected:
  SoftmaxTester tester() const {
    SoftmaxTester t;
    t.log(std::get<1>(GetParam())).dtype(std::get<2>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(SoftmaxCases, Forward) { tester().test_forward(); }
TEST_P(SoftmaxCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(
    Softmax, SoftmaxCases,
    ::testing::Combine(::testing::ValuesIn(softmax_cases()), ::testing::Bool(),
                       ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
    [](const ::testing::TestParamInfo<SoftmaxCases::ParamType>& p) {
      return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_log_" : "_") +
             dtype_str(std::get<2>(p.param));
    });

TEST(Softmax, GradientFloat64) {
  const Layout T = Layout::transpose();
  for (bool log : {false, true}) {
    SoftmaxTester().log(log).shape({3, 5}).dim(1).dtype(KN_FLOAT64).test_gradient();
    SoftmaxTester().log(log).shape({3, 4, 2}).dim(1).dtype(KN_FLOAT64).layout("x", T.s(2))
        .layout("dy", T.r()).layout("y", T).test_gradient();
    SoftmaxTester().log(log).shape({4, 3}).dim(0).dtype(KN_FLOAT64).layout("dx", T).test_gradient();
  }
}

TEST(Softmax, OneAndTwoThreadsAgree) {
  for (bool log : {false, true}) {
    SoftmaxTester().log(log).shape({400, 300}).dim(1).test_threads_agree();
    SoftmaxTester().log(log).shape({60, 50, 40}).dim(1).dtype(KN_FLOAT64)
        .layout("x", Layout::transpose()).test_threads_agree();
  }
}

// Random shapes (ndim 1..4, sizes 0..6), dims, layouts and dtypes.
class SoftmaxRandom : public ::testing::TestWithParam<int> {};
TEST_P(SoftmaxRandom, ForwardAndBackward) {
  Rng rng(7000 + static_cast<uint64_t>(GetParam()));
  Shape shape(static_cast<size_t>(rng.integer(1, 4)));
  for (int64_t& d : shape) d = rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 6);
  const int nd = static_cast<int>(shape.size());
  SoftmaxTester t;
  t.log(rng.coin()).shape(shape).dim(static_cast<int>(rng.integer(0, nd - 1)))
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()))
      .layout("x", random_layout(rng, nd, true)).layout("dy", random_layout(rng, nd, true))
      .layout("y", random_layout(rng, nd, false)).layout("dx", random_layout(rng, nd, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(Softmax, SoftmaxRandom, ::testing::Range(0, 24));

// Logits of +-1e4 (float32 and float64): no inf/NaN, the exact answer.
TEST(Softmax, ExtremeLogits) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    SCOPED_TRACE(dtype_str(dtype));
    HostTensor x({2, 4}, dtype), y({2, 4}, dtype), ly({2, 4}, dtype), dy({2, 4}, dtype),
        dx({2, 4}, dtype);
    x.set_values({1e4, -1e4, 0, 1e4, -1e4, -1e4, -1e4, -1e4});
    dy.fill(1.0);
    const kn_tensor xk = x.kn(), yk = y.kn(), lyk = ly.kn(), dyk = dy.kn(), dxk = dx.kn();
    KN_ASSERT_OK(kn_softmax_forward(1, &xk, &yk, nullptr));
    KN_ASSERT_OK(kn_log_softmax_forward(1, &xk, &lyk, nullptr));
    EXPECT_TRUE(all_close("softmax", y.values(), {0.5, 0, 0, 0.5, 0.25, 0.25, 0.25, 0.25}, {}, 1e-6));
    const double l2 = std::log(2.0), l4 = std::log(4.0);
    EXPECT_TRUE(all_close("log_softmax", ly.values(), {-l2, -2e4 - l2, -1e4 - l2, -l2, -l4, -l4, -l4, -l4},
                          {}, 1e-6));
    KN_ASSERT_OK(kn_softmax_backward(1, &dyk, &yk, &dxk, nullptr));
    for (double v : dx.values()) EXPECT_TRUE(std::isfinite(v));
    KN_ASSERT_OK(kn_log_softmax_backward(1, &dyk, &lyk, &dxk, nullptr));
    EXPECT_TRUE(all_close("log_softmax backward", dx.values(), {-1, 1, 1, -1, 0, 0, 0, 0}, {}, 1e-6, 1e-6));
  }
}

// NaN in a row makes that row NaN (other rows unaffected); -inf entries give 0 / -inf.
TEST(Softmax, NanAndInfinities) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    SCOPED_TRACE(dtype_str(dtype));
    HostTensor x({2, 20}, dtype), y({2, 20}, dtype), ly({2, 20}, dtype);
    Rng rng(5);
    x.fill_random(rng);
    x.set(3, std::nan(""));
    x.set(25, -INFINITY);
    const kn_tensor xk = x.kn(), yk = y.kn(), lyk = ly.kn();
    KN_ASSERT_OK(kn_softmax_forward(1, &xk, &yk, nullptr));
    KN_ASSERT_OK(kn_log_softmax_forward(1, &xk, &lyk, nullptr));
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(std::isnan(y.get(i)) && std::isnan(ly.get(i))) << i;
    EXPECT_EQ(y.get(25), 0.0);
    EXPECT_EQ(ly.get(25), -INFINITY);
    double sum = 0;
    for (int i = 20; i < 40; ++i) sum += y.get(i);
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

// fast_expf over the whole float range against double exp (through softmax
// of a row {0, v}: y0 = 1 / (1 + e^v)).
TEST(Softmax, Float32ExpAccuracy) {
  const int n = 2001;
  HostTensor x({n, 2}, KN_FLOAT32), y({n, 2}, KN_FLOAT32);
  for (int i = 0; i < n; ++i) {
    x.set(2 * i, 0.0);
    x.set(2 * i + 1, -120.0 + 120.0 * i / (n - 1));
  }
  const kn_tensor xk = x.kn(), yk = y.kn();
  KN_ASSERT_OK(kn_log_softmax_forward(1, &xk, &yk, nullptr));
  HostTensor sm({n, 2}, KN_FLOAT32);
  const kn_tensor smk = sm.kn();
  KN_ASSERT_OK(kn_softmax_forward(1, &xk, &smk, nullptr));
  for (int i = 0; i < n; ++i) {
    const double v = x.get(2 * i + 1);
    const double want = std::exp(v) / (1 + std::exp(v));
    EXPECT_NEAR(sm.get(2 * i + 1), want, 6e-7 * want + 1e-45) << "v = " << v;
  }
}

// ------------------------------------------------------------ validation

struct SoftmaxCall {
  HostTensor x{{3, 4}, KN_FLOAT32}, y{{3, 4}, KN_FLOAT32}, dy{{3, 4}, KN_FLOAT32},
      dx{{3, 4}, KN_FLOAT32};
  OpCall forward, backward;
  SoftmaxCall() {
    const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
    forward.add("x", &xk), forward.add("y", &yk);
    backward.add("dy", &dyk), backward.add("y", &yk), backward.add("dx", &dxk);
    forward.reduction = backward.reduction = 1;  // the dim
  }
};
SoftmaxCall& softmax_call() {
  static SoftmaxCall call;
  return call;
}

std::vector<ErrorCase> dim_cases(const char* t) {
  const std::string n = t;
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT, SHAPE = KN_ERR_SHAPE_MISMATCH;
  return {
      {"dim_negative", [](OpCall& c) { c.reduction = -1; }, INVALID, "dim"},
      {"dim_too_large", [](OpCall& c) { c.reduction = 2; }, INVALID, "dim"},
      {n + "_0d", [n](OpCall& c) {
         for (kn_tensor& k : c.tensors) k.ndim = 0;
         c.reduction = 0;
       }, SHAPE, n},
  };
}

std::vector<ErrorCase> forward_error_cases() {
  auto cases = descriptor_error_cases({{"x", true, -1, false, true}, {"y", true, -1, true}});
  for (auto& c : dim_cases("x")) cases.push_back(c);
  cases.push_back({"y_shape_mismatch", [](OpCall& c) { c["y"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "y"});
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"y", true, -1}, {"dx", true, -1, true}});
  for (auto& c : dim_cases("y")) cases.push_back(c);
  cases.push_back({"y_shape_mismatch", [](OpCall& c) { c["y"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "y"});
  cases.push_back({"dx_shape_mismatch", [](OpCall& c) { c["dx"].shape[0] = 2; }, KN_ERR_SHAPE_MISMATCH, "dx"});
  return cases;
}

class SoftmaxForwardErrors : public ::testing::TestWithParam<std::tuple<ErrorCase, bool>> {};
TEST_P(SoftmaxForwardErrors, ExactStatusAndMessage) {
  const bool log = std::get<1>(GetParam());
  check_error_case(
      softmax_call().forward,
      [log](const OpCall& c) {
        return log ? kn_log_softmax_forward(c.reduction, c.arg("x"), c.arg("y"), c.exec())
                   : kn_softmax_forward(c.reduction, c.arg("x"), c.arg("y"), c.exec());
      },
      log ? "kn_log_softmax_forward" : "kn_softmax_forward", std::get<0>(GetParam()));
}
INSTANTIATE_TEST_SUITE_P(Softmax, SoftmaxForwardErrors,
                         ::testing::Combine(::testing::ValuesIn(forward_error_cases()), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<SoftmaxForwardErrors::ParamType>& p) {
                           return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_log" : "");
                         });

class SoftmaxBackwardErrors : public ::testing::TestWithParam<std::tuple<ErrorCase, bool>> {};
TEST_P(SoftmaxBackwardErrors, ExactStatusAndMessage) {
  const bool log = std::get<1>(GetParam());
  check_error_case(
      softmax_call().backward,
      [log](const OpCall& c) {
        return log ? kn_log_softmax_backward(c.reduction, c.arg("dy"), c.arg("y"), c.arg("dx"), c.exec())
                   : kn_softmax_backward(c.reduction, c.arg("dy"), c.arg("y"), c.arg("dx"), c.exec());
      },
      log ? "kn_log_softmax_backward" : "kn_softmax_backward", std::get<0>(GetParam()));
}
INSTANTIATE_TEST_SUITE_P(Softmax, SoftmaxBackwardErrors,
                         ::testing::Combine(::testing::ValuesIn(backward_error_cases()), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<SoftmaxBackwardErrors::ParamType>& p) {
                           return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_log" : "");
                         });

}  // namespace
}  // namespace kntest
