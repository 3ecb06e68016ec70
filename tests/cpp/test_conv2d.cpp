// kn_conv2d_forward / kn_conv2d_backward through the C ABI, against a naive
// double-precision reference written below, with the shared machinery of
// tensor_util.hpp.
#include <gtest/gtest.h>

#include "reference.hpp"
#include "tensor_util.hpp"
#include "kernels/conv2d.h"

namespace kntest {
namespace {

// ------------------------------------------------------------ reference

struct ConvShape {
  int64_t N, C, H, W, O, kH, kW;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, G = 1;
  int64_t Ho() const { return (H + 2 * ph - dh * (kH - 1) - 1) / sh + 1; }
  int64_t Wo() const { return (W + 2 * pw - dw * (kW - 1) - 1) / sw + 1; }
  int64_t Cg() const { return C / G; }
  int64_t Og() const { return O / G; }
  Shape x() const { return {N, C, H, W}; }
  Shape w() const { return {O, Cg(), kH, kW}; }
  Shape y() const { return {N, O, Ho(), Wo()}; }
  kn_conv2d_params params() const {
    kn_conv2d_params p{};
    p.stride[0] = sh, p.stride[1] = sw, p.padding[0] = ph, p.padding[1] = pw;
    p.dilation[0] = dh, p.dilation[1] = dw, p.groups = G;
    return p;
  }
};

// Calls f(n, o, oh, ow, c, i, j, x_index, w_index) for every product of the
// convolution whose input pixel lies inside x (the zero padding contributes nothing).
template <typename F>
void for_each_term(const ConvShape& s, F&& f) {
  const int64_t Ho = s.Ho(), Wo = s.Wo(), Cg = s.Cg(), Og = s.Og();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.O; ++o)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow)
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < s.kH; ++i)
              for (int64_t j = 0; j < s.kW; ++j) {
                const int64_t ih = oh * s.sh - s.ph + i * s.dh, iw = ow * s.sw - s.pw + j * s.dw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                const int64_t xc = (o / Og) * Cg + c;
                f(((n * s.O + o) * Ho + oh) * Wo + ow, ((n * s.C + xc) * s.H + ih) * s.W + iw,
                  ((o * Cg + c) * s.kH + i) * s.kW + j);
              }
}

ref::Vec conv_forward(const ref::Vec& x, const ref::Vec& w, const ref::Vec& b, const ConvShape& s) {
  ref::Vec y(static_cast<size_t>(shape_numel(s.y())), 0.0);
  const int64_t P = s.Ho() * s.Wo();
  if (!b.empty())
    for (size_t e = 0; e < y.size(); ++e) y[e] = b[(e / P) % s.O];
  for_each_term(s, [&](int64_t yi, int64_t xi, int64_t wi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

struct ConvGrads {
  ref::Vec dx, dw, db;
};

ConvGrads conv_backward(const ref::Vec& dy, const ref::Vec& x, const ref::Vec& w, const ConvShape& s) {
  ConvGrads g{ref::Vec(static_cast<size_t>(shape_numel(s.x())), 0.0),
              ref::Vec(static_cast<size_t>(shape_numel(s.w())), 0.0), ref::Vec(static_cast<size_t>(s.O), 0.0)};
  const int64_t P = s.Ho() * s.Wo();
  for (size_t e = 0; e < dy.size(); ++e) g.db[(e / P) % s.O] += dy[e];
  for_each_term(s, [&](int64_t yi, int64_t xi, int64_t wi) {
    g.dx[xi] += dy[yi] * w[wi];
    g.dw[wi] += dy[yi] * x[xi];
  });
  return g;
}

// ------------------------------------------------------------ tester

// Conv2dTester().batch(3).channels(4).size(7, 6).out(6).kernel(3, 2).stride(2, 1)
//     .padding(1, 0).dilation(1, 2).groups(2).transpose("x").test_backward();
// Operands: x, w, b, y, dy, dx, dw, db.
class Conv2dTester : public TesterBase<Conv2dTester> {
 public:
  Conv2dTester& batch(int64_t n) { s_.N = n; return *this; }
  Conv2dTester& channels(int64_t c) { s_.C = c; return *this; }
  Conv2dTester& size(int64_t h, int64_t w) { s_.H = h, s_.W = w; return *this; }
  Conv2dTester& out(int64_t o) { s_.O = o; return *this; }
  Conv2dTester& kernel(int64_t kh, int64_t kw) { s_.kH = kh, s_.kW = kw; return *this; }
  Conv2dTester& stride(int64_t a, int64_t b) { s_.sh = a, s_.sw = b; return *this; }
  Conv2dTester& padding(int64_t a, int64_t b) { s_.ph = a, s_.pw = b; return *this; }
  Conv2dTester& dilation(int64_t a, int64_t b) { s_.dh = a, s_.dw = b; return *this; }
  Conv2dTester& groups(int64_t g) { s_.G = g; return *this; }
  Conv2dTester& bias(bool b) { bias_ = b; return *this; }
  Conv2dTester& grads(bool dx, bool dw, bool db) { need_dx_ = dx, need_dw_ = dw, need_db_ = db; return *this; }
  Conv2dTester& omit_unneeded_inputs(bool v = true) { omit_inputs_ = v; return *this; }
  const ConvShape& shape() const { return s_; }

  std::string describe() const {
    std::ostringstream o;
    o << "conv2d N=" << s_.N << " C=" << s_.C << " HxW=" << s_.H << "x" << s_.W << " O=" << s_.O
      << " k=" << s_.kH << "x" << s_.kW << " stride=" << s_.sh << "," << s_.sw << " pad=" << s_.ph
      << "," << s_.pw << " dil=" << s_.dh << "," << s_.dw << " groups=" << s_.G
      << (bias_ ? " bias" : " no-bias") << " grads(dx,dw,db)=" << need_dx_ << need_dw_ << need_db_
      << (omit_inputs_ ? " omit-inputs" : "") << (null_exec_ ? " ex=NULL" : "") << " "
      << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", s_.x()), w = make("w", s_.w()), b = make("b", {s_.O});
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng);
    HostTensor y = make_output("y", s_.y());
    const auto x_raw = x.raw(), w_raw = w.raw(), b_raw = b.raw();
    const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn();
    const kn_exec ex = exec();
    const kn_conv2d_params p = s_.params();
    KN_ASSERT_OK(kn_conv2d_forward(&p, &xk, &wk, bias_ ? &bk : nullptr, &yk, exec_ptr(ex)));
    const ref::Vec bv = bias_ ? b.values() : ref::Vec{};
    const ref::Vec want = conv_forward(x.values(), w.values(), bv, s_);
    const ref::Vec mag = conv_forward(abs_of(x.values()), abs_of(w.values()), abs_of(bv), s_);
    EXPECT_TRUE(all_close("y", y.values(), want, mag, rtol(s_.Cg() * s_.kH * s_.kW)));
    EXPECT_TRUE(y.outside_untouched("y"));
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    EXPECT_EQ(w.raw(), w_raw) << "w was modified";
    EXPECT_EQ(b.raw(), b_raw) << "b was modified";
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", s_.x()), w = make("w", s_.w()), dy = make("dy", s_.y());
    x.fill_random(rng), w.fill_random(rng), dy.fill_random(rng);
    HostTensor dx = make_output("dx", s_.x()), dw = make_output("dw", s_.w()), db = make_output("db", {s_.O});
    const auto x_raw = x.raw(), w_raw = w.raw(), dy_raw = dy.raw();
    run_backward(x, w, dy, dx, dw, db, threads_);
    const ConvGrads want = conv_backward(dy.values(), x.values(), w.values(), s_);
    const ConvGrads mag = conv_backward(abs_of(dy.values()), abs_of(x.values()), abs_of(w.values()), s_);
    const int64_t positions = s_.N * s_.Ho() * s_.Wo();
    if (need_dx_) {
      EXPECT_TRUE(all_close("dx", dx.values(), want.dx, mag.dx, rtol(s_.Og() * s_.kH * s_.kW)));
      EXPECT_TRUE(dx.outside_untouched("dx"));
    }
    if (need_dw_) {
      EXPECT_TRUE(all_close("dw", dw.values(), want.dw, mag.dw, rtol(positions)));
      EXPECT_TRUE(dw.outside_untouched("dw"));
    }
    if (need_db_) {
      EXPECT_TRUE(all_close("db", db.values(), want.db, mag.db, rtol(positions)));
      EXPECT_TRUE(db.outside_untouched("db"));
    }
    for (const HostTensor* t : {need_dx_ ? nullptr : &dx, need_dw_ ? nullptr : &dw, need_db_ ? nullptr : &db}) {
      if (!t) continue;
      for (double v : t->values()) ASSERT_TRUE(std::isnan(v)) << "an unrequested gradient was written";
    }
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    EXPECT_EQ(w.raw(), w_raw) << "w was modified";
    EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
  }

  // Central differences of L = sum(dy * conv2d(x, w, b)) against backward (float64).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64) << "gradient checks run in float64";
    Rng rng(seed_);
    HostTensor x = make("x", s_.x()), w = make("w", s_.w()), b = make("b", {s_.O}), dy = make("dy", s_.y());
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng), dy.fill_random(rng);
    HostTensor y = make_output("y", s_.y());
    const kn_exec ex = exec();
    const kn_conv2d_params p = s_.params();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn();
      const kn_status st = kn_conv2d_forward(&p, &xk, &wk, bias_ ? &bk : nullptr, &yk, exec_ptr(ex));
      EXPECT_EQ(st, KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    HostTensor dx = make_output("dx", s_.x()), dw = make_output("dw", s_.w()), db = make_output("db", {s_.O});
    run_backward(x, w, dy, dx, dw, db, threads_);
    const double tol = 1e-6;
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {}, tol, tol));
    EXPECT_TRUE(all_close("dw vs finite differences", dw.values(), numeric_gradient(w, loss), {}, tol, tol));
    if (bias_) {
      EXPECT_TRUE(all_close("db vs finite differences", db.values(), numeric_gradient(b, loss), {}, tol, tol));
    }
  }

  // 1 vs 2 threads: dw and db are documented bit-identical; y and dx within rounding.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", s_.x()), w = make("w", s_.w()), b = make("b", {s_.O}), dy = make("dy", s_.y());
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng), dy.fill_random(rng);
    std::vector<ref::Vec> results[2];
    const kn_conv2d_params p = s_.params();
    for (int k = 0; k < 2; ++k) {
      HostTensor y = make_output("y", s_.y()), dx = make_output("dx", s_.x()), dw = make_output("dw", s_.w()),
                 db = make_output("db", {s_.O});
      const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn();
      const kn_exec ex = make_exec(k + 1);
      KN_ASSERT_OK(kn_conv2d_forward(&p, &xk, &wk, bias_ ? &bk : nullptr, &yk, &ex));
      run_backward(x, w, dy, dx, dw, db, k + 1);
      results[k] = {y.values(), dx.values(), dw.values(), db.values()};
    }
    const ref::Vec ymag = conv_forward(abs_of(x.values()), abs_of(w.values()),
                                       bias_ ? abs_of(b.values()) : ref::Vec{}, s_);
    const ConvGrads gmag = conv_backward(abs_of(dy.values()), abs_of(x.values()), abs_of(w.values()), s_);
    EXPECT_TRUE(all_close("y(1) vs y(2)", results[0][0], results[1][0], ymag, rtol(s_.Cg() * s_.kH * s_.kW)));
    EXPECT_TRUE(all_close("dx(1) vs dx(2)", results[0][1], results[1][1], gmag.dx, rtol(s_.Og() * s_.kH * s_.kW)));
    EXPECT_TRUE(all_equal("dw(1) vs dw(2)", results[0][2], results[1][2]));
    EXPECT_TRUE(all_equal("db(1) vs db(2)", results[0][3], results[1][3]));
  }

 private:
  void run_backward(const HostTensor& x, const HostTensor& w, const HostTensor& dy, HostTensor& dx,
                    HostTensor& dw, HostTensor& db, int32_t nt) const {
    const kn_tensor xk = x.kn(), wk = w.kn(), dyk = dy.kn(), dxk = dx.kn(), dwk = dw.kn(), dbk = db.kn();
    kn_exec ex = make_exec(nt);
    const kn_tensor* xp = omit_inputs_ && !need_dw_ ? nullptr : &xk;
    const kn_tensor* wp = omit_inputs_ && !need_dx_ ? nullptr : &wk;
    const kn_conv2d_params p = s_.params();
    KN_ASSERT_OK(kn_conv2d_backward(&p, &dyk, xp, wp, need_dx_ ? &dxk : nullptr, need_dw_ ? &dwk : nullptr,
                                    need_db_ ? &dbk : nullptr, null_exec_ ? nullptr : &ex));
  }

  ConvShape s_{2, 4, 7, 6, 6, 3, 2};
  bool bias_ = true, need_dx_ = true, need_dw_ = true, need_db_ = true, omit_inputs_ = false;
};

using Case = TesterCase<Conv2dTester>;

// ------------------------------------------------------------ options x layouts x dtypes

std::vector<Case> cases() {
  const Layout T = Layout::transpose(), S2 = Layout::sliced(2), R = Layout::reverse();
  return {
      {"defaults", [](Conv2dTester&) {}},
      {"stride_2_3", [](Conv2dTester& t) { t.stride(2, 3); }},
      {"padding_2_1", [](Conv2dTester& t) { t.padding(2, 1); }},
      {"dilation_2_1", [](Conv2dTester& t) { t.size(9, 7).dilation(2, 1); }},
      {"groups_2", [](Conv2dTester& t) { t.groups(2); }},
      {"depthwise", [](Conv2dTester& t) { t.channels(4).out(8).groups(4); }},
      {"everything", [](Conv2dTester& t) { t.size(10, 9).stride(2, 1).padding(1, 2).dilation(2, 2).groups(2); }},
      {"stride_beyond_kernel", [](Conv2dTester& t) { t.kernel(2, 2).stride(3, 3); }},
      {"kernel_fills_padded_input", [](Conv2dTester& t) { t.size(3, 2).kernel(5, 4).padding(1, 1); }},
      {"pointwise_1x1", [](Conv2dTester& t) { t.kernel(1, 1); }},
      {"pointwise_1x1_groups", [](Conv2dTester& t) { t.kernel(1, 1).groups(2); }},
      {"pointwise_1x1_strided", [](Conv2dTester& t) { t.kernel(1, 1).stride(2, 2); }},
      {"no_bias", [](Conv2dTester& t) { t.bias(false); }},
      {"many_images", [](Conv2dTester& t) { t.batch(9).threads(2); }},
      {"transposed_x", [T](Conv2dTester& t) { t.layout("x", T); }},
      {"sliced_x", [S2](Conv2dTester& t) { t.layout("x", S2); }},
      {"reversed_x", [R](Conv2dTester& t) { t.layout("x", R); }},
      {"broadcast_x_batch", [](Conv2dTester& t) { t.broadcast("x", 1u); }},
      {"broadcast_x_width", [](Conv2dTester& t) { t.broadcast("x", 8u); }},
      {"pointwise_transposed_x", [T](Conv2dTester& t) { t.kernel(1, 1).layout("x", T); }},
      {"transposed_w", [T](Conv2dTester& t) { t.layout("w", T); }},
      {"sliced_reversed_w", [S2](Conv2dTester& t) { t.layout("w", S2.r()); }},
      {"broadcast_w", [](Conv2dTester& t) { t.broadcast("w", 5u); }},
      {"strided_b", [S2](Conv2dTester& t) { t.layout("b", S2.r()); }},
      {"broadcast_b", [](Conv2dTester& t) { t.broadcast("b", 1u); }},
      {"transposed_dy", [T](Conv2dTester& t) { t.layout("dy", T); }},
      {"sliced_dy", [S2](Conv2dTester& t) { t.layout("dy", S2); }},
      {"broadcast_dy", [](Conv2dTester& t) { t.broadcast("dy", 9u); }},
      {"strided_outputs", [T, S2, R](Conv2dTester& t) {
         t.layout("y", T).layout("dx", S2).layout("dw", R).layout("db", S2);
       }},
      {"everything_strided_threads", [T, S2, R](Conv2dTester& t) {
         t.batch(6).groups(2).stride(2, 1).padding(1, 1).threads(2).layout("x", T.s(2))
             .layout("w", R).layout("dy", S2.r()).layout("y", S2).layout("dx", T).layout("dw", T.r());
       }},
      {"exec_null", [](Conv2dTester& t) { t.null_exec(); }},
  };
}

class Conv2dCases : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  Conv2dTester tester() const {
    Conv2dTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(Conv2dCases, Forward) { tester().test_forward(); }
TEST_P(Conv2dCases, Backward) { tester().test_backward(); }
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dCases,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<Conv2dCases::ParamType>);

// Finite differences (float64), except where an input is broadcast (its aliases move together).
class Conv2dGradient : public ::testing::TestWithParam<Case> {};
TEST_P(Conv2dGradient, Float64) {
  Conv2dTester t;
  t.batch(2).channels(2).size(5, 4).out(4).kernel(3, 2).dtype(KN_FLOAT64);
  GetParam().apply(t);
  t.test_gradient();
}
std::vector<Case> gradient_cases() {
  std::vector<Case> out;
  for (const Case& c : cases())
    if (c.name.find("broadcast") == std::string::npos || c.name == "broadcast_dy") out.push_back(c);
  return out;
}
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dGradient, ::testing::ValuesIn(gradient_cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// ------------------------------------------------------------ sizes

std::vector<Case> size_cases() {
  return {
      {"N0", [](Conv2dTester& t) { t.batch(0); }},
      {"C0", [](Conv2dTester& t) { t.channels(0).groups(1); }},
      {"O0", [](Conv2dTester& t) { t.out(0); }},
      {"N0_C0_O0", [](Conv2dTester& t) { t.batch(0).channels(0).out(0); }},
      {"H0_padded", [](Conv2dTester& t) { t.size(0, 3).kernel(1, 1).padding(1, 0); }},
      {"one_pixel", [](Conv2dTester& t) { t.batch(1).channels(1).out(1).size(1, 1).kernel(1, 1); }},
      {"lenet_conv1", [](Conv2dTester& t) { t.batch(3).channels(1).out(6).size(28, 28).kernel(5, 5).padding(2, 2); }},
      {"lenet_conv2_threads", [](Conv2dTester& t) {
         t.batch(8).channels(6).out(16).size(14, 14).kernel(5, 5).threads(2);
       }},
      {"large_image_threaded_gemm", [](Conv2dTester& t) {
         t.batch(1).channels(3).out(5).size(70, 64).kernel(3, 3).padding(1, 1).threads(2);
       }},
  };
}

class Conv2dSizes : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  Conv2dTester tester() const {
    Conv2dTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};
TEST_P(Conv2dSizes, Forward) {
  tester().test_forward();
  tester().bias(false).layout("y", Layout::transpose()).test_forward();
}
TEST_P(Conv2dSizes, Backward) {
  tester().test_backward();
  tester().layout("dw", Layout::transpose()).layout("dx", Layout::sliced(2)).test_backward();
}
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dSizes,
                         ::testing::Combine(::testing::ValuesIn(size_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<Conv2dSizes::ParamType>);

// ------------------------------------------------------------ random sweep

class Conv2dRandom : public ::testing::TestWithParam<int> {};
TEST_P(Conv2dRandom, ForwardAndBackward) {
  Rng rng(2000 + static_cast<uint64_t>(GetParam()));
  auto pick = [&](int64_t lo, int64_t hi) { return rng.integer(lo, hi); };
  Conv2dTester t;
  const int64_t G = pick(1, 3);
  t.batch(pick(0, 4)).channels(G * pick(1, 3)).out(G * pick(1, 3)).groups(G)
      .kernel(pick(1, 4), pick(1, 4)).stride(pick(1, 3), pick(1, 3)).padding(pick(0, 2), pick(0, 2))
      .dilation(pick(1, 2), pick(1, 2)).bias(rng.coin())
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(pick(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()));
  const ConvShape& s = t.shape();
  // An input big enough for the dilated kernel (sometimes exactly).
  t.size(s.dh * (s.kH - 1) + 1 - 2 * s.ph + pick(0, 6), s.dw * (s.kW - 1) + 1 - 2 * s.pw + pick(0, 6));
  if (t.shape().H < 0 || t.shape().W < 0) t.size(std::max<int64_t>(t.shape().H, 0), std::max<int64_t>(t.shape().W, 0));
  for (const char* input : {"x", "w", "dy"}) t.layout(input, random_layout(rng, 4, true));
  t.layout("b", random_layout(rng, 1, true));
  for (const char* output : {"y", "dx", "dw"}) t.layout(output, random_layout(rng, 4, false));
  t.layout("db", random_layout(rng, 1, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dRandom, ::testing::Range(0, 32));

// ------------------------------------------------------------ optional outputs

struct Wanted {
  const char* name;
  bool dx, dw, db, omit_inputs;
};
void PrintTo(const Wanted& w, std::ostream* os) { *os << w.name; }
class Conv2dOptionalGrads : public ::testing::TestWithParam<Wanted> {};
TEST_P(Conv2dOptionalGrads, OnlyRequestedAreWritten) {
  const Wanted w = GetParam();
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64})
    Conv2dTester().groups(2).stride(2, 1).padding(1, 1).dtype(dtype).grads(w.dx, w.dw, w.db)
        .omit_unneeded_inputs(w.omit_inputs).transpose("dy").test_backward();
}
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dOptionalGrads,
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

TEST(Conv2d, OneAndTwoThreadsAgree) {
  // Many chunks (images split over threads) and few images (threaded GEMMs).
  Conv2dTester().batch(8).channels(8).size(32, 32).out(5).kernel(3, 3).padding(1, 1).test_threads_agree();
  Conv2dTester().batch(8).channels(8).size(32, 32).out(5).kernel(3, 3).padding(1, 1).dtype(KN_FLOAT64)
      .transpose("dy").test_threads_agree();
  Conv2dTester().batch(2).channels(4).size(40, 40).out(6).kernel(3, 3).groups(2).test_threads_agree();
  Conv2dTester().batch(64).channels(6).size(14, 14).out(16).kernel(5, 5).test_threads_agree();
}

// ------------------------------------------------------------ Winograd
//
// float32 3x3 stride-1 convs with >= 16 input and output channels run Winograd F(2x2, 3x3)
// (kernels/cpu/conv2d_winograd.hpp): the forward (unless the direct kernels take it: so
// O > 32 here, or C * O >= 1024), and dx when the padding is <= 2 (float64 takes im2col: the same cases
// check both against the reference). Partial tiles (odd
// sizes), padding 0..3 and asymmetric, tile blocks that split tile rows and images (a
// 64x64 image has more tiles than one block), strided and broadcast operands.
std::vector<Case> winograd_cases() {
  const Layout T = Layout::transpose(), S2 = Layout::sliced(2), R = Layout::reverse();
  auto base = [](Conv2dTester& t) { t.batch(3).channels(16).size(9, 7).out(33).kernel(3, 3).padding(1, 1); };
  return {
      {"pad1_odd", [base](Conv2dTester& t) { base(t); }},
      {"pad0", [base](Conv2dTester& t) { base(t); t.padding(0, 0); }},
      {"pad2", [base](Conv2dTester& t) { base(t); t.padding(2, 2); }},
      {"pad3_dx_im2col", [base](Conv2dTester& t) { base(t); t.padding(3, 3); }},
      {"pad_asymmetric", [base](Conv2dTester& t) { base(t); t.padding(1, 0).size(6, 11); }},
      {"no_bias", [base](Conv2dTester& t) { base(t); t.bias(false); }},
      {"two_by_two_output", [base](Conv2dTester& t) { base(t); t.size(4, 4).padding(0, 0); }},
      {"over_direct", [](Conv2dTester& t) { t.batch(2).channels(32).size(10, 9).out(32).kernel(3, 3).padding(1, 1); }},
      {"wide_channels", [](Conv2dTester& t) { t.batch(2).channels(48).size(10, 12).out(24).kernel(3, 3).padding(1, 1); }},
      {"many_tiles_blocks", [](Conv2dTester& t) { t.batch(2).channels(16).size(64, 61).out(40).kernel(3, 3).padding(1, 1); }},
      {"strided_everything", [base, T, S2, R](Conv2dTester& t) {
         base(t);
         t.layout("x", T).layout("w", R).layout("dy", S2.r()).layout("y", S2).layout("dx", T).layout("dw", T.r());
       }},
      {"broadcast_x", [base](Conv2dTester& t) { base(t); t.broadcast("x", 8u); }},
      {"threads", [base](Conv2dTester& t) { base(t); t.batch(5).threads(2); }},
  };
}

class Conv2dWinograd : public Conv2dCases {};  // the same (case, dtype) fixture

TEST_P(Conv2dWinograd, Forward) { tester().test_forward(); }
TEST_P(Conv2dWinograd, Backward) { tester().test_backward(); }
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dWinograd,
                         ::testing::Combine(::testing::ValuesIn(winograd_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<Conv2dWinograd::ParamType>);

TEST(Conv2d, WinogradOneAndTwoThreadsAgree) {
  Conv2dTester().batch(4).channels(16).size(30, 30).out(48).kernel(3, 3).padding(1, 1).test_threads_agree();
  Conv2dTester().batch(1).channels(64).size(64, 64).out(16).kernel(3, 3).padding(1, 1).test_threads_agree();
  // One tile block in all: dw's single reduction group runs threaded GEMMs.
  Conv2dTester().batch(1).channels(48).size(10, 10).out(40).kernel(3, 3).padding(1, 1).test_threads_agree();
}

// ------------------------------------------------------------ validation

// A valid float32 call (N=2, C=4, 6x5, O=6, groups 2, kernel 3x2, stride (1,2), padding
// (1,0) -> y (2, 6, 6, 2)) whose arguments the tables mutate.
ConvShape call_shape() {
  ConvShape s{2, 4, 6, 5, 6, 3, 2};
  s.sw = 2, s.ph = 1, s.G = 2;
  return s;
}

struct Conv2dCall {
  ConvShape s = call_shape();
  HostTensor x{s.x(), KN_FLOAT32}, w{s.w(), KN_FLOAT32}, b{{s.O}, KN_FLOAT32}, y{s.y(), KN_FLOAT32},
      dy{s.y(), KN_FLOAT32}, dx{s.x(), KN_FLOAT32}, dw{s.w(), KN_FLOAT32}, db{{s.O}, KN_FLOAT32};
  OpCall forward, backward;
  Conv2dCall() {
    const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn(),
                    dwk = dw.kn(), dbk = db.kn();
    forward.add("x", &xk), forward.add("w", &wk), forward.add("b", &bk), forward.add("y", &yk);
    backward.add("dy", &dyk), backward.add("x", &xk), backward.add("w", &wk);
    backward.add("dx", &dxk), backward.add("dw", &dwk), backward.add("db", &dbk);
  }
};
Conv2dCall& conv_call() {
  static Conv2dCall call;
  return call;
}

kn_status invoke_forward(const OpCall& c) {
  const kn_conv2d_params p = call_shape().params();
  return kn_conv2d_forward(&p, c.arg("x"), c.arg("w"), c.arg("b"), c.arg("y"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  const kn_conv2d_params p = call_shape().params();
  return kn_conv2d_backward(&p, c.arg("dy"), c.arg("x"), c.arg("w"), c.arg("dx"), c.arg("dw"),
                            c.arg("db"), c.exec());
}

std::vector<ErrorCase> forward_error_cases() {
  std::vector<ErrorCase> cases = descriptor_error_cases(
      {{"x", true, 4, false, true}, {"w", true, 4}, {"b", false, 1}, {"y", true, 4, true}});
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  cases.push_back({"x_C_not_divisible_by_groups", [](OpCall& c) { c["x"].shape[1] = 5; }, SHAPE, "x"});
  cases.push_back({"w_C_mismatch", [](OpCall& c) { c["w"].shape[1] = 4; }, SHAPE, "w"});
  cases.push_back({"w_O_not_divisible_by_groups", [](OpCall& c) { c["w"].shape[0] = 5; }, SHAPE, "w"});
  cases.push_back({"w_kernel_zero", [](OpCall& c) { c["w"].shape[3] = 0; }, SHAPE, "w"});
  cases.push_back({"w_kernel_larger_than_padded_input", [](OpCall& c) { c["w"].shape[2] = 9; }, SHAPE, "w"});
  cases.push_back({"b_size_mismatch", [](OpCall& c) { c["b"].shape[0] = 5; }, SHAPE, "b"});
  cases.push_back({"y_N_mismatch", [](OpCall& c) { c["y"].shape[0] = 1; }, SHAPE, "y"});
  cases.push_back({"y_O_mismatch", [](OpCall& c) { c["y"].shape[1] = 4; }, SHAPE, "y"});
  cases.push_back({"y_Ho_mismatch", [](OpCall& c) { c["y"].shape[2] = 5; }, SHAPE, "y"});
  cases.push_back({"y_Wo_mismatch", [](OpCall& c) { c["y"].shape[3] = 1; }, SHAPE, "y"});
  cases.push_back({"y_aliases_x", [](OpCall& c) { c["y"].data = c["x"].data; }, INVALID, "y"});
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  std::vector<ErrorCase> cases = descriptor_error_cases({{"dy", true, 4, false, true},
                                                         {"x", false, 4},
                                                         {"w", false, 4},
                                                         {"dx", false, 4, true},
                                                         {"dw", false, 4, true},
                                                         {"db", false, 1, true}});
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  cases.push_back({"x_null_with_dw", [](OpCall& c) { c.set_null("x"); }, INVALID, "x"});
  cases.push_back({"w_null_with_dx", [](OpCall& c) { c.set_null("w"); }, INVALID, "w"});
  cases.push_back({"dy_O_not_divisible_by_groups", [](OpCall& c) { c["dy"].shape[1] = 5; }, SHAPE, "dy"});
  cases.push_back({"x_N_mismatch", [](OpCall& c) { c["x"].shape[0] = 3; }, SHAPE, "x"});
  cases.push_back({"x_C_not_divisible", [](OpCall& c) { c["x"].shape[1] = 3; }, SHAPE, "x"});
  cases.push_back({"w_O_mismatch", [](OpCall& c) { c["w"].shape[0] = 4; }, SHAPE, "w"});
  cases.push_back({"w_C_mismatch_with_x", [](OpCall& c) { c["w"].shape[1] = 1; }, SHAPE, "w"});
  cases.push_back({"w_kernel_zero", [](OpCall& c) { c["w"].shape[2] = 0; }, SHAPE, "w"});
  cases.push_back({"dx_shape_mismatch", [](OpCall& c) { c["dx"].shape[2] = 5; }, SHAPE, "dx"});
  cases.push_back({"dw_kernel_mismatch", [](OpCall& c) { c["dw"].shape[3] = 1; }, SHAPE, "dw"});
  cases.push_back({"db_mismatch", [](OpCall& c) { c["db"].shape[0] = 3; }, SHAPE, "db"});
  cases.push_back({"dy_Ho_mismatch", [](OpCall& c) { c["dy"].shape[2] = 5; }, SHAPE, "dy"});
  cases.push_back({"dy_Wo_mismatch", [](OpCall& c) { c["dy"].shape[3] = 3; }, SHAPE, "dy"});
  cases.push_back({"dy_Ho_mismatch_from_dx_and_w", [](OpCall& c) {
                     c.set_null("x"), c.set_null("dw");
                     c["dy"].shape[2] = 5;
                   }, SHAPE, "dy"});
  cases.push_back({"dy_Wo_mismatch_from_x_and_dw", [](OpCall& c) {
                     c.set_null("w"), c.set_null("dx");
                     c["dy"].shape[3] = 1;
                   }, SHAPE, "dy"});
  cases.push_back({"dx_exact_alias_of_x", [](OpCall& c) { c["dx"] = c["x"]; }, INVALID, "dx"});
  cases.push_back({"kernel_larger_than_input", [](OpCall& c) {
                     c.set_null("dw");
                     c["w"].shape[2] = 9;
                   }, SHAPE, "w"});
  return cases;
}

class Conv2dForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(Conv2dForwardErrors, ExactStatusAndMessage) {
  check_error_case(conv_call().forward, invoke_forward, "kn_conv2d_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dForwardErrors, ::testing::ValuesIn(forward_error_cases()), error_case_name);

class Conv2dBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(Conv2dBackwardErrors, ExactStatusAndMessage) {
  check_error_case(conv_call().backward, invoke_backward, "kn_conv2d_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Conv2d, Conv2dBackwardErrors, ::testing::ValuesIn(backward_error_cases()), error_case_name);

// The parameters: NULL and every out-of-range field, in forward and backward.
struct ParamCase {
  std::string name;
  std::function<void(kn_conv2d_params&)> mutate;
  std::string fragment;
};
void PrintTo(const ParamCase& c, std::ostream* os) { *os << c.name; }
class Conv2dParamErrors : public ::testing::TestWithParam<ParamCase> {};
TEST_P(Conv2dParamErrors, InvalidArgument) {
  const ParamCase& pc = GetParam();
  const Conv2dCall& c = conv_call();
  kn_conv2d_params p = call_shape().params();
  pc.mutate(p);
  const kn_tensor xk = c.x.kn(), wk = c.w.kn(), yk = c.y.kn(), dyk = c.dy.kn(), dxk = c.dx.kn();
  const std::string want_f = "kn_conv2d_forward: " + pc.fragment, want_b = "kn_conv2d_backward: " + pc.fragment;
  EXPECT_EQ(kn_conv2d_forward(&p, &xk, &wk, nullptr, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find(want_f), std::string::npos) << kn_last_error();
  EXPECT_EQ(kn_conv2d_backward(&p, &dyk, nullptr, &wk, &dxk, nullptr, nullptr, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find(want_b), std::string::npos) << kn_last_error();
}
INSTANTIATE_TEST_SUITE_P(
    Conv2d, Conv2dParamErrors,
    ::testing::Values(ParamCase{"stride0_zero", [](kn_conv2d_params& p) { p.stride[0] = 0; }, "p->stride[0]"},
                      ParamCase{"stride1_negative", [](kn_conv2d_params& p) { p.stride[1] = -1; }, "p->stride[1]"},
                      ParamCase{"padding0_negative", [](kn_conv2d_params& p) { p.padding[0] = -1; }, "p->padding[0]"},
                      ParamCase{"padding1_huge", [](kn_conv2d_params& p) { p.padding[1] = int64_t(1) << 62; }, "p->padding[1]"},
                      ParamCase{"dilation0_zero", [](kn_conv2d_params& p) { p.dilation[0] = 0; }, "p->dilation[0]"},
                      ParamCase{"dilation1_huge", [](kn_conv2d_params& p) { p.dilation[1] = INT64_MAX; }, "p->dilation[1]"},
                      ParamCase{"groups_zero", [](kn_conv2d_params& p) { p.groups = 0; }, "p->groups"},
                      ParamCase{"groups_negative", [](kn_conv2d_params& p) { p.groups = -2; }, "p->groups"}),
    [](const ::testing::TestParamInfo<ParamCase>& p) { return p.param.name; });

TEST(Conv2d, NullParams) {
  const Conv2dCall& c = conv_call();
  const kn_tensor xk = c.x.kn(), wk = c.w.kn(), yk = c.y.kn(), dyk = c.dy.kn();
  EXPECT_EQ(kn_conv2d_forward(nullptr, &xk, &wk, nullptr, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_conv2d_forward: p"), std::string::npos) << kn_last_error();
  EXPECT_EQ(kn_conv2d_backward(nullptr, &dyk, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_conv2d_backward: p"), std::string::npos) << kn_last_error();
}

// The message of a kernel larger than the padded input names the sizes involved.
TEST(Conv2d, KernelLargerThanInputMessage) {
  HostTensor x({1, 1, 3, 3}, KN_FLOAT32), w({1, 1, 4, 2}, KN_FLOAT32), y({1, 1, 1, 2}, KN_FLOAT32);
  const kn_tensor xk = x.kn(), wk = w.kn(), yk = y.kn();
  kn_conv2d_params p = ConvShape{1, 1, 3, 3, 1, 4, 2}.params();
  EXPECT_EQ(kn_conv2d_forward(&p, &xk, &wk, nullptr, &yk, nullptr), KN_ERR_SHAPE_MISMATCH);
  const std::string m = kn_last_error();
  EXPECT_NE(m.find("kn_conv2d_forward: w: the dilated kernel (kH = 4"), std::string::npos) << m;
  EXPECT_NE(m.find("H = 3 from x"), std::string::npos) << m;
  p.padding[0] = 1;  // now 3 + 2 >= 4: Ho = 2
  HostTensor y2({1, 1, 2, 2}, KN_FLOAT32);
  const kn_tensor y2k = y2.kn();
  KN_EXPECT_OK(kn_conv2d_forward(&p, &xk, &wk, nullptr, &y2k, nullptr));
}

// Empty tensors may have data == NULL; N = 0 still writes dw = 0 and db = 0.
TEST(Conv2d, EmptyBatchWithNullData) {
  HostTensor w({4, 3, 2, 2}, KN_FLOAT64), dw({4, 3, 2, 2}, KN_FLOAT64), db({4}, KN_FLOAT64);
  Rng rng(3);
  w.fill_random(rng), dw.fill(std::nan("")), db.fill(std::nan(""));
  kn_tensor x = HostTensor({0, 3, 5, 5}, KN_FLOAT64).kn(), y = HostTensor({0, 4, 4, 4}, KN_FLOAT64).kn();
  kn_tensor dy = y, dx = x;
  x.data = y.data = dy.data = dx.data = nullptr;
  const kn_tensor wk = w.kn(), dwk = dw.kn(), dbk = db.kn();
  const kn_conv2d_params p = ConvShape{0, 3, 5, 5, 4, 2, 2}.params();
  KN_EXPECT_OK(kn_conv2d_forward(&p, &x, &wk, nullptr, &y, nullptr));
  KN_EXPECT_OK(kn_conv2d_backward(&p, &dy, &x, &wk, &dx, &dwk, &dbk, nullptr));
  EXPECT_TRUE(all_equal("dw", dw.values(), ref::Vec(48, 0.0)));
  EXPECT_TRUE(all_equal("db", db.values(), ref::Vec(4, 0.0)));
}

// Found by the fuzzer (tests/fuzz): an empty dy (N = 0 or O = 0) beside huge
// H or W made the kernel form Ho * Wo and K * P past int64. Now: every
// requested gradient is 0, nothing else is computed.
TEST(Conv2d, EmptyGradOutputWithHugePlanes) {
  HostTensor w({2, 2, 1, 4}, KN_FLOAT64), dw({2, 2, 1, 4}, KN_FLOAT64), db({2}, KN_FLOAT64);
  dw.fill(std::nan("")), db.fill(std::nan(""));
  kn_tensor dy = HostTensor({0, 2, 1, 1}, KN_FLOAT64).kn(), x = HostTensor({0, 2, 1, 5}, KN_FLOAT64).kn();
  dy.shape[2] = int64_t{1} << 61, x.shape[2] = int64_t{3} << 61;
  dy.data = x.data = nullptr;
  kn_tensor dx = x;
  kn_conv2d_params p = ConvShape{0, 2, 1, 5, 2, 1, 4}.params();
  p.stride[0] = p.stride[1] = 3, p.padding[1] = 2;
  dy.shape[2] = (x.shape[2] - 1) / 3 + 1, dy.shape[3] = (5 + 4 - 3 - 1) / 3 + 1;
  const kn_tensor wk = w.kn(), dwk = dw.kn(), dbk = db.kn();
  KN_EXPECT_OK(kn_conv2d_backward(&p, &dy, &x, &wk, &dx, &dwk, &dbk, nullptr));
  EXPECT_TRUE(all_equal("dw", dw.values(), ref::Vec(16, 0.0)));
  EXPECT_TRUE(all_equal("db", db.values(), ref::Vec(2, 0.0)));
  // O = 0: dx (real memory) must be all zeros.
  HostTensor dx2({1, 2, 3, 3}, KN_FLOAT64), w0({0, 2, 1, 1}, KN_FLOAT64);
  dx2.fill(std::nan(""));
  kn_tensor dy0 = HostTensor({1, 0, 3, 3}, KN_FLOAT64).kn();
  dy0.data = nullptr;
  const kn_tensor dx2k = dx2.kn(), w0k = w0.kn();
  const kn_conv2d_params q = ConvShape{1, 2, 3, 3, 0, 1, 1}.params();
  KN_EXPECT_OK(kn_conv2d_backward(&q, &dy0, nullptr, &w0k, &dx2k, nullptr, nullptr, nullptr));
  EXPECT_TRUE(all_equal("dx", dx2.values(), ref::Vec(18, 0.0)));
}

// Issue 10, F4: an output size that overflows int64 (H = INT64_MAX - 1 on an
// empty input, padding 2^40) is refused; it used to wrap negative and any y
// height was accepted. Also groups * C/groups from w must not overflow.
TEST(Conv2d, OutputSizeOverflowRefused) {
  HostTensor w({1, 1, 1, 1}, KN_FLOAT32), y({1, 1, 1, 1}, KN_FLOAT32);
  kn_tensor x = HostTensor({1, 1, 1, 0}, KN_FLOAT32).kn();
  x.shape[2] = INT64_MAX - 1, x.data = nullptr;
  kn_tensor yk = y.kn();
  const kn_tensor wk = w.kn();
  kn_conv2d_params p = ConvShape{1, 1, 1, 1, 1, 1, 1}.params();
  p.padding[0] = int64_t{1} << 40;
  for (int64_t ho : {int64_t{1}, int64_t{-1}, INT64_MAX}) {
    yk.shape[2] = ho, yk.shape[3] = 0;
    EXPECT_NE(kn_conv2d_forward(&p, &x, &wk, nullptr, &yk, nullptr), KN_OK) << "Ho = " << ho;
  }
  yk.shape[2] = 1;
  EXPECT_EQ(kn_conv2d_forward(&p, &x, &wk, nullptr, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_conv2d_forward: x: the output size along H"),
            std::string::npos)
      << kn_last_error();
  EXPECT_NE(std::string(kn_last_error()).find("overflows int64"), std::string::npos) << kn_last_error();

  // dx's C = groups * w.shape[1] without x: 2^62 * 4 overflows.
  kn_conv2d_params q = ConvShape{1, 1, 1, 1, 1, 1, 1}.params();
  q.groups = int64_t{1} << 62;
  kn_tensor dy = HostTensor({1, 0, 1, 1}, KN_FLOAT32).kn(), w4 = HostTensor({0, 4, 1, 1}, KN_FLOAT32).kn();
  kn_tensor dx = HostTensor({1, 0, 1, 1}, KN_FLOAT32).kn();
  EXPECT_EQ(kn_conv2d_backward(&q, &dy, nullptr, &w4, &dx, nullptr, nullptr, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("p->groups: 4611686018427387904 * C/groups 4 from w overflows"),
            std::string::npos)
      << kn_last_error();
}

}  // namespace
}  // namespace kntest
