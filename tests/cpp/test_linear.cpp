// kn_linear_forward / kn_linear_backward through the C ABI, against the
// double-precision reference (reference.hpp), with the shared machinery of
// tensor_util.hpp.
#include <gtest/gtest.h>

#include "reference.hpp"
#include "tensor_util.hpp"
#include "kernels/linear.h"

namespace kntest {
namespace {

// LinearTester().batch(5).in(7).out(3).transpose_x().slice_dy().dtype(KN_FLOAT64)
//     .threads(2).test_forward();   // .test_backward(); .test_gradient();
// Operands: x (N,in), w (out,in), b (out,), y (N,out), dy (N,out), dx, dw, db.
class LinearTester : public TesterBase<LinearTester> {
 public:
  LinearTester& batch(int64_t n) { N_ = n; return *this; }
  LinearTester& in(int64_t n) { in_ = n; return *this; }
  LinearTester& out(int64_t n) { out_ = n; return *this; }
  LinearTester& bias(bool b) { bias_ = b; return *this; }
  // Which gradients backward asks for (the others are passed as NULL).
  LinearTester& grads(bool dx, bool dw, bool db) { need_dx_ = dx, need_dw_ = dw, need_db_ = db; return *this; }
  // Pass x = NULL when dw is not requested and w = NULL when dx is not.
  LinearTester& omit_unneeded_inputs(bool v = true) { omit_inputs_ = v; return *this; }

  LinearTester& transpose_x() { return transpose("x"); }
  LinearTester& transpose_w() { return transpose("w"); }
  LinearTester& transpose_dy() { return transpose("dy"); }
  LinearTester& slice_x(int64_t step = 2) { return slice("x", step); }
  LinearTester& slice_w(int64_t step = 2) { return slice("w", step); }
  LinearTester& slice_dy(int64_t step = 2) { return slice("dy", step); }

  std::string describe() const {
    std::ostringstream o;
    o << "linear N=" << N_ << " in=" << in_ << " out=" << out_ << (bias_ ? " bias" : " no-bias")
      << " grads(dx,dw,db)=" << need_dx_ << need_dw_ << need_db_
      << (omit_inputs_ ? " omit-inputs" : "") << (null_exec_ ? " ex=NULL" : "") << " "
      << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", {N_, in_}), w = make("w", {out_, in_}), b = make("b", {out_});
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng);
    HostTensor y = make_output("y", {N_, out_});
    const auto x_raw = x.raw(), w_raw = w.raw(), b_raw = b.raw();

    const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_linear_forward(&xk, &wk, bias_ ? &bk : nullptr, &yk, exec_ptr(ex)));

    const ref::Vec bv = bias_ ? b.values() : ref::Vec{};
    const ref::Vec want = ref::linear_forward(x.values(), w.values(), bv, N_, in_, out_);
    const ref::Vec mag = ref::linear_forward(abs_of(x.values()), abs_of(w.values()), abs_of(bv), N_, in_, out_);
    EXPECT_TRUE(all_close("y", y.values(), want, mag, rtol(in_)));
    EXPECT_TRUE(y.outside_untouched("y"));
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    EXPECT_EQ(w.raw(), w_raw) << "w was modified";
    EXPECT_EQ(b.raw(), b_raw) << "b was modified";
  }

  struct BackwardResult {
    ref::Vec dx, dw, db;
  };

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", {N_, in_}), w = make("w", {out_, in_}), dy = make("dy", {N_, out_});
    x.fill_random(rng), w.fill_random(rng), dy.fill_random(rng);
    HostTensor dx = make_output("dx", {N_, in_}), dw = make_output("dw", {out_, in_}),
               db = make_output("db", {out_});
    const auto x_raw = x.raw(), w_raw = w.raw(), dy_raw = dy.raw();
    run_backward(x, w, dy, dx, dw, db, threads_);

    const ref::LinearGrads want = ref::linear_backward(dy.values(), x.values(), w.values(), N_, in_, out_);
    const ref::LinearGrads mag =
        ref::linear_backward(abs_of(dy.values()), abs_of(x.values()), abs_of(w.values()), N_, in_, out_);
    if (need_dx_) {
      EXPECT_TRUE(all_close("dx", dx.values(), want.dx, mag.dx, rtol(out_)));
      EXPECT_TRUE(dx.outside_untouched("dx"));
    }
    if (need_dw_) {
      EXPECT_TRUE(all_close("dw", dw.values(), want.dw, mag.dw, rtol(N_)));
      EXPECT_TRUE(dw.outside_untouched("dw"));
    }
    if (need_db_) {
      EXPECT_TRUE(all_close("db", db.values(), want.db, mag.db, rtol(N_)));
      EXPECT_TRUE(db.outside_untouched("db"));
    }
    // Gradients not asked for are not written (still NaN).
    for (const HostTensor* t : {need_dx_ ? nullptr : &dx, need_dw_ ? nullptr : &dw, need_db_ ? nullptr : &db}) {
      if (!t) continue;
      for (double v : t->values()) {
        ASSERT_TRUE(std::isnan(v)) << "an unrequested gradient was written";
      }
    }
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    EXPECT_EQ(w.raw(), w_raw) << "w was modified";
    EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
  }

  // Central differences of L = sum(dy * linear(x, w, b)) against backward
  // (float64 only). Operand layouts apply to every call.
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64) << "gradient checks run in float64";
    Rng rng(seed_);
    HostTensor x = make("x", {N_, in_}), w = make("w", {out_, in_}), b = make("b", {out_}),
               dy = make("dy", {N_, out_});
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng), dy.fill_random(rng);
    HostTensor y = make_output("y", {N_, out_});
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn();
      const kn_status s = kn_linear_forward(&xk, &wk, bias_ ? &bk : nullptr, &yk, exec_ptr(ex));
      EXPECT_EQ(s, KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    HostTensor dx = make_output("dx", {N_, in_}), dw = make_output("dw", {out_, in_}),
               db = make_output("db", {out_});
    run_backward(x, w, dy, dx, dw, db, threads_);
    const double tol = 1e-6;
    if (need_dx_) {
      EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {}, tol, tol));
    }
    if (need_dw_) {
      EXPECT_TRUE(all_close("dw vs finite differences", dw.values(), numeric_gradient(w, loss), {}, tol, tol));
    }
    if (need_db_ && bias_) {
      EXPECT_TRUE(all_close("db vs finite differences", db.values(), numeric_gradient(b, loss), {}, tol, tol));
    }
  }

  // The same forward and backward with 1 and with 2 threads. The reductions
  // (db) are documented deterministic: bitwise equal. The GEMM results
  // depend on OpenBLAS's partitioning, which is not documented: equal within
  // rounding (and each is checked against the reference by the other tests).
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", {N_, in_}), w = make("w", {out_, in_}), b = make("b", {out_}),
               dy = make("dy", {N_, out_});
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng), dy.fill_random(rng);
    std::vector<ref::Vec> results[2];
    for (int k = 0; k < 2; ++k) {
      const int32_t nt = k + 1;
      HostTensor y = make_output("y", {N_, out_}), dx = make_output("dx", {N_, in_}),
                 dw = make_output("dw", {out_, in_}), db = make_output("db", {out_});
      const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn();
      const kn_exec ex = make_exec(nt);
      KN_ASSERT_OK(kn_linear_forward(&xk, &wk, bias_ ? &bk : nullptr, &yk, &ex));
      run_backward(x, w, dy, dx, dw, db, nt);
      results[k] = {y.values(), dx.values(), dw.values(), db.values()};
    }
    const ref::Vec ymag = ref::linear_forward(abs_of(x.values()), abs_of(w.values()),
                                              bias_ ? abs_of(b.values()) : ref::Vec{}, N_, in_, out_);
    const ref::LinearGrads gmag =
        ref::linear_backward(abs_of(dy.values()), abs_of(x.values()), abs_of(w.values()), N_, in_, out_);
    EXPECT_TRUE(all_close("y(1 thread) vs y(2 threads)", results[0][0], results[1][0], ymag, rtol(in_)));
    EXPECT_TRUE(all_close("dx(1) vs dx(2)", results[0][1], results[1][1], gmag.dx, rtol(out_)));
    EXPECT_TRUE(all_close("dw(1) vs dw(2)", results[0][2], results[1][2], gmag.dw, rtol(N_)));
    EXPECT_TRUE(all_equal("db(1) vs db(2)", results[0][3], results[1][3]));
  }

 private:
  void run_backward(const HostTensor& x, const HostTensor& w, const HostTensor& dy, HostTensor& dx,
                    HostTensor& dw, HostTensor& db, int32_t nt) const {
    const kn_tensor xk = x.kn(), wk = w.kn(), dyk = dy.kn(), dxk = dx.kn(), dwk = dw.kn(), dbk = db.kn();
    const kn_exec ex = make_exec(nt);
    const kn_tensor* xp = omit_inputs_ && !need_dw_ ? nullptr : &xk;
    const kn_tensor* wp = omit_inputs_ && !need_dx_ ? nullptr : &wk;
    KN_ASSERT_OK(kn_linear_backward(&dyk, xp, wp, need_dx_ ? &dxk : nullptr, need_dw_ ? &dwk : nullptr,
                                    need_db_ ? &dbk : nullptr, exec_ptr(ex)));
  }

  int64_t N_ = 4, in_ = 5, out_ = 3;
  bool bias_ = true, need_dx_ = true, need_dw_ = true, need_db_ = true, omit_inputs_ = false;
};

// ------------------------------------------------------------ layouts x dtypes

struct Scenario {
  std::string name;
  std::function<void(LinearTester&)> apply;
};
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> layout_scenarios() {
  const Layout T = Layout::transpose(), S2 = Layout::sliced(2), S3 = Layout::sliced(3),
               R = Layout::reverse();
  return {
      {"contiguous", [](LinearTester&) {}},
      {"transposed_x", [](LinearTester& t) { t.transpose_x(); }},
      {"transposed_w", [](LinearTester& t) { t.transpose_w(); }},
      {"transposed_x_and_w", [](LinearTester& t) { t.transpose_x().transpose_w(); }},
      {"sliced_x", [](LinearTester& t) { t.slice_x(); }},
      {"sliced_w_step3", [](LinearTester& t) { t.slice_w(3); }},
      {"sliced_transposed_x", [T](LinearTester& t) { t.layout("x", T.s(2)); }},
      {"reversed_x", [R](LinearTester& t) { t.layout("x", R); }},
      {"reversed_w", [R](LinearTester& t) { t.layout("w", R); }},
      {"reversed_transposed_w", [T](LinearTester& t) { t.layout("w", T.r()); }},
      {"broadcast_x_rows", [](LinearTester& t) { t.broadcast("x", 1u); }},
      {"broadcast_x_cols", [](LinearTester& t) { t.broadcast("x", 2u); }},
      {"broadcast_w_all", [](LinearTester& t) { t.broadcast("w", 3u); }},
      {"broadcast_b", [](LinearTester& t) { t.broadcast("b", 1u); }},
      {"sliced_reversed_b", [S3](LinearTester& t) { t.layout("b", S3.r()); }},
      {"no_bias", [](LinearTester& t) { t.bias(false); }},
      {"transposed_dy", [](LinearTester& t) { t.transpose_dy(); }},
      {"sliced_dy", [](LinearTester& t) { t.slice_dy(); }},
      {"reversed_dy", [R](LinearTester& t) { t.layout("dy", R); }},
      {"broadcast_dy", [](LinearTester& t) { t.broadcast("dy", 1u); }},
      {"transposed_outputs", [T](LinearTester& t) { t.layout("y", T).layout("dx", T).layout("dw", T); }},
      {"sliced_outputs", [S2](LinearTester& t) {
         t.layout("y", S2).layout("dx", S2).layout("dw", S2).layout("db", S2);
       }},
      {"reversed_outputs", [R](LinearTester& t) {
         t.layout("y", R).layout("dx", R).layout("dw", R).layout("db", R);
       }},
      {"everything_strided", [T, S2, R](LinearTester& t) {
         t.layout("x", T.s(2)).layout("w", R.s(2)).layout("b", R).layout("dy", T.r())
             .layout("y", T.s(2)).layout("dx", S2.r()).layout("dw", T).layout("db", S2);
       }},
      {"threads_2", [](LinearTester& t) { t.threads(2); }},
      {"exec_null", [](LinearTester& t) { t.null_exec(); }},
  };
}

class LinearLayouts : public ::testing::TestWithParam<std::tuple<Scenario, int32_t>> {
 protected:
  LinearTester tester() const {
    LinearTester t;
    t.batch(6).in(7).out(5).dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(LinearLayouts, Forward) { tester().test_forward(); }
TEST_P(LinearLayouts, Backward) { tester().test_backward(); }
INSTANTIATE_TEST_SUITE_P(Linear, LinearLayouts,
                         ::testing::Combine(::testing::ValuesIn(layout_scenarios()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<LinearLayouts::ParamType>);

// Finite differences (float64) in every layout scenario except those with a
// broadcast x, w or b: perturbing one of their elements perturbs its aliases.
std::vector<Scenario> gradient_scenarios() {
  std::vector<Scenario> out;
  for (const Scenario& s : layout_scenarios())
    if (s.name.find("broadcast") == std::string::npos || s.name == "broadcast_dy") out.push_back(s);
  return out;
}

class LinearGradient : public ::testing::TestWithParam<Scenario> {};
TEST_P(LinearGradient, Float64) {
  LinearTester t;
  t.batch(3).in(4).out(2).dtype(KN_FLOAT64);
  GetParam().apply(t);
  t.test_gradient();
}
INSTANTIATE_TEST_SUITE_P(Linear, LinearGradient, ::testing::ValuesIn(gradient_scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& p) { return p.param.name; });

// ------------------------------------------------------------ sizes

struct Sizes {
  int64_t N, in, out;
};
void PrintTo(const Sizes& s, std::ostream* os) { *os << "N=" << s.N << " in=" << s.in << " out=" << s.out; }

class LinearSizes : public ::testing::TestWithParam<std::tuple<Sizes, int32_t>> {
 protected:
  LinearTester tester() const {
    const Sizes s = std::get<0>(GetParam());
    return LinearTester().batch(s.N).in(s.in).out(s.out).dtype(std::get<1>(GetParam()));
  }
};

// N = 0: y empty, dw = 0 and db = 0 (outputs start as NaN, so "not written" fails).
// in = 0: y = b, dx empty, dw empty.  out = 0: y, dw, db empty, dx = 0.
TEST_P(LinearSizes, Forward) {
  tester().test_forward();
  tester().bias(false).test_forward();
  tester().layout("y", Layout::transpose()).test_forward();
}
TEST_P(LinearSizes, Backward) {
  tester().test_backward();
  tester().layout("dw", Layout::transpose()).layout("dx", Layout::sliced(2)).test_backward();
}

INSTANTIATE_TEST_SUITE_P(
    Linear, LinearSizes,
    ::testing::Combine(::testing::Values(Sizes{0, 3, 2}, Sizes{4, 0, 3}, Sizes{4, 3, 0},
                                         Sizes{0, 0, 0}, Sizes{1, 1, 1}, Sizes{1, 7, 1},
                                         Sizes{9, 1, 8}, Sizes{64, 300, 129}),
                       ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
    [](const ::testing::TestParamInfo<LinearSizes::ParamType>& p) {
      const Sizes s = std::get<0>(p.param);
      return "N" + std::to_string(s.N) + "_in" + std::to_string(s.in) + "_out" +
             std::to_string(s.out) + "_" + dtype_str(std::get<1>(p.param));
    });

// ------------------------------------------------------------ random sweep

// Random sizes (0 included), layouts of every operand, dtype and threads,
// from a fixed seed per case: a failure prints the whole configuration.
class LinearRandom : public ::testing::TestWithParam<int> {};

TEST_P(LinearRandom, ForwardAndBackward) {
  Rng rng(1000 + static_cast<uint64_t>(GetParam()));
  auto size = [&] { return rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 12); };
  LinearTester t;
  t.batch(size()).in(size()).out(size()).bias(rng.coin())
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
      .threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()));
  for (const char* input : {"x", "w", "dy"}) t.layout(input, random_layout(rng, 2, true));
  t.layout("b", random_layout(rng, 1, true));
  for (const char* output : {"y", "dx", "dw"}) t.layout(output, random_layout(rng, 2, false));
  t.layout("db", random_layout(rng, 1, false));
  t.test_forward();
  t.test_backward();
}

INSTANTIATE_TEST_SUITE_P(Linear, LinearRandom, ::testing::Range(0, 24));

// ------------------------------------------------------------ optional outputs

struct Wanted {
  const char* name;
  bool dx, dw, db, omit_inputs;
};
void PrintTo(const Wanted& w, std::ostream* os) { *os << w.name; }

class LinearOptionalGrads : public ::testing::TestWithParam<Wanted> {};

TEST_P(LinearOptionalGrads, OnlyRequestedAreWritten) {
  const Wanted w = GetParam();
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64})
    LinearTester().batch(5).in(4).out(3).dtype(dtype).grads(w.dx, w.dw, w.db)
        .omit_unneeded_inputs(w.omit_inputs).transpose_dy().test_backward();
}

INSTANTIATE_TEST_SUITE_P(Linear, LinearOptionalGrads,
                         ::testing::Values(Wanted{"only_dx", true, false, false, false},
                                           Wanted{"only_dw", false, true, false, false},
                                           Wanted{"only_db", false, false, true, false},
                                           Wanted{"dw_and_db", false, true, true, false},
                                           Wanted{"none", false, false, false, false},
                                           Wanted{"only_dx_x_null", true, false, false, true},
                                           Wanted{"only_dw_w_null", false, true, false, true},
                                           Wanted{"only_db_x_and_w_null", false, false, true, true}),
                         [](const ::testing::TestParamInfo<Wanted>& p) { return p.param.name; });

// ------------------------------------------------------------ threads

TEST(Linear, OneAndTwoThreadsAgree) {
  // db: 512 columns over 200 rows splits across threads (grain 163 columns).
  LinearTester().batch(200).in(48).out(512).dtype(KN_FLOAT32).test_threads_agree();
  LinearTester().batch(200).in(48).out(512).dtype(KN_FLOAT64).transpose_dy().test_threads_agree();
}

TEST(Linear, LargerShapesAgainstReference) {
  LinearTester().batch(130).in(257).out(65).dtype(KN_FLOAT32).threads(2).test_forward();
  LinearTester().batch(130).in(257).out(65).dtype(KN_FLOAT32).threads(2).slice_dy().test_backward();
}

// ------------------------------------------------------------ validation

// A valid float32 call (N=3, in=4, out=2) whose arguments the tables mutate.
struct LinearCall {
  HostTensor x{{3, 4}, KN_FLOAT32}, w{{2, 4}, KN_FLOAT32}, b{{2}, KN_FLOAT32}, y{{3, 2}, KN_FLOAT32},
      dy{{3, 2}, KN_FLOAT32}, dx{{3, 4}, KN_FLOAT32}, dw{{2, 4}, KN_FLOAT32}, db{{2}, KN_FLOAT32};
  OpCall forward, backward;
  LinearCall() {
    const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn(), dyk = dy.kn(),
                    dxk = dx.kn(), dwk = dw.kn(), dbk = db.kn();
    forward.add("x", &xk), forward.add("w", &wk), forward.add("b", &bk), forward.add("y", &yk);
    backward.add("dy", &dyk), backward.add("x", &xk), backward.add("w", &wk);
    backward.add("dx", &dxk), backward.add("dw", &dwk), backward.add("db", &dbk);
  }
};
LinearCall& linear_call() {
  static LinearCall call;
  return call;
}

kn_status invoke_forward(const OpCall& c) {
  return kn_linear_forward(c.arg("x"), c.arg("w"), c.arg("b"), c.arg("y"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_linear_backward(c.arg("dy"), c.arg("x"), c.arg("w"), c.arg("dx"), c.arg("dw"),
                            c.arg("db"), c.exec());
}

std::vector<ErrorCase> forward_error_cases() {
  std::vector<ErrorCase> cases = descriptor_error_cases({{"x", true, 2, false, true},
                                                         {"w", true, 2},
                                                         {"b", false, 1},
                                                         {"y", true, 2, true}});
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  cases.push_back({"w_in_mismatch", [](OpCall& c) { c["w"].shape[1] = 5; }, SHAPE, "w"});
  cases.push_back({"b_size_mismatch", [](OpCall& c) { c["b"].shape[0] = 3; }, SHAPE, "b"});
  cases.push_back({"y_N_mismatch", [](OpCall& c) { c["y"].shape[0] = 2; }, SHAPE, "y"});
  cases.push_back({"y_out_mismatch", [](OpCall& c) { c["y"].shape[1] = 1; }, SHAPE, "y"});
  cases.push_back({"y_exact_alias_of_x", [](OpCall& c) { c["y"] = c["x"]; }, KN_ERR_INVALID_ARGUMENT, "y"});
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  std::vector<ErrorCase> cases = descriptor_error_cases({{"dy", true, 2, false, true},
                                                         {"x", false, 2},
                                                         {"w", false, 2},
                                                         {"dx", false, 2, true},
                                                         {"dw", false, 2, true},
                                                         {"db", false, 1, true}});
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  cases.push_back({"x_null_with_dw", [](OpCall& c) { c.set_null("x"); }, INVALID, "x"});
  cases.push_back({"w_null_with_dx", [](OpCall& c) { c.set_null("w"); }, INVALID, "w"});
  cases.push_back({"x_N_mismatch", [](OpCall& c) { c["x"].shape[0] = 4; }, SHAPE, "x"});
  cases.push_back({"w_out_mismatch", [](OpCall& c) { c["w"].shape[0] = 1; }, SHAPE, "w"});
  cases.push_back({"w_in_mismatch_with_x", [](OpCall& c) { c["w"].shape[1] = 3; }, SHAPE, "w"});
  cases.push_back({"dx_N_mismatch", [](OpCall& c) { c["dx"].shape[0] = 2; }, SHAPE, "dx"});
  cases.push_back({"dx_in_mismatch", [](OpCall& c) { c["dx"].shape[1] = 3; }, SHAPE, "dx"});
  cases.push_back({"dw_mismatch", [](OpCall& c) { c["dw"].shape[0] = 1; }, SHAPE, "dw"});
  cases.push_back({"db_mismatch", [](OpCall& c) { c["db"].shape[0] = 3; }, SHAPE, "db"});
  cases.push_back({"dx_exact_alias_of_x", [](OpCall& c) { c["dx"] = c["x"]; }, INVALID, "dx"});
  return cases;
}

class LinearForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(LinearForwardErrors, ExactStatusAndMessage) {
  check_error_case(linear_call().forward, invoke_forward, "kn_linear_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Linear, LinearForwardErrors, ::testing::ValuesIn(forward_error_cases()),
                         error_case_name);

class LinearBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(LinearBackwardErrors, ExactStatusAndMessage) {
  check_error_case(linear_call().backward, invoke_backward, "kn_linear_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Linear, LinearBackwardErrors, ::testing::ValuesIn(backward_error_cases()),
                         error_case_name);

// Empty tensors may have data == NULL (nothing is read or written); the
// non-empty outputs are still written: N = 0 gives dw = 0 and db = 0.
TEST(Linear, EmptyTensorsWithNullData) {
  HostTensor w({2, 3}, KN_FLOAT64), dw({2, 3}, KN_FLOAT64), db({2}, KN_FLOAT64);
  Rng rng(9);
  w.fill_random(rng), dw.fill(std::nan("")), db.fill(std::nan(""));
  kn_tensor x = HostTensor({0, 3}, KN_FLOAT64).kn(), y = HostTensor({0, 2}, KN_FLOAT64).kn(),
            dy = HostTensor({0, 2}, KN_FLOAT64).kn(), dx = x;
  x.data = y.data = dy.data = dx.data = nullptr;
  const kn_tensor wk = w.kn(), dwk = dw.kn(), dbk = db.kn();
  KN_EXPECT_OK(kn_linear_forward(&x, &wk, nullptr, &y, nullptr));
  KN_EXPECT_OK(kn_linear_backward(&dy, &x, &wk, &dx, &dwk, &dbk, nullptr));
  EXPECT_TRUE(all_equal("dw", dw.values(), ref::Vec(6, 0.0)));
  EXPECT_TRUE(all_equal("db", db.values(), ref::Vec(2, 0.0)));
}

// y may never be x, even when the shapes agree (in == out): GEMM reads x
// while writing y.
TEST(Linear, OutputAliasingInputRejectedEvenWithSameShape) {
  HostTensor x({3, 3}, KN_FLOAT32), w({3, 3}, KN_FLOAT32);
  Rng rng(7);
  x.fill_random(rng), w.fill_random(rng);
  const auto before = x.values();
  const kn_tensor xk = x.kn(), wk = w.kn();
  EXPECT_EQ(kn_linear_forward(&xk, &wk, nullptr, &xk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_linear_forward: y"), std::string::npos) << kn_last_error();
  EXPECT_EQ(x.values(), before) << "a rejected call wrote its output";
  // dx aliasing dy (N, out) == (N, in) in backward: rejected too.
  HostTensor dy({3, 3}, KN_FLOAT32);
  dy.fill_random(rng);
  const kn_tensor dyk = dy.kn();
  EXPECT_EQ(kn_linear_backward(&dyk, &xk, &wk, &dyk, nullptr, nullptr, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_linear_backward: dx"), std::string::npos) << kn_last_error();
}

}  // namespace
}  // namespace kntest
