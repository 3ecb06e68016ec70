// The tester of the activations sigmoid, tanh, leaky_relu and gelu (both
// forms): kn_<op>_* through the C ABI against naive double-precision
// references written below, with the shared machinery of tensor_util.hpp.
// Each op's suite (tests/cpp/test_<op>.cpp) instantiates it for its own
// variants and adds its op-specific tests:
//
//   KN_ACTIVATION_TESTS(Gelu, Act::GeluNone, Act::GeluTanh)
//
// gives, for each variant: forward and backward over every case of
// act_cases() in float32 and float64, the fixed-seed random shapes and
// layouts, finite differences (float64), 1 vs 2 threads bitwise, NaN and
// +inf, and every descriptor error with its exact status and message.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"  // elementwise_cases
#include "tensor_util.hpp"
#include "kernels/gelu.h"
#include "kernels/leaky_relu.h"
#include "kernels/sigmoid.h"
#include "kernels/tanh.h"

namespace kntest {

// ------------------------------------------------------------ references

using Vec = std::vector<double>;

enum class Act { Sigmoid, Tanh, LeakyRelu, GeluNone, GeluTanh };

inline const char* act_name(Act a) {
  switch (a) {
    case Act::Sigmoid: return "sigmoid";
    case Act::Tanh: return "tanh";
    case Act::LeakyRelu: return "leaky_relu";
    case Act::GeluNone: return "gelu_none";
    case Act::GeluTanh: return "gelu_tanh";
  }
  return "?";
}

constexpr double kPi = 3.14159265358979323846;

// f(x) in double, and |terms| (the size of what is rounded) for tolerances.
inline double ref_forward(Act a, double x, double slope) {
  switch (a) {
    case Act::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Act::Tanh: return std::tanh(x);
    case Act::LeakyRelu: return x > 0 ? x : slope * x;
    case Act::GeluNone: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Act::GeluTanh: {
      const double u = std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x);
      return 0.5 * x * (1.0 + std::tanh(u));
    }
  }
  return 0;
}

// f'(x), from first principles (not from the kernels' formulas).
inline double ref_derivative(Act a, double x, double slope) {
  switch (a) {
    case Act::Sigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 - s);
    }
    case Act::Tanh: return 1.0 - std::tanh(x) * std::tanh(x);
    case Act::LeakyRelu: return x > 0 ? 1.0 : slope;
    case Act::GeluNone:
      return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi);
    case Act::GeluTanh: {
      const double c = std::sqrt(2.0 / kPi);
      const double t = std::tanh(c * (x + 0.044715 * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x);
    }
  }
  return 0;
}

// Sigmoid and tanh differentiate from their output y: dx = dy * g(y).
inline double ref_grad_from_saved(Act a, double dy, double saved, double slope) {
  switch (a) {
    case Act::Sigmoid: return dy * (1.0 - saved) * saved;
    case Act::Tanh: return dy * (1.0 - saved * saved);
    case Act::LeakyRelu: return saved > 0 ? dy : dy * slope;
    default: return dy * ref_derivative(a, saved, slope);  // gelu: saved is x
  }
}

// Forward and backward through the C ABI, by op.
inline kn_status run_forward(Act a, double slope, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  switch (a) {
    case Act::Sigmoid: return kn_sigmoid_forward(x, y, ex);
    case Act::Tanh: return kn_tanh_forward(x, y, ex);
    case Act::LeakyRelu: return kn_leaky_relu_forward(slope, x, y, ex);
    case Act::GeluNone: return kn_gelu_forward(KN_GELU_NONE, x, y, ex);
    case Act::GeluTanh: return kn_gelu_forward(KN_GELU_TANH, x, y, ex);
  }
  return KN_ERR_INTERNAL;
}
inline kn_status run_backward(Act a, double slope, bool self_is_result, const kn_tensor* dy,
                       const kn_tensor* saved, const kn_tensor* dx, const kn_exec* ex) {
  switch (a) {
    case Act::Sigmoid: return kn_sigmoid_backward(dy, saved, dx, ex);
    case Act::Tanh: return kn_tanh_backward(dy, saved, dx, ex);
    case Act::LeakyRelu: return kn_leaky_relu_backward(slope, self_is_result ? 1 : 0, dy, saved, dx, ex);
    case Act::GeluNone: return kn_gelu_backward(KN_GELU_NONE, dy, saved, dx, ex);
    case Act::GeluTanh: return kn_gelu_backward(KN_GELU_TANH, dy, saved, dx, ex);
  }
  return KN_ERR_INTERNAL;
}

// Does backward take the forward's output (y) rather than x?
inline bool saves_output(Act a, bool self_is_result) {
  return a == Act::Sigmoid || a == Act::Tanh || (a == Act::LeakyRelu && self_is_result);
}

// ------------------------------------------------------------ the tester

// ActTester().op(Act::GeluTanh).shape({3, 5}).transpose("x").dtype(KN_FLOAT64).test_backward();
// Operands: x, y (forward); dy, saved (y or x, see saves_output), dx (backward).
class ActTester : public TesterBase<ActTester> {
 public:
  ActTester& op(Act a) { op_ = a; return *this; }
  ActTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  ActTester& slope(double s) { slope_ = s; return *this; }
  ActTester& self_is_result(bool v = true) { self_is_result_ = v; return *this; }
  ActTester& in_place(bool v = true) { in_place_ = v; return *this; }
  ActTester& range(double r) { range_ = r; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << act_name(op_) << " shape=" << shape_str(shape_) << " slope=" << slope_
      << (self_is_result_ ? " self_is_result" : "") << (in_place_ ? " in-place" : "")
      << (null_exec_ ? " ex=NULL" : "") << " " << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng);
    Vec want, mag;
    reference_forward(x.values(), want, mag);
    const auto x_raw = x.raw();
    HostTensor y;
    if (!in_place_) y = make_output("y", shape_);
    HostTensor& out = in_place_ ? x : y;
    const kn_tensor xk = x.kn(), yk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(run_forward(op_, slope_, &xk, &yk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("y", out.values(), want, mag, tolerance()));
    EXPECT_TRUE(out.outside_untouched("y"));
    if (!in_place_) {
      EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    }
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor saved = make_saved(rng), dy = make("dy", shape_);
    dy.fill_random(rng);
    Vec want(static_cast<size_t>(dy.numel())), mag(want.size());
    const Vec dyv = dy.values(), sv = saved.values();
    for (size_t i = 0; i < want.size(); ++i) {
      want[i] = ref_grad_from_saved(op_, dyv[i], sv[i], slope_);
      mag[i] = std::fabs(dyv[i]) * backward_scale(sv[i]);
    }
    const auto saved_raw = saved.raw(), dy_raw = dy.raw();
    HostTensor dx;
    if (!in_place_) dx = make_output("dx", shape_);
    HostTensor& out = in_place_ ? dy : dx;
    const kn_tensor dyk = dy.kn(), sk = saved.kn(), dxk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(run_backward(op_, slope_, self_is_result_, &dyk, &sk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx", out.values(), want, mag, tolerance()));
    EXPECT_TRUE(out.outside_untouched("dx"));
    EXPECT_EQ(saved.raw(), saved_raw) << "the saved tensor was modified";
    if (!in_place_) {
      EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
    }
  }

  // Central differences of L = sum(dy * f(x)) against backward (fed with the
  // forward's y where the op differentiates from its output).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    HostTensor x = make("x", shape_), dy = make("dy", shape_), y = make_output("y", shape_),
               dx = make_output("dx", shape_);
    x.fill_random(rng, -range_, range_, 1e-3), dy.fill_random(rng);
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), yk = y.kn();
      EXPECT_EQ(run_forward(op_, slope_, &xk, &yk, exec_ptr(ex)), KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    loss();
    const kn_tensor dyk = dy.kn(), xk = x.kn(), yk = y.kn(), dxk = dx.kn();
    const bool from_y = saves_output(op_, self_is_result_);
    KN_ASSERT_OK(run_backward(op_, slope_, self_is_result_, &dyk, from_y ? &yk : &xk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {}, 1e-6, 1e-7));
  }

  // 1 and 2 threads: bitwise-equal results.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), dy = make("dy", shape_);
    dy.fill_random(rng);
    Vec y_of[2], dx_of[2];
    for (int k = 0; k < 2; ++k) {
      HostTensor y = make_output("y", shape_), dx = make_output("dx", shape_);
      const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
      const kn_exec ex = make_exec(k + 1);
      KN_ASSERT_OK(run_forward(op_, slope_, &xk, &yk, &ex));
      KN_ASSERT_OK(run_backward(op_, slope_, false, &dyk, saves_output(op_, false) ? &yk : &xk, &dxk, &ex));
      y_of[k] = y.values(), dx_of[k] = dx.values();
    }
    EXPECT_TRUE(all_equal("y(1) vs y(2)", y_of[0], y_of[1]));
    EXPECT_TRUE(all_equal("dx(1) vs dx(2)", dx_of[0], dx_of[1]));
  }

 private:
  double tolerance() const { return 16 * unit_roundoff(dtype_); }

  HostTensor make_x(Rng& rng) const {
    HostTensor x = make("x", shape_);
    x.fill_random(rng, -range_, range_);
    for (int64_t i = 3; i < x.numel(); i += 7) x.set(i, (i / 7) % 2 ? 0.0 : -0.0);
    return x;
  }

  // The tensor backward takes: f(x) rounded to the dtype for ops that
  // differentiate from their output, else x.
  HostTensor make_saved(Rng& rng) const {
    HostTensor s = make_x(rng);
    if (saves_output(op_, self_is_result_)) {
      const Vec xv = s.values();
      for (int64_t i = 0; i < s.numel(); ++i) s.set(i, ref_forward(op_, xv[i], slope_));
    }
    return s;
  }

  // Per element: the size of the rounded terms, so that the tolerance is a
  // rounding-error bound (e.g. GELU's x/2 (1 + erf) cancels for x < 0).
  void reference_forward(const Vec& x, Vec& want, Vec& mag) const {
    want.resize(x.size()), mag.resize(x.size());
    const double slope = dtype_ == KN_FLOAT32 ? static_cast<float>(slope_) : slope_;
    for (size_t i = 0; i < x.size(); ++i) {
      want[i] = ref_forward(op_, x[i], slope);
      const double ax = std::fabs(x[i]);
      mag[i] = (op_ == Act::GeluNone || op_ == Act::GeluTanh) ? ax * (1 + ax * ax) : std::fabs(want[i]);
    }
  }
  double backward_scale(double saved) const {
    const double a = std::fabs(saved);
    switch (op_) {
      case Act::Sigmoid: return a * (1 + a);
      case Act::Tanh: return 1 + a * a;
      case Act::LeakyRelu: return std::max(1.0, std::fabs(slope_));
      default: return 1 + a * a * (1 + a * a);
    }
  }

  Act op_ = Act::Sigmoid;
  Shape shape_ = {3, 5};
  double slope_ = 0.01, range_ = 4.0;
  bool self_is_result_ = false, in_place_ = false;
};

// ------------------------------------------------------------ ops x cases x dtypes

// Every variant, in the order that numbers the random cases (ActRandom).
inline const Act kActs[] = {Act::Sigmoid, Act::Tanh, Act::LeakyRelu, Act::GeluNone, Act::GeluTanh};

using Case = TesterCase<ActTester>;

inline std::vector<Case> act_cases() { return elementwise_cases<ActTester>(); }

class ActCases : public ::testing::TestWithParam<std::tuple<Act, Case, int32_t>> {
 protected:
  ActTester tester() const {
    ActTester t;
    t.op(std::get<0>(GetParam())).dtype(std::get<2>(GetParam()));
    std::get<1>(GetParam()).apply(t);
    return t;
  }
};

inline std::string act_case_name(const ::testing::TestParamInfo<ActCases::ParamType>& p) {
  return std::string(act_name(std::get<0>(p.param))) + "_" + std::get<1>(p.param).name + "_" +
         dtype_str(std::get<2>(p.param));
}

// Finite differences of the backward against the forward (float64).
inline void test_gradients(Act a) {
  const Layout T = Layout::transpose();
  ActTester().op(a).shape({4, 5}).dtype(KN_FLOAT64).test_gradient();
  ActTester().op(a).shape({3, 2, 4}).dtype(KN_FLOAT64).layout("x", T.s(2)).layout("dy", T.r()).test_gradient();
  ActTester().op(a).shape({}).dtype(KN_FLOAT64).test_gradient();
}

inline void test_threads_agree(Act a) {
  ActTester().op(a).shape({300, 257}).dtype(KN_FLOAT32).test_threads_agree();
  ActTester().op(a).shape({300, 257}).dtype(KN_FLOAT64).layout("x", Layout::transpose()).test_threads_agree();
}

// Random shapes (ndim 0..4, sizes 0..6), layouts and dtypes from fixed seeds:
// case i is variant kActs[i % 5], seed i. An op runs the cases of its variants.
class ActRandom : public ::testing::TestWithParam<int> {};

inline std::vector<int> random_cases(const std::vector<Act>& acts) {
  std::vector<int> out;
  for (int i = 0; i < 30; ++i)
    if (std::find(acts.begin(), acts.end(), kActs[i % 5]) != acts.end()) out.push_back(i);
  return out;
}

inline void test_random(int i) {
  Rng rng(3000 + static_cast<uint64_t>(i));
  Shape shape(static_cast<size_t>(rng.integer(0, 4)));
  for (int64_t& d : shape) d = rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 6);
  const int nd = static_cast<int>(shape.size());
  ActTester t;
  t.op(kActs[i % 5]).shape(shape).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
      .threads(static_cast<int32_t>(rng.integer(0, 2))).seed(static_cast<uint64_t>(i))
      .slope(rng.uniform(-1, 1))
      .layout("x", random_layout(rng, nd, true)).layout("dy", random_layout(rng, nd, true))
      .layout("saved", random_layout(rng, nd, true))
      .layout("y", random_layout(rng, nd, false)).layout("dx", random_layout(rng, nd, false));
  t.test_forward();
  t.test_backward();
}

inline std::string random_case_name(const ::testing::TestParamInfo<int>& p) {
  return std::string(act_name(kActs[p.param % 5])) + "_" + std::to_string(p.param);
}

// ------------------------------------------------------------ special values

template <typename T>
std::vector<T> run_scalar_forward(Act a, const std::vector<T>& xs, double slope = 0.01) {
  std::vector<T> x = xs, y(xs.size());
  kn_tensor xk{}, yk{};
  xk.data = x.data(), yk.data = y.data();
  xk.dtype = yk.dtype = sizeof(T) == 4 ? KN_FLOAT32 : KN_FLOAT64;
  xk.device_type = yk.device_type = KN_DEVICE_CPU;
  xk.ndim = yk.ndim = 1;
  xk.shape[0] = yk.shape[0] = static_cast<int64_t>(x.size());
  xk.strides[0] = yk.strides[0] = 1;
  EXPECT_EQ(run_forward(a, slope, &xk, &yk, nullptr), KN_OK) << kn_last_error();
  return y;
}

// NaN propagates, +inf gives the limit, a float NaN stays NaN.
inline void test_nan_and_infinities(Act a) {
  SCOPED_TRACE(act_name(a));
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const auto y = run_scalar_forward<double>(a, {nan, inf});
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], a == Act::Sigmoid || a == Act::Tanh ? 1.0 : inf);
  const auto yf = run_scalar_forward<float>(a, {std::nanf(""), -std::numeric_limits<float>::infinity()});
  EXPECT_TRUE(std::isnan(yf[0]));
}

// ------------------------------------------------------------ validation

struct ActCall {
  HostTensor x{{3, 4}, KN_FLOAT32}, y{{3, 4}, KN_FLOAT32}, dy{{3, 4}, KN_FLOAT32}, dx{{3, 4}, KN_FLOAT32};
  OpCall forward, backward;
  ActCall() {
    const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
    forward.add("x", &xk), forward.add("y", &yk);
    backward.add("dy", &dyk), backward.add("saved", &xk), backward.add("dx", &dxk);
  }
};
inline ActCall& act_call() {
  static ActCall call;
  return call;
}

// The name the C entry gives the saved tensor.
inline const char* saved_name(Act a) {
  return a == Act::Sigmoid || a == Act::Tanh ? "y" : a == Act::LeakyRelu ? "self" : "x";
}

inline std::string entry(Act a, const char* dir) {
  std::string n = act_name(a);
  if (a == Act::GeluNone || a == Act::GeluTanh) n = "gelu";
  return "kn_" + n + "_" + dir;
}

struct ActErrorCase {
  Act act;
  ErrorCase c;
};
inline void PrintTo(const ActErrorCase& c, std::ostream* os) { *os << act_name(c.act) << "_" << c.c.name; }

inline std::vector<ActErrorCase> forward_error_cases(const std::vector<Act>& acts) {
  std::vector<ActErrorCase> out;
  for (Act a : acts) {
    auto cases = descriptor_error_cases({{"x", true, -1, false, true}, {"y", true, -1, true}});
    cases.push_back({"y_shape_mismatch", [](OpCall& c) { c["y"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "y"});
    cases.push_back({"y_ndim_mismatch", [](OpCall& c) { c["y"].ndim = 1; }, KN_ERR_SHAPE_MISMATCH, "y"});
    for (auto& c : cases) out.push_back({a, c});
  }
  return out;
}

inline std::vector<ActErrorCase> backward_error_cases(const std::vector<Act>& acts) {
  std::vector<ActErrorCase> out;
  for (Act a : acts) {
    auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"saved", true, -1}, {"dx", true, -1, true}});
    const std::string s = saved_name(a);
    for (ErrorCase& c : cases)  // the C entry names the argument by its real name
      if (c.arg == "saved") c.arg = s;
    cases.push_back({"saved_shape_mismatch", [](OpCall& c) { c["saved"].shape[0] = 2; }, KN_ERR_SHAPE_MISMATCH, s});
    cases.push_back({"dx_shape_mismatch", [](OpCall& c) { c["dx"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "dx"});
    for (auto& c : cases) out.push_back({a, c});
  }
  return out;
}

inline std::string act_error_name(const ::testing::TestParamInfo<ActErrorCase>& p) {
  return std::string(act_name(p.param.act)) + "_" + p.param.c.name;
}

class ActForwardErrors : public ::testing::TestWithParam<ActErrorCase> {};
class ActBackwardErrors : public ::testing::TestWithParam<ActErrorCase> {};

// Scalar arguments: exact status, message naming the argument, nothing written.
inline void expect_error(kn_status got, kn_status want, const std::string& fragment, const HostTensor& out) {
  EXPECT_EQ(got, want) << kn_status_string(got) << ": " << kn_last_error();
  EXPECT_NE(std::string(kn_last_error()).find(fragment), std::string::npos) << kn_last_error();
  for (double v : out.values()) EXPECT_TRUE(std::isnan(v)) << "output written by a failing call";
}

}  // namespace kntest

// The generic suites of the variants given (Act::...), named Name/...
#define KN_ACTIVATION_TESTS(Name, ...)                                                                  \
  namespace kntest {                                                                                    \
  TEST_P(ActCases, Forward) { tester().test_forward(); }                                                \
  TEST_P(ActCases, Backward) { tester().test_backward(); }                                              \
  INSTANTIATE_TEST_SUITE_P(Name, ActCases,                                                              \
                           ::testing::Combine(::testing::ValuesIn(std::vector<Act>{__VA_ARGS__}),       \
                                              ::testing::ValuesIn(act_cases()),                         \
                                              ::testing::Values(KN_FLOAT32, KN_FLOAT64)),               \
                           act_case_name);                                                              \
  TEST(Name, GradientFloat64) {                                                                         \
    for (Act a : {__VA_ARGS__}) test_gradients(a);                                                      \
  }                                                                                                     \
  TEST(Name, OneAndTwoThreadsAgree) {                                                                   \
    for (Act a : {__VA_ARGS__}) test_threads_agree(a);                                                  \
  }                                                                                                     \
  TEST_P(ActRandom, ForwardAndBackward) { test_random(GetParam()); }                                    \
  INSTANTIATE_TEST_SUITE_P(Name, ActRandom, ::testing::ValuesIn(random_cases({__VA_ARGS__})),           \
                           random_case_name);                                                           \
  TEST(Name, NanAndInfinities) {                                                                        \
    for (Act a : {__VA_ARGS__}) test_nan_and_infinities(a);                                             \
  }                                                                                                     \
  TEST_P(ActForwardErrors, ExactStatusAndMessage) {                                                     \
    const Act a = GetParam().act;                                                                       \
    check_error_case(act_call().forward,                                                                \
                     [a](const OpCall& c) { return run_forward(a, 0.01, c.arg("x"), c.arg("y"), c.exec()); }, \
                     entry(a, "forward"), GetParam().c);                                                \
  }                                                                                                     \
  INSTANTIATE_TEST_SUITE_P(Name, ActForwardErrors, ::testing::ValuesIn(forward_error_cases({__VA_ARGS__})), \
                           act_error_name);                                                             \
  TEST_P(ActBackwardErrors, ExactStatusAndMessage) {                                                    \
    const Act a = GetParam().act;                                                                       \
    check_error_case(act_call().backward,                                                               \
                     [a](const OpCall& c) {                                                             \
                       return run_backward(a, 0.01, false, c.arg("dy"), c.arg("saved"), c.arg("dx"), c.exec()); \
                     },                                                                                 \
                     entry(a, "backward"), GetParam().c);                                               \
  }                                                                                                     \
  INSTANTIATE_TEST_SUITE_P(Name, ActBackwardErrors, ::testing::ValuesIn(backward_error_cases({__VA_ARGS__})), \
                           act_error_name);                                                             \
  }  // namespace kntest
