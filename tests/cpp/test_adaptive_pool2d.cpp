// kn_adaptive_avg_pool2d_* / kn_adaptive_max_pool2d_* through the C ABI, against
// naive double-precision references written below (the bins from floating-point
// floor / ceil of o * in / out, not the kernel's integer arithmetic; the
// average backward as a scatter, where the kernel gathers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/adaptive_pool2d.h"
#include "pool_test_util.hpp"
#include "tensor_util.hpp"

namespace kntest {
namespace {

// ------------------------------------------------------------ reference

// torch: start = floor(o in / out), end = ceil((o + 1) in / out).
int64_t ref_lo(int64_t o, int64_t in, int64_t out) {
  return static_cast<int64_t>(std::floor(double(o) * double(in) / double(out)));
}
int64_t ref_hi(int64_t o, int64_t in, int64_t out) {
  return static_cast<int64_t>(std::ceil(double(o + 1) * double(in) / double(out)));
}

Vec ref_avg_forward(const Vec& x, const Geo& g, Vec* magnitude) {
  Vec y(static_cast<size_t>(g.N * g.C * g.Ho * g.Wo));
  if (magnitude) magnitude->assign(y.size(), 0.0);
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oh = 0; oh < g.Ho; ++oh)
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        double s = 0, a = 0, count = 0;
        for (int64_t h = ref_lo(oh, g.H, g.Ho); h < ref_hi(oh, g.H, g.Ho); ++h)
          for (int64_t w = ref_lo(ow, g.W, g.Wo); w < ref_hi(ow, g.W, g.Wo); ++w) {
            s += x[(nc * g.H + h) * g.W + w];
            a += std::fabs(x[(nc * g.H + h) * g.W + w]);
            count += 1;
          }
        const size_t o = static_cast<size_t>((nc * g.Ho + oh) * g.Wo + ow);
        y[o] = s / count;
        if (magnitude) (*magnitude)[o] = a / count;
      }
  return y;
}

Vec ref_avg_backward(const Vec& dy, const Geo& g, Vec* magnitude) {
  Vec dx(static_cast<size_t>(g.N * g.C * g.H * g.W), 0.0);
  if (magnitude) magnitude->assign(dx.size(), 0.0);
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oh = 0; oh < g.Ho; ++oh)
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const int64_t h0 = ref_lo(oh, g.H, g.Ho), h1 = ref_hi(oh, g.H, g.Ho);
        const int64_t w0 = ref_lo(ow, g.W, g.Wo), w1 = ref_hi(ow, g.W, g.Wo);
        const double v = dy[(nc * g.Ho + oh) * g.Wo + ow] / double((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            dx[(nc * g.H + h) * g.W + w] += v;
            if (magnitude) (*magnitude)[(nc * g.H + h) * g.W + w] += std::fabs(v);
          }
      }
  return dx;
}

MaxRef ref_max_forward(const Vec& x, const Geo& g) {
  const size_t n = static_cast<size_t>(g.N * g.C * g.Ho * g.Wo);
  MaxRef r{Vec(n), std::vector<int64_t>(n)};
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oh = 0; oh < g.Ho; ++oh)
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        double m = 0;
        int64_t at = -1;
        for (int64_t h = ref_lo(oh, g.H, g.Ho); h < ref_hi(oh, g.H, g.Ho); ++h)
          for (int64_t w = ref_lo(ow, g.W, g.Wo); w < ref_hi(ow, g.W, g.Wo); ++w) {
            const double v = x[(nc * g.H + h) * g.W + w];
            if (at < 0 || v > m || std::isnan(v)) m = v, at = h * g.W + w;
          }
        const size_t o = static_cast<size_t>((nc * g.Ho + oh) * g.Wo + ow);
        r.y[o] = m, r.idx[o] = at;
      }
  return r;
}

// ------------------------------------------------------------ NCHW or NHWC operands

// A 4-D (N, C, H, W) operand, stored either as the layout says or channels-last
// (an (N, H, W, C) HostTensor seen through permuted strides). values() / set()
// use the logical NCHW order.
class Op4 {
 public:
  Op4(const Shape& s, int32_t dtype, Layout layout, bool nhwc)
      : s_(s), nhwc_(nhwc), t_(nhwc ? Shape{s[0], s[2], s[3], s[1]} : s, dtype, layout) {}
  kn_tensor kn() const {
    kn_tensor k = t_.kn();
    if (nhwc_) {
      const int64_t sh[4] = {k.shape[0], k.shape[3], k.shape[1], k.shape[2]};
      const int64_t st[4] = {k.strides[0], k.strides[3], k.strides[1], k.strides[2]};
      for (int d = 0; d < 4; ++d) k.shape[d] = sh[d], k.strides[d] = st[d];
    }
    return k;
  }
  int64_t numel() const { return t_.numel(); }
  int64_t storage_index(int64_t i) const {
    if (!nhwc_) return i;
    const int64_t w = i % s_[3], h = (i / s_[3]) % s_[2], c = (i / (s_[3] * s_[2])) % s_[1],
                  n = i / (s_[3] * s_[2] * s_[1]);
    return ((n * s_[2] + h) * s_[3] + w) * s_[1] + c;
  }
  double get(int64_t i) const { return t_.get(storage_index(i)); }
  void set(int64_t i, double v) { t_.set(storage_index(i), v); }
  Vec values() const {
    Vec v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
  void fill_random(Rng& rng) { t_.fill_random(rng); }
  void set_values_from(const Op4& o) {
    for (int64_t i = 0; i < numel(); ++i) set(i, o.get(i));
  }
  void fill(double v) { t_.fill(v); }
  std::vector<unsigned char> raw() const { return t_.raw(); }
  ::testing::AssertionResult outside_untouched(const std::string& name) const {
    return t_.outside_untouched(name);
  }

 private:
  Shape s_;
  bool nhwc_;
  HostTensor t_;
};

// ------------------------------------------------------------ tester

// AdaptivePool2dTester().max().shape({2, 3, 7, 6}).out(3, 4).nhwc("x")
//   .layout("dy", Layout::transpose()).test_forward();
// Operands: x, y, indices (forward), dy, indices, dx (backward).
class AdaptivePool2dTester : public PoolTesterBase<AdaptivePool2dTester> {
 public:
  AdaptivePool2dTester() : PoolTesterBase(Pool::Avg) {}
  AdaptivePool2dTester& out(int64_t h, int64_t w) { out_[0] = h, out_[1] = w; return *this; }
  // The operand is stored channels-last (its layout applies to the NHWC storage).
  AdaptivePool2dTester& nhwc(const std::string& operand) { nhwc_.push_back(operand); return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << (pool_ == Pool::Max ? "adaptive_max" : "adaptive_avg") << "_pool2d x=" << shape_str(shape_)
      << " out=(" << out_[0] << "," << out_[1] << ")";
    for (const auto& n : nhwc_) o << " " << n << "=NHWC";
    o << (idtype_ == KN_INT32 ? " int32-indices" : "") << (special_ ? " special" : "") << " "
      << describe_common();
    return o.str();
  }
  Geo geo() const { return {shape_[0], shape_[1], shape_[2], shape_[3], out_[0], out_[1]}; }
  Shape out_shape() const { return {shape_[0], shape_[1], out_[0], out_[1]}; }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    Op4 x = make_x(rng);
    const auto x_raw = x.raw();
    Op4 y = op("y", out_shape());
    y.fill(std::nan(""));
    IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
    ix.fill(-7777);
    const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn();
    const kn_exec ex = exec();
    if (pool_ == Pool::Max) {
      KN_ASSERT_OK(kn_adaptive_max_pool2d_forward(&xk, &yk, &ik, exec_ptr(ex)));
      const MaxRef want = ref_max_forward(x.values(), geo());
      EXPECT_TRUE(all_equal("y", y.values(), want.y));
      EXPECT_TRUE(indices_equal(ix.values(), want.idx));
      EXPECT_TRUE(ix.outside_untouched("indices"));
    } else {
      KN_ASSERT_OK(kn_adaptive_avg_pool2d_forward(&xk, &yk, exec_ptr(ex)));
      Vec mag;
      const Vec want = ref_avg_forward(x.values(), geo(), &mag);
      EXPECT_TRUE(all_close("y", y.values(), want, mag, rtol(max_bin())));
    }
    EXPECT_TRUE(y.outside_untouched("y"));
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    Op4 x = make_x(rng), dy = op("dy", out_shape());
    dy.fill_random(rng);
    const auto dy_raw = dy.raw();
    Op4 dx = op("dx", shape_);
    dx.fill(std::nan(""));
    const kn_tensor dyk = dy.kn(), dxk = dx.kn();
    const kn_exec ex = exec();
    if (pool_ == Pool::Max) {
      const MaxRef fwd = ref_max_forward(x.values(), geo());
      IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
      for (int64_t i = 0; i < ix.numel(); ++i) ix.set(i, fwd.idx[i]);
      const kn_tensor ik = ix.kn();
      KN_ASSERT_OK(kn_adaptive_max_pool2d_backward(&dyk, &ik, &dxk, exec_ptr(ex)));
      const Vec want = ref_max_backward(dy.values(), fwd.idx, geo());
      const Vec mag = ref_max_backward(abs_of(dy.values()), fwd.idx, geo());
      EXPECT_TRUE(all_close("dx", dx.values(), want, mag, rtol(max_cover())));
    } else {
      KN_ASSERT_OK(kn_adaptive_avg_pool2d_backward(&dyk, &dxk, exec_ptr(ex)));
      Vec mag;
      const Vec want = ref_avg_backward(dy.values(), geo(), &mag);
      EXPECT_TRUE(all_close("dx", dx.values(), want, mag, rtol(max_cover())));
    }
    EXPECT_TRUE(dx.outside_untouched("dx"));
    EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
  }

  // Central differences of L = sum(dy * pool(x)) against the backward (float64;
  // distinct x values for max).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    Op4 x = op("x", shape_), dy = op("dy", out_shape()), y = op("y", out_shape()), dx = op("dx", shape_);
    distinct_fill(x, rng);
    dy.fill_random(rng);
    IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn();
      const kn_status s = pool_ == Pool::Max ? kn_adaptive_max_pool2d_forward(&xk, &yk, &ik, exec_ptr(ex))
                                             : kn_adaptive_avg_pool2d_forward(&xk, &yk, exec_ptr(ex));
      EXPECT_EQ(s, KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    loss();
    const kn_tensor dyk = dy.kn(), ik = ix.kn(), dxk = dx.kn();
    if (pool_ == Pool::Max)
      KN_ASSERT_OK(kn_adaptive_max_pool2d_backward(&dyk, &ik, &dxk, exec_ptr(ex)));
    else
      KN_ASSERT_OK(kn_adaptive_avg_pool2d_backward(&dyk, &dxk, exec_ptr(ex)));
    Vec numeric(static_cast<size_t>(x.numel()));
    const double h = 1e-6;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double xi = x.get(i);
      x.set(i, xi + h);
      const double plus = loss();
      x.set(i, xi - h);
      const double minus = loss();
      x.set(i, xi);
      numeric[i] = (plus - minus) / (2 * h);
    }
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric, {}, 1e-6, 1e-6));
  }

  // 1 and 2 threads: bitwise-equal forward and backward.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    Op4 x = make_x(rng), dy = op("dy", out_shape());
    dy.fill_random(rng);
    Vec y_of[2], dx_of[2];
    std::vector<int64_t> i_of[2];
    for (int k = 0; k < 2; ++k) {
      Op4 y = op("y", out_shape()), dx = op("dx", shape_);
      IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
      const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn(), dyk = dy.kn(), dxk = dx.kn();
      const kn_exec ex = make_exec(k + 1);
      if (pool_ == Pool::Max) {
        KN_ASSERT_OK(kn_adaptive_max_pool2d_forward(&xk, &yk, &ik, &ex));
        KN_ASSERT_OK(kn_adaptive_max_pool2d_backward(&dyk, &ik, &dxk, &ex));
      } else {
        KN_ASSERT_OK(kn_adaptive_avg_pool2d_forward(&xk, &yk, &ex));
        KN_ASSERT_OK(kn_adaptive_avg_pool2d_backward(&dyk, &dxk, &ex));
      }
      y_of[k] = y.values(), dx_of[k] = dx.values(), i_of[k] = ix.values();
    }
    EXPECT_TRUE(all_equal("y(1) vs y(2)", y_of[0], y_of[1]));
    EXPECT_TRUE(all_equal("dx(1) vs dx(2)", dx_of[0], dx_of[1]));
    if (pool_ == Pool::Max) {
      EXPECT_TRUE(indices_equal(i_of[0], i_of[1]));
    }
  }

 private:
  bool is_nhwc(const std::string& operand) const {
    return std::find(nhwc_.begin(), nhwc_.end(), operand) != nhwc_.end();
  }
  Op4 op(const std::string& operand, const Shape& s) const {
    return Op4(s, dtype_, layout_of(operand), is_nhwc(operand));
  }
  // Largest bin (terms of one forward sum).
  int64_t max_bin() const {
    int64_t m = 1;
    for (int64_t oh = 0; oh < out_[0]; ++oh)
      for (int64_t ow = 0; ow < out_[1]; ++ow)
        m = std::max(m, (ref_hi(oh, shape_[2], out_[0]) - ref_lo(oh, shape_[2], out_[0])) *
                            (ref_hi(ow, shape_[3], out_[1]) - ref_lo(ow, shape_[3], out_[1])));
    return m;
  }
  // Most bins one input element is in (terms of one backward sum).
  int64_t max_cover() const {
    auto along = [](int64_t in, int64_t out) {
      int64_t m = 1;
      for (int64_t i = 0; i < in; ++i) {
        int64_t c = 0;
        for (int64_t o = 0; o < out; ++o) c += ref_lo(o, in, out) <= i && i < ref_hi(o, in, out);
        m = std::max(m, c);
      }
      return m;
    };
    return along(shape_[2], out_[0]) * along(shape_[3], out_[1]);
  }
  Op4 make_x(Rng& rng) const {
    Op4 x = op("x", shape_);
    fill_x(x, rng);
    return x;
  }

  int64_t out_[2] = {3, 4};
  std::vector<std::string> nhwc_;
};

// ------------------------------------------------------------ cases x pools x dtypes

using Case = TesterCase<AdaptivePool2dTester>;

std::vector<Case> pool_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"default_7x6_to_3x4", [](AdaptivePool2dTester&) {}},
      {"odd_7_to_3", [](AdaptivePool2dTester& t) { t.shape({2, 3, 7, 7}).out(3, 3); }},
      {"odd_5_to_1", [](AdaptivePool2dTester& t) { t.shape({2, 3, 5, 5}).out(1, 1); }},
      {"upsample_3_to_5", [](AdaptivePool2dTester& t) { t.shape({2, 2, 3, 3}).out(5, 5); }},
      {"upsample_rect", [](AdaptivePool2dTester& t) { t.shape({1, 2, 2, 5}).out(7, 3); }},
      {"input_1x1", [](AdaptivePool2dTester& t) { t.shape({2, 3, 1, 1}).out(1, 1); }},
      {"input_1x1_to_3x2", [](AdaptivePool2dTester& t) { t.shape({2, 3, 1, 1}).out(3, 2); }},
      {"same_size", [](AdaptivePool2dTester& t) { t.shape({1, 2, 6, 5}).out(6, 5); }},
      {"lenet_28_to_7", [](AdaptivePool2dTester& t) { t.shape({2, 4, 28, 28}).out(7, 7); }},
      {"resnet_head_7_to_1", [](AdaptivePool2dTester& t) { t.shape({2, 40, 7, 7}).out(1, 1); }},
      {"global_long_plane", [](AdaptivePool2dTester& t) { t.shape({2, 3, 9, 13}).out(1, 1); }},
      {"global_one_row", [](AdaptivePool2dTester& t) { t.shape({2, 3, 1, 37}).out(1, 1); }},
      {"nhwc_global", [](AdaptivePool2dTester& t) { t.shape({2, 300, 7, 7}).out(1, 1).nhwc("x").nhwc("dx"); }},
      {"nhwc_global_small_c", [](AdaptivePool2dTester& t) { t.shape({3, 5, 4, 3}).out(1, 1).nhwc("x").nhwc("dx").nhwc("dy"); }},
      {"nhwc_28_to_7", [](AdaptivePool2dTester& t) { t.shape({2, 6, 28, 28}).out(7, 7).nhwc("x").nhwc("dx"); }},
      {"nhwc_many_channels", [](AdaptivePool2dTester& t) { t.shape({2, 300, 5, 6}).out(2, 4).nhwc("x").nhwc("dy"); }},
      {"nhwc_sliced", [S](AdaptivePool2dTester& t) {
         t.shape({2, 5, 7, 6}).out(1, 1).nhwc("x").layout("x", S).nhwc("dx").layout("dx", S);
       }},
      {"empty_batch", [](AdaptivePool2dTester& t) { t.shape({0, 3, 6, 6}); }},
      {"int32_indices", [T](AdaptivePool2dTester& t) { t.index_dtype(KN_INT32).layout("indices", T); }},
      {"transposed_x_dy", [T](AdaptivePool2dTester& t) { t.shape({2, 3, 8, 6}).out(3, 5).layout("x", T).layout("dy", T); }},
      {"transposed_global", [T](AdaptivePool2dTester& t) { t.shape({2, 3, 8, 6}).out(1, 1).layout("x", T).layout("dx", T); }},
      {"sliced_all", [S](AdaptivePool2dTester& t) {
         t.shape({2, 3, 6, 8}).out(4, 3).layout("x", S).layout("y", S).layout("indices", S).layout("dy", S)
             .layout("dx", S);
       }},
      {"reversed_all", [R](AdaptivePool2dTester& t) {
         t.shape({2, 2, 6, 7}).out(4, 4).layout("x", R).layout("y", R).layout("dy", R).layout("dx", R);
       }},
      {"mixed_layouts", [T, S, R](AdaptivePool2dTester& t) {
         t.shape({3, 2, 9, 7}).out(4, 3).layout("x", T.s(2)).layout("y", R).layout("dy", S.r()).layout("dx", T)
             .layout("indices", S.s(3));
       }},
      {"broadcast_x_channels", [](AdaptivePool2dTester& t) { t.shape({2, 3, 6, 6}).broadcast("x", 2u).broadcast("dy", 1u); }},
      {"special_values", [](AdaptivePool2dTester& t) { t.shape({2, 3, 8, 8}).out(3, 3).special_values(); }},
      {"special_values_global", [](AdaptivePool2dTester& t) { t.shape({2, 3, 8, 8}).out(1, 1).special_values(); }},
      {"threads_2", [](AdaptivePool2dTester& t) { t.shape({8, 64, 20, 20}).out(6, 7).threads(2); }},
      {"exec_null", [](AdaptivePool2dTester& t) { t.null_exec(); }},
  };
}

class AdaptivePool2dCases : public PoolCases<AdaptivePool2dTester> {};

TEST_P(AdaptivePool2dCases, Forward) { tester().test_forward(); }
TEST_P(AdaptivePool2dCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(AdaptivePool2d, AdaptivePool2dCases, pool_case_values(pool_cases()),
                         pool_case_name<AdaptivePool2dCases::ParamType>);

// Output sizes of 0 (forward only, as torch), and C = 0 for the average forward.
TEST(AdaptivePool2d, ZeroOutputSizeForward) {
  for (Pool pool : {Pool::Max, Pool::Avg})
    for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
      AdaptivePool2dTester().pool(pool).dtype(dtype).shape({2, 3, 5, 4}).out(0, 3).test_forward();
      AdaptivePool2dTester().pool(pool).dtype(dtype).shape({2, 3, 5, 4}).out(2, 0).test_forward();
      AdaptivePool2dTester().pool(pool).dtype(dtype).shape({0, 3, 5, 4}).out(0, 0).test_forward();
    }
  AdaptivePool2dTester().avg().shape({2, 0, 5, 4}).out(2, 2).test_forward();
}

TEST(AdaptivePool2d, GradientFloat64) {
  const Layout T = Layout::transpose();
  for (Pool pool : {Pool::Max, Pool::Avg}) {
    AdaptivePool2dTester().pool(pool).shape({2, 2, 7, 7}).out(3, 3).dtype(KN_FLOAT64).test_gradient();
    AdaptivePool2dTester().pool(pool).shape({1, 2, 3, 4}).out(5, 3).dtype(KN_FLOAT64).test_gradient();
    AdaptivePool2dTester().pool(pool).shape({2, 3, 5, 5}).out(1, 1).dtype(KN_FLOAT64).test_gradient();
    AdaptivePool2dTester().pool(pool).shape({1, 2, 7, 6}).out(4, 5).dtype(KN_FLOAT64).layout("x", T.s(2))
        .layout("dy", T.r()).test_gradient();
    AdaptivePool2dTester().pool(pool).shape({2, 4, 5, 6}).out(1, 1).dtype(KN_FLOAT64).nhwc("x").nhwc("dx")
        .test_gradient();
  }
}

// Overlapping bins (7 -> 3, 10 -> 4, 5 -> 7) and the channels-last global paths:
// the backward sums of each element are ordered independently of the thread count.
TEST(AdaptivePool2d, OneAndTwoThreadsAgree) {
  for (Pool pool : {Pool::Max, Pool::Avg}) {
    AdaptivePool2dTester().pool(pool).shape({8, 128, 7, 7}).out(3, 3).dtype(KN_FLOAT32).test_threads_agree();
    AdaptivePool2dTester().pool(pool).shape({8, 64, 10, 5}).out(4, 7).dtype(KN_FLOAT32)
        .layout("x", Layout::transpose()).test_threads_agree();
    AdaptivePool2dTester().pool(pool).shape({16, 512, 7, 7}).out(1, 1).dtype(KN_FLOAT32).test_threads_agree();
    AdaptivePool2dTester().pool(pool).shape({16, 512, 7, 7}).out(1, 1).dtype(KN_FLOAT32).nhwc("x").nhwc("dx")
        .test_threads_agree();
  }
}

// Random shapes, output sizes, layouts and dtypes from fixed seeds.
class AdaptivePool2dRandom : public ::testing::TestWithParam<int> {};
TEST_P(AdaptivePool2dRandom, ForwardAndBackward) {
  Rng rng(5000 + static_cast<uint64_t>(GetParam()));
  AdaptivePool2dTester t;
  const int64_t H = rng.integer(1, 12), W = rng.integer(1, 12);
  t.pool(rng.coin() ? Pool::Max : Pool::Avg).shape({rng.integer(0, 3), rng.integer(1, 5), H, W})
      .out(rng.integer(1, H + 3), rng.integer(1, W + 3)).index_dtype(rng.coin() ? KN_INT64 : KN_INT32)
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()))
      .layout("x", random_layout(rng, 4, true)).layout("dy", random_layout(rng, 4, true))
      .layout("y", random_layout(rng, 4, false)).layout("dx", random_layout(rng, 4, false))
      .layout("indices", random_layout(rng, 4, false));
  if (rng.coin()) t.nhwc("x");
  if (rng.coin()) t.nhwc("dx");
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(AdaptivePool2d, AdaptivePool2dRandom, ::testing::Range(0, 40));

TEST(AdaptiveMaxPool2d, BackwardRejectsOutOfRangeIndex) {
  HostTensor dy({1, 1, 2, 2}, KN_FLOAT32), dx({1, 1, 4, 4}, KN_FLOAT32);
  IndexTensor ix({1, 1, 2, 2}, KN_INT64, {});
  for (int64_t bad : {16, -2}) {
    ix.fill(0);
    ix.set(3, bad);
    const kn_tensor dyk = dy.kn(), ik = ix.kn(), dxk = dx.kn();
    EXPECT_EQ(kn_adaptive_max_pool2d_backward(&dyk, &ik, &dxk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find("kn_adaptive_max_pool2d_backward: indices: value " +
                                                std::to_string(bad)),
              std::string::npos)
        << kn_last_error();
  }
}

// torch's tie and NaN rules on one bin: first max wins, the last NaN wins, all -inf -> first.
TEST(AdaptiveMaxPool2d, TiesNaNAndInfinity) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  struct Row {
    std::vector<double> x;
    int64_t want;
  };
  for (const Row& r : {Row{{1, 3, 3, 2}, 1}, Row{{1, nan, 2, nan}, 3}, Row{{-inf, -inf, -inf, -inf}, 0},
                       Row{{inf, nan, inf, 0}, 1}}) {
    HostTensor x({1, 1, 2, 2}, KN_FLOAT32), y({1, 1, 1, 1}, KN_FLOAT32);
    IndexTensor ix({1, 1, 1, 1}, KN_INT64, {});
    x.set_values(r.x);
    const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn();
    KN_ASSERT_OK(kn_adaptive_max_pool2d_forward(&xk, &yk, &ik, nullptr));
    EXPECT_EQ(ix.get(0), r.want);
  }
}

// The average backward's exact contract (what makes the CPU and CUDA results
// bitwise equal): each dx element is, in the dtype, T(0) + dy[oh0,ow0] / T(area) +
// ... over the bins containing it in (oh, ow) order. Computed here directly in T.
template <typename T>
void check_avg_backward_order(const Shape& s, int64_t Ho, int64_t Wo, bool nhwc_dx) {
  SCOPED_TRACE(shape_str(s) + " -> (" + std::to_string(Ho) + ", " + std::to_string(Wo) + ")" +
               (nhwc_dx ? " dx=NHWC" : ""));
  const int32_t dt = sizeof(T) == 4 ? KN_FLOAT32 : KN_FLOAT64;
  const Geo g{s[0], s[1], s[2], s[3], Ho, Wo};
  Rng rng(77);
  Op4 dy({g.N, g.C, Ho, Wo}, dt, Layout::transpose(), false), dx(s, dt, {}, nhwc_dx);
  dy.fill_random(rng);
  const kn_tensor dyk = dy.kn(), dxk = dx.kn();
  const kn_exec ex = make_exec(2);
  KN_ASSERT_OK(kn_adaptive_avg_pool2d_backward(&dyk, &dxk, &ex));
  const Vec gv = dy.values();
  Vec want(static_cast<size_t>(dx.numel()));
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t h = 0; h < g.H; ++h)
      for (int64_t w = 0; w < g.W; ++w) {
        T sum(0);
        for (int64_t oh = 0; oh < Ho; ++oh) {
          if (h < ref_lo(oh, g.H, Ho) || h >= ref_hi(oh, g.H, Ho)) continue;
          for (int64_t ow = 0; ow < Wo; ++ow) {
            if (w < ref_lo(ow, g.W, Wo) || w >= ref_hi(ow, g.W, Wo)) continue;
            const int64_t area = (ref_hi(oh, g.H, Ho) - ref_lo(oh, g.H, Ho)) * (ref_hi(ow, g.W, Wo) - ref_lo(ow, g.W, Wo));
            sum += static_cast<T>(gv[(nc * Ho + oh) * Wo + ow]) / T(area);
          }
        }
        want[(nc * g.H + h) * g.W + w] = sum;
      }
  EXPECT_TRUE(all_equal("dx", dx.values(), want));
}

TEST(AdaptiveAvgPool2d, BackwardIsTheOrderedGatherBitwise) {
  for (bool nhwc : {false, true}) {
    check_avg_backward_order<float>({2, 3, 7, 7}, 3, 3, nhwc);
    check_avg_backward_order<float>({2, 3, 28, 28}, 7, 7, nhwc);
    check_avg_backward_order<float>({2, 3, 3, 4}, 5, 7, nhwc);
    check_avg_backward_order<double>({2, 3, 10, 9}, 4, 6, nhwc);
    check_avg_backward_order<float>({2, 5, 6, 5}, 1, 1, nhwc);
  }
}

// The channels-last forwards sum / compare each bin in the planar loop's order:
// an NHWC input gives the bits of the same values stored NCHW.
TEST(AdaptivePool2d, ChannelsLastForwardsEqualPlanarBitwise) {
  for (const Shape& s : {Shape{2, 300, 7, 7}, Shape{2, 6, 28, 28}, Shape{3, 5, 9, 4}})
    for (const std::pair<int64_t, int64_t>& out : {std::make_pair(int64_t(1), int64_t(1)), std::make_pair(int64_t(3), int64_t(5))}) {
      SCOPED_TRACE(shape_str(s));
      Rng rng(9);
      Op4 planar(s, KN_FLOAT32, {}, false), nhwc(s, KN_FLOAT32, {}, true);
      planar.fill_random(rng);
      nhwc.set_values_from(planar);
      const Shape os{s[0], s[1], out.first, out.second};
      Vec y_of[2];
      std::vector<int64_t> i_of[2];
      for (int k = 0; k < 2; ++k) {
        Op4 y(os, KN_FLOAT32, {}, false), ym(os, KN_FLOAT32, {}, false);
        IndexTensor ix(os, KN_INT64, {});
        const kn_tensor xk = (k ? nhwc : planar).kn(), yk = y.kn(), ymk = ym.kn(), ik = ix.kn();
        const kn_exec ex = make_exec(2);
        KN_ASSERT_OK(kn_adaptive_avg_pool2d_forward(&xk, &yk, &ex));
        KN_ASSERT_OK(kn_adaptive_max_pool2d_forward(&xk, &ymk, &ik, &ex));
        y_of[k] = y.values();
        const Vec m = ym.values();
        y_of[k].insert(y_of[k].end(), m.begin(), m.end());
        i_of[k] = ix.values();
      }
      if (out.first != 1) {  // the global average's planar path sums in lanes: not the same order
        EXPECT_TRUE(all_equal("y (avg then max)", y_of[1], y_of[0]));
      }
      EXPECT_TRUE(indices_equal(i_of[1], i_of[0]));
    }
}

// Issue 13's "bitwise identical for any thread count" at the C level with many
// threads calling at once is in test_thread_stress (add_adaptive_pooling).

// int32 indices cannot index a plane of more than INT32_MAX elements.
TEST(AdaptiveMaxPool2d, Int32IndicesRefusedOnPlanesBeyondInt32) {
  float x = 1, y[4];
  int32_t ix32[4];
  HostTensor base({1}, KN_FLOAT32);
  kn_tensor X = base.kn(), Y = base.kn(), I = base.kn();
  X.ndim = Y.ndim = I.ndim = 4;
  const int64_t big[4] = {1, 1, 65536, 65536}, small[4] = {1, 1, 2, 2}, ss[4] = {4, 4, 2, 1};
  for (int d = 0; d < 4; ++d) {
    X.shape[d] = big[d], X.strides[d] = 0;
    Y.shape[d] = I.shape[d] = small[d], Y.strides[d] = I.strides[d] = ss[d];
  }
  X.data = &x, Y.data = y, I.data = ix32, I.dtype = KN_INT32;
  EXPECT_EQ(kn_adaptive_max_pool2d_forward(&X, &Y, &I, nullptr), KN_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(kn_last_error()).find("kn_adaptive_max_pool2d_forward: indices: int32 cannot index"),
            std::string::npos)
      << kn_last_error();
}

// ------------------------------------------------------------ validation

// Valid float32 calls: x (2, 3, 7, 6) -> y, indices (2, 3, 3, 4) int64.
PoolCall& pool_call() {
  static PoolCall call({2, 3, 7, 6}, {2, 3, 3, 4});
  return call;
}

kn_status invoke_max_forward(const OpCall& c) {
  return kn_adaptive_max_pool2d_forward(c.arg("x"), c.arg("y"), c.arg("indices"), c.exec());
}
kn_status invoke_max_backward(const OpCall& c) {
  return kn_adaptive_max_pool2d_backward(c.arg("dy"), c.arg("indices"), c.arg("dx"), c.exec());
}
kn_status invoke_avg_forward(const OpCall& c) {
  return kn_adaptive_avg_pool2d_forward(c.arg("x"), c.arg("y"), c.exec());
}
kn_status invoke_avg_backward(const OpCall& c) {
  return kn_adaptive_avg_pool2d_backward(c.arg("dy"), c.arg("dx"), c.exec());
}

const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;

std::vector<ErrorCase> avg_forward_cases() {
  auto cases = descriptor_error_cases({{"x", true, 4, false, true}, {"y", true, 4, true}});
  cases.push_back({"x_empty_height", [](OpCall& c) { c["x"].shape[2] = 0; }, SHAPE, "x"});
  cases.push_back({"x_empty_width", [](OpCall& c) { c["x"].shape[3] = 0; }, SHAPE, "x"});
  cases.push_back({"y_wrong_batch", [](OpCall& c) { c["y"].shape[0] = 1; }, SHAPE, "y"});
  cases.push_back({"y_wrong_channels", [](OpCall& c) { c["y"].shape[1] = 2; }, SHAPE, "y"});
  return cases;
}

std::vector<ErrorCase> avg_backward_cases() {
  auto cases = descriptor_error_cases({{"dy", true, 4, false, true}, {"dx", true, 4, true}});
  cases.push_back({"dy_empty_channels", [](OpCall& c) { c["dy"].shape[1] = 0; }, SHAPE, "dy"});
  cases.push_back({"dy_empty_height", [](OpCall& c) { c["dy"].shape[2] = 0; }, SHAPE, "dy"});
  cases.push_back({"dy_empty_width", [](OpCall& c) { c["dy"].shape[3] = 0; }, SHAPE, "dy"});
  cases.push_back({"dx_empty_height", [](OpCall& c) { c["dx"].shape[2] = 0; }, SHAPE, "dx"});
  cases.push_back({"dy_wrong_batch", [](OpCall& c) { c["dy"].shape[0] = 3; }, SHAPE, "dy"});
  cases.push_back({"dy_wrong_channels", [](OpCall& c) { c["dy"].shape[1] = 2; }, SHAPE, "dy"});
  return cases;
}

std::vector<ErrorCase> max_forward_cases() {
  auto cases = with_index_arg(descriptor_error_cases(
      {{"x", true, 4, false, true}, {"y", true, 4, true}, {"indices", true, 4, true}}));
  cases.push_back({"indices_aliases_output_y", [](OpCall& c) { c["indices"].data = c["y"].data; },
                   KN_ERR_INVALID_ARGUMENT, "indices"});
  cases.push_back({"x_empty_channels", [](OpCall& c) { c["x"].shape[1] = 0; }, SHAPE, "x"});
  cases.push_back({"x_empty_width", [](OpCall& c) { c["x"].shape[3] = 0; }, SHAPE, "x"});
  cases.push_back({"y_wrong_batch", [](OpCall& c) { c["y"].shape[0] = 1; }, SHAPE, "y"});
  cases.push_back({"indices_wrong_height", [](OpCall& c) { c["indices"].shape[2] = 2; }, SHAPE, "indices"});
  cases.push_back({"indices_wrong_width", [](OpCall& c) { c["indices"].shape[3] = 2; }, SHAPE, "indices"});
  return cases;
}

std::vector<ErrorCase> max_backward_cases() {
  auto cases = with_index_arg(descriptor_error_cases(
      {{"dy", true, 4, false, true}, {"indices", true, 4}, {"dx", true, 4, true}}));
  cases.push_back({"dy_empty_width", [](OpCall& c) { c["dy"].shape[3] = 0; }, SHAPE, "dy"});
  cases.push_back({"dx_empty_width", [](OpCall& c) { c["dx"].shape[3] = 0; }, SHAPE, "dx"});
  cases.push_back({"dy_wrong_batch", [](OpCall& c) { c["dy"].shape[0] = 3; }, SHAPE, "dy"});
  cases.push_back({"indices_wrong_shape", [](OpCall& c) { c["indices"].shape[3] = 2; }, SHAPE, "indices"});
  return cases;
}

// check_error_case, then the bad call once more on fresh contents: not one byte
// of any tensor (outputs included) changes.
void check_error_and_untouched(const OpCall& valid, const Invoke& invoke, const std::string& op,
                               const ErrorCase& c) {
  check_error_case(valid, invoke, op, c);
  if (c.applies && !c.applies(valid)) return;
  OpCall bad = valid;
  c.mutate(bad);
  const auto before = pool_call().snapshot();
  EXPECT_NE(invoke(bad), KN_OK);
  EXPECT_TRUE(pool_call().snapshot() == before) << c.name << ": a refused call wrote memory";
}

class AdaptiveAvgPool2dForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(AdaptiveAvgPool2dForwardErrors, ExactStatusAndMessage) {
  check_error_and_untouched(pool_call().avg_fwd, invoke_avg_forward, "kn_adaptive_avg_pool2d_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(AdaptivePool2d, AdaptiveAvgPool2dForwardErrors, ::testing::ValuesIn(avg_forward_cases()),
                         error_case_name);

class AdaptiveAvgPool2dBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(AdaptiveAvgPool2dBackwardErrors, ExactStatusAndMessage) {
  check_error_and_untouched(pool_call().avg_bwd, invoke_avg_backward, "kn_adaptive_avg_pool2d_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(AdaptivePool2d, AdaptiveAvgPool2dBackwardErrors, ::testing::ValuesIn(avg_backward_cases()),
                         error_case_name);

class AdaptiveMaxPool2dForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(AdaptiveMaxPool2dForwardErrors, ExactStatusAndMessage) {
  check_error_and_untouched(pool_call().max_fwd, invoke_max_forward, "kn_adaptive_max_pool2d_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(AdaptivePool2d, AdaptiveMaxPool2dForwardErrors, ::testing::ValuesIn(max_forward_cases()),
                         error_case_name);

class AdaptiveMaxPool2dBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(AdaptiveMaxPool2dBackwardErrors, ExactStatusAndMessage) {
  check_error_and_untouched(pool_call().max_bwd, invoke_max_backward, "kn_adaptive_max_pool2d_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(AdaptivePool2d, AdaptiveMaxPool2dBackwardErrors, ::testing::ValuesIn(max_backward_cases()),
                         error_case_name);

}  // namespace
}  // namespace kntest
