// The GoogleTest suite of an element-wise op written with the scaffold
// (tests/cpp/test_<op>.cpp), against a naive double-precision reference:
//
//   kntest::ElementwiseOp spec() {
//     kntest::ElementwiseOp op;
//     op.name = "softplus";
//     op.params = {{"beta", 1.0, ScalarKind::Float, ScalarRule::Nonzero}, ...};
//     op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {...};
//     op.backward = ...;                      // (p, dy, saved, dx, ex)
//     op.reference_forward = [](double x, const Params& p) { return ...; };
//     op.reference_derivative = [](double x, const Params& p) { return ...; };
//     return op;
//   }
//   KN_ELEMENTWISE_OP_TESTS(Softplus, spec)
//
// What it runs (names Softplus/...):
//   Cases.{Forward,Backward}/<layout>_<dtype>   forward and backward against the
//       reference: 0-d to 8-d, size 0, transposed, sliced, reversed, mixed and
//       broadcast inputs and grad_out, in place, 2 threads on large shapes, ex = NULL
//   Random.ForwardAndBackward/<seed>            random shapes, layouts, dtypes, threads
//   Params.OtherValues                          the reference at other parameter values
//   Gradient.FiniteDifferences                  backward vs central differences of the
//                                               forward (float64; independent of the reference)
//   Threads.OneAndTwoAgree                      bitwise, 1 vs 2 threads
//   Threads.ConcurrentCallsMatchSerial          8 threads, mixed thread counts, same bits
//   SpecialValues.NanAndInfinities              NaN and +-inf as the reference says
//   ForwardErrors / BackwardErrors              every descriptor error: exact status, message
//   ScalarErrors.Refused                        NaN / inf / out-of-domain scalars refused,
//                                               nothing written
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "tensor_util.hpp"

namespace kntest {

using Params = std::vector<double>;  // the op's scalar parameters, in C order, as doubles

enum class ScalarKind { Float, Int, Bool };
enum class ScalarRule { Any, Positive, Nonnegative, Nonzero };

struct ScalarParam {
  std::string name;
  double value;  // the default
  ScalarKind kind = ScalarKind::Float;
  ScalarRule rule = ScalarRule::Any;
};

struct ElementwiseOp {
  std::string name;
  std::vector<ScalarParam> params;
  bool backward_from_output = false;  // backward takes y, not x
  std::function<kn_status(const Params&, const kn_tensor*, const kn_tensor*, const kn_exec*)> forward;
  std::function<kn_status(const Params&, const kn_tensor*, const kn_tensor*, const kn_tensor*,
                          const kn_exec*)>
      backward;
  std::function<double(double, const Params&)> reference_forward, reference_derivative;
  // Set while the reference is still the scaffold's placeholder: every test
  // then fails with this message.
  const char* reference_todo = nullptr;
  double range = 4.0;      // x drawn from [-range, range]
  double tolerance = 16;   // in units of the dtype's rounding error, relative to the magnitudes
  Params defaults() const {
    Params p;
    for (const ScalarParam& s : params) p.push_back(s.value);
    return p;
  }
  std::string saved_name() const { return backward_from_output ? "y" : "x"; }
};

// ElementwiseTester(op).shape({3, 5}).transpose("x").dtype(KN_FLOAT64).test_backward();
// Operands: x, y (forward); dy, saved (x or y), dx (backward).
class ElementwiseTester : public TesterBase<ElementwiseTester> {
 public:
  explicit ElementwiseTester(const ElementwiseOp& op) : op_(op), params_(op.defaults()), range_(op.range) {}
  ElementwiseTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  ElementwiseTester& params(Params p) { params_ = std::move(p); return *this; }
  ElementwiseTester& in_place(bool v = true) { in_place_ = v; return *this; }
  // x drawn from [-r, r] (default: the op's range).
  ElementwiseTester& range(double r) { range_ = r; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << op_.name << " shape=" << shape_str(shape_);
    for (size_t i = 0; i < params_.size(); ++i) o << " " << op_.params[i].name << "=" << params_[i];
    o << (in_place_ ? " in-place" : "") << (null_exec_ ? " ex=NULL" : "") << " " << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    check_written();
    Rng rng(seed_);
    HostTensor x = make_x(rng);
    const Vec xv = x.values();
    Vec want(xv.size()), mag(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) {
      want[i] = ref_f(xv[i]);
      mag[i] = std::max(std::fabs(want[i]), std::fabs(xv[i] * ref_d(xv[i])));
    }
    const auto x_raw = x.raw();
    HostTensor y;
    if (!in_place_) y = make_output("y", shape_);
    HostTensor& out = in_place_ ? x : y;
    const kn_tensor xk = x.kn(), yk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(op_.forward(params_, &xk, &yk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("y", out.values(), want, mag, tolerance()));
    EXPECT_TRUE(out.outside_untouched("y"));
    if (!in_place_) {
      EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    }
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    check_written();
    Rng rng(seed_);
    // x drawn in the saved tensor's own layout (which may broadcast: then the
    // elements that share memory share x), then saved = x or f(x) rounded.
    HostTensor saved = make_x(rng, "saved"), dy = make("dy", shape_);
    dy.fill_random(rng);
    const Vec xv = saved.values();
    if (op_.backward_from_output)
      for (int64_t i = 0; i < saved.numel(); ++i) saved.set(i, ref_f(xv[static_cast<size_t>(i)]));
    const Vec dyv = dy.values(), sv = saved.values();
    Vec want(dyv.size()), mag(dyv.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const double d = ref_d(xv[i]);
      want[i] = dyv[i] * d;
      mag[i] = std::fabs(dyv[i]) * (std::fabs(d) + std::max(1.0, std::fabs(sv[i])));
    }
    const auto saved_raw = saved.raw(), dy_raw = dy.raw();
    HostTensor dx;
    if (!in_place_) dx = make_output("dx", shape_);
    HostTensor& out = in_place_ ? dy : dx;
    const kn_tensor dyk = dy.kn(), sk = saved.kn(), dxk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(op_.backward(params_, &dyk, &sk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx", out.values(), want, mag, tolerance()));
    EXPECT_TRUE(out.outside_untouched("dx"));
    EXPECT_EQ(saved.raw(), saved_raw) << "the saved tensor was modified";
    if (!in_place_) {
      EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
    }
  }

  // Central differences of L = sum(dy * f(x)) against backward: checks the
  // backward formula against the forward formula, not against the reference.
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    HostTensor x = make("x", shape_), dy = make("dy", shape_), y = make_output("y", shape_),
               dx = make_output("dx", shape_);
    x.fill_random(rng, -op_.range, op_.range, 1e-3), dy.fill_random(rng);
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), yk = y.kn();
      EXPECT_EQ(op_.forward(params_, &xk, &yk, exec_ptr(ex)), KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    loss();
    const kn_tensor dyk = dy.kn(), xk = x.kn(), yk = y.kn(), dxk = dx.kn();
    KN_ASSERT_OK(op_.backward(params_, &dyk, op_.backward_from_output ? &yk : &xk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {}, 1e-6, 1e-7));
  }

  // Forward and backward with 1 and with 2 threads: the same bits.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Vec y_of[2], dx_of[2];
    for (int k = 0; k < 2; ++k) run_both(k + 1, y_of[k], dx_of[k]);
    EXPECT_TRUE(all_equal("y(1) vs y(2)", y_of[0], y_of[1]));
    EXPECT_TRUE(all_equal("dx(1) vs dx(2)", dx_of[0], dx_of[1]));
  }

  // 8 threads at once, each calling with its own thread count (1, 2, 0 =
  // default), against the serial result: the same bits (the library's rule
  // for concurrent calls, see kernels.h).
  void test_concurrent() const {
    SCOPED_TRACE(describe());
    Vec y_ref, dx_ref;
    run_both(1, y_ref, dx_ref);
    std::vector<std::thread> pool;
    std::vector<int> mismatches(8, 0);
    for (int t = 0; t < 8; ++t)
      pool.emplace_back([&, t] {
        for (int r = 0; r < 4; ++r) {
          Vec yv, dxv;
          run_both((t + r) % 3, yv, dxv);
          if (!(yv == y_ref) || !(dxv == dx_ref)) ++mismatches[static_cast<size_t>(t)];
        }
      });
    for (auto& th : pool) th.join();
    for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << "thread " << t;
  }

 private:
  using Vec = std::vector<double>;
  // The scaffold's placeholders, in the order a person fills them: first the
  // kernel's formulas (the C entry refuses to run until they are written),
  // then the reference.
  void check_written() const {
    HostTensor x({1}, KN_FLOAT64), y({1}, KN_FLOAT64);
    const kn_tensor xk = x.kn(), yk = y.kn();
    const kn_status s = op_.forward(params_, &xk, &yk, nullptr);
    if (s == KN_ERR_UNSUPPORTED) FAIL() << kn_last_error();
    if (op_.reference_todo) FAIL() << op_.reference_todo;
  }
  double tolerance() const { return op_.tolerance * unit_roundoff(dtype_); }
  // The reference at the parameters as the kernel sees them (rounded to T).
  Params params_in_t() const {
    Params p = params_;
    if (dtype_ == KN_FLOAT32)
      for (double& v : p) v = static_cast<float>(v);
    return p;
  }
  double ref_f(double x) const { return op_.reference_forward(x, params_in_t()); }
  double ref_d(double x) const { return op_.reference_derivative(x, params_in_t()); }

  HostTensor make_x(Rng& rng, const std::string& operand = "x") const {
    HostTensor x = make(operand, shape_);
    x.fill_random(rng, -range_, range_);
    for (int64_t i = 3; i < x.numel(); i += 7) x.set(i, (i / 7) % 2 ? 0.0 : -0.0);
    return x;
  }

  // Plain contiguous forward + backward with `threads`; values out.
  void run_both(int threads, Vec& yv, Vec& dxv) const {
    Rng rng(seed_);
    HostTensor x = make_x(rng), dy = make("dy", shape_), y = make_output("y", shape_),
               dx = make_output("dx", shape_);
    dy.fill_random(rng);
    const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
    const kn_exec ex = make_exec(threads);
    EXPECT_EQ(op_.forward(params_, &xk, &yk, &ex), KN_OK) << kn_last_error();
    EXPECT_EQ(op_.backward(params_, &dyk, op_.backward_from_output ? &yk : &xk, &dxk, &ex), KN_OK)
        << kn_last_error();
    yv = y.values(), dxv = dx.values();
  }

  const ElementwiseOp& op_;
  Params params_;
  Shape shape_ = {3, 5};
  bool in_place_ = false;
  double range_;
};

// ------------------------------------------------------------ the suites

// The layouts every element-wise suite runs; Tester: any fluent tester with
// shape, layout, broadcast, in_place, range, threads and null_exec (the
// activations' ActTester uses it too).
template <typename Tester = ElementwiseTester>
std::vector<TesterCase<Tester>> elementwise_cases() {
  using C = Tester;
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"contiguous_2d", [](C&) {}},
      {"scalar_0d", [](C& t) { t.shape({}); }},
      {"vector_1d", [](C& t) { t.shape({17}); }},
      {"max_dims_8d", [](C& t) { t.shape({2, 1, 3, 2, 1, 2, 2, 3}); }},
      {"size0_first", [](C& t) { t.shape({0, 4}); }},
      {"size0_last", [](C& t) { t.shape({4, 3, 0}); }},
      {"transposed_x", [T](C& t) { t.shape({4, 3, 5}).layout("x", T).layout("saved", T); }},
      {"transposed_outputs", [T](C& t) { t.shape({4, 3, 5}).layout("y", T).layout("dx", T); }},
      {"sliced_all", [S](C& t) {
         t.shape({4, 6}).layout("x", S).layout("y", S).layout("dy", S).layout("dx", S).layout("saved", S);
       }},
      {"reversed_inputs", [R](C& t) { t.shape({3, 4, 2}).layout("x", R).layout("dy", R).layout("saved", R); }},
      {"mixed_layouts", [T, S, R](C& t) {
         t.shape({3, 4, 5}).layout("x", T.s(2)).layout("y", R).layout("dy", S.r()).layout("dx", T).layout("saved", S);
       }},
      {"broadcast_x", [](C& t) { t.shape({4, 5}).broadcast("x", 1u).broadcast("saved", 1u); }},
      {"broadcast_dy", [](C& t) { t.shape({4, 5}).broadcast("dy", 2u); }},
      {"in_place", [](C& t) { t.shape({5, 6}).in_place(); }},
      {"in_place_transposed", [T](C& t) { t.shape({5, 6}).layout("x", T).layout("dy", T).in_place(); }},
      {"threads_2_large", [](C& t) { t.shape({300, 257}).threads(2); }},
      {"threads_2_large_strided", [T](C& t) { t.shape({300, 257}).threads(2).layout("x", T).layout("dx", T); }},
      {"exec_null", [](C& t) { t.null_exec(); }},
      {"wide_range", [](C& t) { t.shape({7, 9}).range(30); }},
  };
}

// Values of one parameter that the C entry must refuse (and the reason's text).
inline std::vector<std::pair<double, std::string>> bad_values(const ScalarParam& p) {
  std::vector<std::pair<double, std::string>> v;
  if (p.kind == ScalarKind::Float)
    for (double d : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()})
      v.push_back({d, "finite"});
  if (p.kind == ScalarKind::Bool) v.push_back({2, "["}), v.push_back({-1, "["});
  switch (p.rule) {
    case ScalarRule::Positive: v.push_back({0, "> 0"}), v.push_back({-1, "> 0"}); break;
    case ScalarRule::Nonnegative: v.push_back({-1, ">= 0"}); break;
    case ScalarRule::Nonzero: v.push_back({0, "!= 0"}); break;
    case ScalarRule::Any: break;
  }
  return v;
}

// Other valid values of the parameters: each one scaled (or flipped) alone.
inline std::vector<Params> other_params(const ElementwiseOp& op) {
  std::vector<Params> out;
  for (size_t i = 0; i < op.params.size(); ++i) {
    const ScalarParam& s = op.params[i];
    std::vector<double> values;
    if (s.kind == ScalarKind::Bool) values = {s.value == 0 ? 1.0 : 0.0};
    else if (s.kind == ScalarKind::Int) values = {s.value + 1, s.value * 2 + 1};
    else values = {s.value * 0.5 + (s.value == 0 ? 0.25 : 0), s.value * 2 + (s.value == 0 ? 1.5 : 0)};
    for (double v : values) {
      const bool ok = s.rule == ScalarRule::Any || (s.rule == ScalarRule::Positive && v > 0) ||
                      (s.rule == ScalarRule::Nonnegative && v >= 0) || (s.rule == ScalarRule::Nonzero && v != 0);
      if (!ok) continue;
      Params p = op.defaults();
      p[i] = v;
      out.push_back(p);
    }
  }
  return out;
}

}  // namespace kntest

// The whole suite of an op, from `spec` (a function returning its ElementwiseOp).
#define KN_ELEMENTWISE_OP_TESTS(Name, spec)                                                         \
  namespace {                                                                                       \
  const kntest::ElementwiseOp& Name##_op() {                                                        \
    static const kntest::ElementwiseOp op = spec();                                                 \
    return op;                                                                                      \
  }                                                                                                 \
  using Name##Case = kntest::TesterCase<kntest::ElementwiseTester>;                                 \
  class Name##Cases : public ::testing::TestWithParam<std::tuple<Name##Case, int32_t>> {            \
   protected:                                                                                       \
    kntest::ElementwiseTester tester() const {                                                      \
      kntest::ElementwiseTester t(Name##_op());                                                     \
      t.dtype(std::get<1>(GetParam()));                                                             \
      std::get<0>(GetParam()).apply(t);                                                             \
      return t;                                                                                     \
    }                                                                                               \
  };                                                                                                \
  TEST_P(Name##Cases, Forward) { tester().test_forward(); }                                         \
  TEST_P(Name##Cases, Backward) { tester().test_backward(); }                                       \
  INSTANTIATE_TEST_SUITE_P(Name, Name##Cases,                                                       \
                           ::testing::Combine(::testing::ValuesIn(kntest::elementwise_cases()),     \
                                              ::testing::Values(KN_FLOAT32, KN_FLOAT64)),           \
                           kntest::case_dtype_name<Name##Cases::ParamType>);                        \
  class Name##Random : public ::testing::TestWithParam<int> {};                                     \
  TEST_P(Name##Random, ForwardAndBackward) {                                                        \
    using namespace kntest;                                                                         \
    Rng rng(3000 + static_cast<uint64_t>(GetParam()));                                              \
    Shape shape(static_cast<size_t>(rng.integer(0, 4)));                                            \
    for (int64_t& d : shape) d = rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 6);                    \
    const int nd = static_cast<int>(shape.size());                                                  \
    ElementwiseTester t(Name##_op());                                                               \
    t.shape(shape).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)                                      \
        .threads(static_cast<int32_t>(rng.integer(0, 2))).seed(static_cast<uint64_t>(GetParam()))   \
        .layout("x", random_layout(rng, nd, true)).layout("dy", random_layout(rng, nd, true))       \
        .layout("saved", random_layout(rng, nd, true))                                              \
        .layout("y", random_layout(rng, nd, false)).layout("dx", random_layout(rng, nd, false));    \
    t.test_forward();                                                                               \
    t.test_backward();                                                                              \
  }                                                                                                 \
  INSTANTIATE_TEST_SUITE_P(Name, Name##Random, ::testing::Range(0, 20));                            \
  TEST(Name##Params, OtherValues) {                                                                 \
    for (const kntest::Params& p : kntest::other_params(Name##_op()))                               \
      for (int32_t dt : {KN_FLOAT32, KN_FLOAT64}) {                                                 \
        kntest::ElementwiseTester(Name##_op()).params(p).shape({6, 7}).dtype(dt).test_forward();    \
        kntest::ElementwiseTester(Name##_op()).params(p).shape({6, 7}).dtype(dt).test_backward();   \
      }                                                                                             \
  }                                                                                                 \
  TEST(Name##Gradient, FiniteDifferences) {                                                         \
    const kntest::Layout T = kntest::Layout::transpose();                                           \
    kntest::ElementwiseTester(Name##_op()).shape({4, 5}).dtype(KN_FLOAT64).test_gradient();         \
    kntest::ElementwiseTester(Name##_op()).shape({3, 2, 4}).dtype(KN_FLOAT64)                       \
        .layout("x", T.s(2)).layout("dy", T.r()).test_gradient();                                   \
    kntest::ElementwiseTester(Name##_op()).shape({}).dtype(KN_FLOAT64).test_gradient();             \
    for (const kntest::Params& p : kntest::other_params(Name##_op()))                               \
      kntest::ElementwiseTester(Name##_op()).params(p).shape({3, 4}).dtype(KN_FLOAT64).test_gradient(); \
  }                                                                                                 \
  TEST(Name##Threads, OneAndTwoAgree) {                                                             \
    kntest::ElementwiseTester(Name##_op()).shape({300, 257}).dtype(KN_FLOAT32).test_threads_agree(); \
    kntest::ElementwiseTester(Name##_op()).shape({300, 257}).dtype(KN_FLOAT64)                      \
        .layout("x", kntest::Layout::transpose()).test_threads_agree();                             \
  }                                                                                                 \
  TEST(Name##Threads, ConcurrentCallsMatchSerial) {                                                 \
    kntest::ElementwiseTester(Name##_op()).shape({256, 129}).dtype(KN_FLOAT32).test_concurrent();   \
  }                                                                                                 \
  TEST(Name##SpecialValues, NanAndInfinities) {                                                     \
    const kntest::ElementwiseOp& op = Name##_op();                                                  \
    ASSERT_EQ(op.reference_todo, nullptr) << op.reference_todo;                                     \
    const double inf = std::numeric_limits<double>::infinity();                                     \
    std::vector<double> xs = {std::nan(""), inf, -inf}, y(3, 0.0);                                  \
    kn_tensor xk{}, yk{};                                                                           \
    xk.data = xs.data(), yk.data = y.data();                                                        \
    xk.dtype = yk.dtype = KN_FLOAT64;                                                               \
    xk.device_type = yk.device_type = KN_DEVICE_CPU;                                                \
    xk.ndim = yk.ndim = 1;                                                                          \
    xk.shape[0] = yk.shape[0] = 3;                                                                  \
    xk.strides[0] = yk.strides[0] = 1;                                                              \
    KN_ASSERT_OK(op.forward(op.defaults(), &xk, &yk, nullptr));                                     \
    for (size_t i = 0; i < 3; ++i) {                                                                \
      const double want = op.reference_forward(xs[i], op.defaults());                               \
      EXPECT_TRUE(kntest::same_value(y[i], want) ||                                                 \
                  (std::isfinite(want) && std::fabs(y[i] - want) <= 1e-12 * (1 + std::fabs(want)))) \
          << "f(" << xs[i] << ") = " << y[i] << ", the reference says " << want;                    \
    }                                                                                               \
  }                                                                                                 \
  struct Name##Call {                                                                               \
    kntest::HostTensor x{{3, 4}, KN_FLOAT32}, y{{3, 4}, KN_FLOAT32}, dy{{3, 4}, KN_FLOAT32},        \
        dx{{3, 4}, KN_FLOAT32};                                                                     \
    kntest::OpCall forward, backward;                                                               \
    Name##Call() {                                                                                  \
      const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();                       \
      forward.add("x", &xk), forward.add("y", &yk);                                                 \
      backward.add("dy", &dyk), backward.add("saved", &xk), backward.add("dx", &dxk);               \
    }                                                                                               \
  };                                                                                                \
  Name##Call& Name##_call() {                                                                       \
    static Name##Call call;                                                                         \
    return call;                                                                                    \
  }                                                                                                 \
  std::vector<kntest::ErrorCase> Name##_forward_errors() {                                          \
    auto cases = kntest::descriptor_error_cases({{"x", true, -1, false, true}, {"y", true, -1, true}}); \
    cases.push_back({"y_shape_mismatch", [](kntest::OpCall& c) { c["y"].shape[1] = 3; },            \
                     KN_ERR_SHAPE_MISMATCH, "y"});                                                  \
    cases.push_back({"y_ndim_mismatch", [](kntest::OpCall& c) { c["y"].ndim = 1; },                 \
                     KN_ERR_SHAPE_MISMATCH, "y"});                                                  \
    return cases;                                                                                   \
  }                                                                                                 \
  std::vector<kntest::ErrorCase> Name##_backward_errors() {                                         \
    auto cases = kntest::descriptor_error_cases(                                                    \
        {{"dy", true, -1, false, true}, {"saved", true, -1}, {"dx", true, -1, true}});              \
    const std::string s = Name##_op().saved_name();                                                 \
    for (kntest::ErrorCase& c : cases)                                                              \
      if (c.arg == "saved") c.arg = s;                                                              \
    cases.push_back({"saved_shape_mismatch", [](kntest::OpCall& c) { c["saved"].shape[0] = 2; },    \
                     KN_ERR_SHAPE_MISMATCH, s});                                                    \
    cases.push_back({"dx_shape_mismatch", [](kntest::OpCall& c) { c["dx"].shape[1] = 3; },          \
                     KN_ERR_SHAPE_MISMATCH, "dx"});                                                 \
    return cases;                                                                                   \
  }                                                                                                 \
  class Name##ForwardErrors : public ::testing::TestWithParam<kntest::ErrorCase> {};                \
  TEST_P(Name##ForwardErrors, ExactStatusAndMessage) {                                              \
    const kntest::ElementwiseOp& op = Name##_op();                                                  \
    kntest::check_error_case(                                                                       \
        Name##_call().forward,                                                                      \
        [&op](const kntest::OpCall& c) { return op.forward(op.defaults(), c.arg("x"), c.arg("y"), c.exec()); }, \
        "kn_" + op.name + "_forward", GetParam());                                                  \
  }                                                                                                 \
  INSTANTIATE_TEST_SUITE_P(Name, Name##ForwardErrors, ::testing::ValuesIn(Name##_forward_errors()), \
                           kntest::error_case_name);                                                \
  class Name##BackwardErrors : public ::testing::TestWithParam<kntest::ErrorCase> {};               \
  TEST_P(Name##BackwardErrors, ExactStatusAndMessage) {                                             \
    const kntest::ElementwiseOp& op = Name##_op();                                                  \
    kntest::check_error_case(                                                                       \
        Name##_call().backward,                                                                     \
        [&op](const kntest::OpCall& c) {                                                            \
          return op.backward(op.defaults(), c.arg("dy"), c.arg("saved"), c.arg("dx"), c.exec());    \
        },                                                                                          \
        "kn_" + op.name + "_backward", GetParam());                                                 \
  }                                                                                                 \
  INSTANTIATE_TEST_SUITE_P(Name, Name##BackwardErrors, ::testing::ValuesIn(Name##_backward_errors()), \
                           kntest::error_case_name);                                                \
  TEST(Name##ScalarErrors, Refused) {                                                               \
    const kntest::ElementwiseOp& op = Name##_op();                                                  \
    kntest::HostTensor x({3, 4}, KN_FLOAT64), y({3, 4}, KN_FLOAT64), dy({3, 4}, KN_FLOAT64);        \
    const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn();                                        \
    for (size_t i = 0; i < op.params.size(); ++i)                                                   \
      for (const auto& [value, reason] : kntest::bad_values(op.params[i])) {                        \
        kntest::Params p = op.defaults();                                                           \
        p[i] = value;                                                                               \
        for (int dir = 0; dir < 2; ++dir) {                                                         \
          y.fill(std::nan(""));                                                                     \
          const kn_status s = dir == 0 ? op.forward(p, &xk, &yk, nullptr)                           \
                                       : op.backward(p, &dyk, &xk, &yk, nullptr);                   \
          const std::string entry = "kn_" + op.name + (dir == 0 ? "_forward" : "_backward");        \
          SCOPED_TRACE(entry + " " + op.params[i].name + "=" + std::to_string(value));              \
          EXPECT_EQ(s, KN_ERR_INVALID_ARGUMENT) << kn_status_string(s) << ": " << kn_last_error();  \
          const std::string m = kn_last_error();                                                    \
          EXPECT_NE(m.find(entry + ": " + op.params[i].name), std::string::npos) << m;              \
          EXPECT_NE(m.find(reason), std::string::npos) << m;                                        \
          for (double v : y.values()) EXPECT_TRUE(std::isnan(v)) << "output written by a failing call"; \
        }                                                                                           \
      }                                                                                             \
  }                                                                                                 \
  }  // namespace
