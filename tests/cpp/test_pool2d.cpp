// kn_max_pool2d_* / kn_avg_pool2d_* through the C ABI, against naive
// double-precision references written below (every tap of every window
// checked against the bounds: no tap-range arithmetic shared with the kernel).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/pool2d.h"
#include "pool_test_util.hpp"
#include "tensor_util.hpp"

namespace kntest {
namespace {

// ------------------------------------------------------------ reference

// torch's output size, written out plainly (Python-style floor division).
int64_t ref_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = static_cast<int64_t>(std::floor(static_cast<double>(num) / static_cast<double>(s))) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

MaxRef ref_max_forward(const kn_max_pool2d_params& p, const Vec& x, const Geo& g) {
  MaxRef r{Vec(static_cast<size_t>(g.N * g.C * g.Ho * g.Wo)),
           std::vector<int64_t>(static_cast<size_t>(g.N * g.C * g.Ho * g.Wo))};
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oh = 0; oh < g.Ho; ++oh)
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        double m = -std::numeric_limits<double>::infinity();
        int64_t at = -1;
        bool first = true;
        for (int64_t kh = 0; kh < p.kernel_size[0]; ++kh)
          for (int64_t kw = 0; kw < p.kernel_size[1]; ++kw) {
            const int64_t h = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
            const int64_t w = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
            const double v = x[(nc * g.H + h) * g.W + w];
            if (first || v > m || std::isnan(v)) m = v, at = h * g.W + w;
            first = false;
          }
        const size_t o = static_cast<size_t>((nc * g.Ho + oh) * g.Wo + ow);
        r.y[o] = m, r.idx[o] = at;
      }
  return r;
}

// The divisor and the input taps of avg window (oh, ow), straight from the definition.
double ref_avg_divisor(const kn_avg_pool2d_params& p, int64_t oh, int64_t ow, const Geo& g) {
  if (p.divisor_override) return static_cast<double>(p.divisor_override);
  int64_t padded = 0, inside = 0;
  for (int64_t kh = 0; kh < p.kernel_size[0]; ++kh)
    for (int64_t kw = 0; kw < p.kernel_size[1]; ++kw) {
      const int64_t h = oh * p.stride[0] - p.padding[0] + kh;
      const int64_t w = ow * p.stride[1] - p.padding[1] + kw;
      if (h < g.H + p.padding[0] && w < g.W + p.padding[1]) ++padded;  // windows start >= -pad
      if (h >= 0 && h < g.H && w >= 0 && w < g.W) ++inside;
    }
  return static_cast<double>(p.count_include_pad ? padded : inside);
}

Vec ref_avg_forward(const kn_avg_pool2d_params& p, const Vec& x, const Geo& g, Vec* magnitude) {
  Vec y(static_cast<size_t>(g.N * g.C * g.Ho * g.Wo));
  if (magnitude) magnitude->assign(y.size(), 0.0);
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oh = 0; oh < g.Ho; ++oh)
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        double s = 0, a = 0;
        for (int64_t kh = 0; kh < p.kernel_size[0]; ++kh)
          for (int64_t kw = 0; kw < p.kernel_size[1]; ++kw) {
            const int64_t h = oh * p.stride[0] - p.padding[0] + kh;
            const int64_t w = ow * p.stride[1] - p.padding[1] + kw;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
            s += x[(nc * g.H + h) * g.W + w];
            a += std::fabs(x[(nc * g.H + h) * g.W + w]);
          }
        const double div = ref_avg_divisor(p, oh, ow, g);
        const size_t o = static_cast<size_t>((nc * g.Ho + oh) * g.Wo + ow);
        y[o] = s / div;
        if (magnitude) (*magnitude)[o] = a / div;
      }
  return y;
}

Vec ref_avg_backward(const kn_avg_pool2d_params& p, const Vec& dy, const Geo& g, Vec* magnitude) {
  Vec dx(static_cast<size_t>(g.N * g.C * g.H * g.W), 0.0);
  if (magnitude) magnitude->assign(dx.size(), 0.0);
  for (int64_t nc = 0; nc < g.N * g.C; ++nc)
    for (int64_t oh = 0; oh < g.Ho; ++oh)
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const double v = dy[(nc * g.Ho + oh) * g.Wo + ow] / ref_avg_divisor(p, oh, ow, g);
        for (int64_t kh = 0; kh < p.kernel_size[0]; ++kh)
          for (int64_t kw = 0; kw < p.kernel_size[1]; ++kw) {
            const int64_t h = oh * p.stride[0] - p.padding[0] + kh;
            const int64_t w = ow * p.stride[1] - p.padding[1] + kw;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
            dx[(nc * g.H + h) * g.W + w] += v;
            if (magnitude) (*magnitude)[(nc * g.H + h) * g.W + w] += std::fabs(v);
          }
      }
  return dx;
}

// ------------------------------------------------------------ tester

// Pool2dTester().max().shape({2, 3, 7, 6}).kernel(3, 2).stride(2, 1).padding(1, 1)
//   .layout("x", Layout::transpose()).test_forward();
// Operands: x, y, indices (forward), dy, indices, dx (backward).
class Pool2dTester : public PoolTesterBase<Pool2dTester> {
 public:
  Pool2dTester() : PoolTesterBase(Pool::Max) {}
  Pool2dTester& kernel(int64_t h, int64_t w) { k_[0] = h, k_[1] = w; return *this; }
  Pool2dTester& stride(int64_t h, int64_t w) { s_[0] = h, s_[1] = w; return *this; }
  Pool2dTester& padding(int64_t h, int64_t w) { p_[0] = h, p_[1] = w; return *this; }
  Pool2dTester& dilation(int64_t h, int64_t w) { d_[0] = h, d_[1] = w; return *this; }
  Pool2dTester& ceil_mode(bool v = true) { ceil_ = v; return *this; }
  Pool2dTester& count_include_pad(bool v) { cip_ = v; return *this; }
  Pool2dTester& divisor_override(int64_t v) { div_ = v; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << (pool_ == Pool::Max ? "max" : "avg") << "_pool2d x=" << shape_str(shape_) << " k=(" << k_[0]
      << "," << k_[1] << ") s=(" << s_[0] << "," << s_[1] << ") p=(" << p_[0] << "," << p_[1]
      << ") d=(" << d_[0] << "," << d_[1] << ")" << (ceil_ ? " ceil" : "")
      << (pool_ == Pool::Avg ? (cip_ ? " include_pad" : " exclude_pad") : "")
      << (div_ ? " divisor=" + std::to_string(div_) : "")
      << (idtype_ == KN_INT32 ? " int32-indices" : "") << (special_ ? " special" : "") << " "
      << describe_common();
    return o.str();
  }

  kn_max_pool2d_params max_params() const {
    return {{k_[0], k_[1]}, {s_[0], s_[1]}, {p_[0], p_[1]}, {d_[0], d_[1]}, ceil_ ? 1 : 0};
  }
  kn_avg_pool2d_params avg_params() const {
    return {{k_[0], k_[1]}, {s_[0], s_[1]}, {p_[0], p_[1]}, ceil_ ? 1 : 0, cip_ ? 1 : 0, div_};
  }
  Geo geo() const {
    const int64_t dh = pool_ == Pool::Max ? d_[0] : 1, dw = pool_ == Pool::Max ? d_[1] : 1;
    return {shape_[0], shape_[1], shape_[2], shape_[3],
            ref_out_size(shape_[2], k_[0], s_[0], p_[0], dh, ceil_),
            ref_out_size(shape_[3], k_[1], s_[1], p_[1], dw, ceil_)};
  }
  Shape out_shape() const {
    const Geo g = geo();
    return {g.N, g.C, g.Ho, g.Wo};
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng);
    const auto x_raw = x.raw();
    HostTensor y = make_output("y", out_shape());
    IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
    ix.fill(-7777);
    const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn();
    const kn_exec ex = exec();
    if (pool_ == Pool::Max) {
      const kn_max_pool2d_params p = max_params();
      KN_ASSERT_OK(kn_max_pool2d_forward(&p, &xk, &yk, &ik, exec_ptr(ex)));
      const MaxRef want = ref_max_forward(p, x.values(), geo());
      EXPECT_TRUE(all_equal("y", y.values(), want.y));
      EXPECT_TRUE(indices_equal(ix.values(), want.idx));
      EXPECT_TRUE(ix.outside_untouched("indices"));
    } else {
      const kn_avg_pool2d_params p = avg_params();
      KN_ASSERT_OK(kn_avg_pool2d_forward(&p, &xk, &yk, exec_ptr(ex)));
      Vec mag;
      const Vec want = ref_avg_forward(p, x.values(), geo(), &mag);
      EXPECT_TRUE(all_close("y", y.values(), want, mag, rtol(k_[0] * k_[1])));
    }
    EXPECT_TRUE(y.outside_untouched("y"));
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), dy = make("dy", out_shape());
    dy.fill_random(rng);
    const auto dy_raw = dy.raw();
    HostTensor dx = make_output("dx", shape_);
    const kn_tensor dyk = dy.kn(), dxk = dx.kn();
    const kn_exec ex = exec();
    if (pool_ == Pool::Max) {
      const kn_max_pool2d_params p = max_params();
      const MaxRef fwd = ref_max_forward(p, x.values(), geo());
      IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
      for (int64_t i = 0; i < ix.numel(); ++i) ix.set(i, fwd.idx[i]);
      const kn_tensor ik = ix.kn();
      KN_ASSERT_OK(kn_max_pool2d_backward(&p, &dyk, &ik, &dxk, exec_ptr(ex)));
      const Vec want = ref_max_backward(dy.values(), fwd.idx, geo());
      const Vec mag = ref_max_backward(abs_of(dy.values()), fwd.idx, geo());
      EXPECT_TRUE(all_close("dx", dx.values(), want, mag, rtol(max_overlap())));
    } else {
      const kn_avg_pool2d_params p = avg_params();
      KN_ASSERT_OK(kn_avg_pool2d_backward(&p, &dyk, &dxk, exec_ptr(ex)));
      Vec mag;
      const Vec want = ref_avg_backward(p, dy.values(), geo(), &mag);
      EXPECT_TRUE(all_close("dx", dx.values(), want, mag, rtol(max_overlap())));
    }
    EXPECT_TRUE(dx.outside_untouched("dx"));
    EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
  }

  // Central differences of L = sum(dy * pool(x)); x without ties (max).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    HostTensor x = make("x", shape_), dy = make("dy", out_shape()), y = make_output("y", out_shape()),
               dx = make_output("dx", shape_);
    distinct_fill(x, rng);
    dy.fill_random(rng);
    IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
    const kn_exec ex = exec();
    const kn_max_pool2d_params mp = max_params();
    const kn_avg_pool2d_params ap = avg_params();
    auto forward = [&]() {
      const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn();
      const kn_status s = pool_ == Pool::Max ? kn_max_pool2d_forward(&mp, &xk, &yk, &ik, exec_ptr(ex))
                                             : kn_avg_pool2d_forward(&ap, &xk, &yk, exec_ptr(ex));
      EXPECT_EQ(s, KN_OK) << kn_last_error();
    };
    auto loss = [&]() {
      forward();
      return dot(dy.values(), y.values());
    };
    forward();
    const kn_tensor dyk = dy.kn(), ik = ix.kn(), dxk = dx.kn();
    if (pool_ == Pool::Max)
      KN_ASSERT_OK(kn_max_pool2d_backward(&mp, &dyk, &ik, &dxk, exec_ptr(ex)));
    else
      KN_ASSERT_OK(kn_avg_pool2d_backward(&ap, &dyk, &dxk, exec_ptr(ex)));
    const Vec analytic = dx.values();
    EXPECT_TRUE(all_close("dx vs finite differences", analytic, numeric_gradient(x, loss, 1e-6), {},
                          1e-6, 1e-6));
  }

  // 1 and 2 threads: bitwise-equal forward and backward.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), dy = make("dy", out_shape());
    dy.fill_random(rng);
    Vec y_of[2], dx_of[2];
    std::vector<int64_t> i_of[2];
    for (int k = 0; k < 2; ++k) {
      HostTensor y = make_output("y", out_shape()), dx = make_output("dx", shape_);
      IndexTensor ix(out_shape(), idtype_, layout_of("indices"));
      const kn_tensor xk = x.kn(), yk = y.kn(), ik = ix.kn(), dyk = dy.kn(), dxk = dx.kn();
      const kn_exec ex = make_exec(k + 1);
      if (pool_ == Pool::Max) {
        const kn_max_pool2d_params p = max_params();
        KN_ASSERT_OK(kn_max_pool2d_forward(&p, &xk, &yk, &ik, &ex));
        KN_ASSERT_OK(kn_max_pool2d_backward(&p, &dyk, &ik, &dxk, &ex));
      } else {
        const kn_avg_pool2d_params p = avg_params();
        KN_ASSERT_OK(kn_avg_pool2d_forward(&p, &xk, &yk, &ex));
        KN_ASSERT_OK(kn_avg_pool2d_backward(&p, &dyk, &dxk, &ex));
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
  // Most windows one input element can be in (bounds the backward's terms).
  int64_t max_overlap() const {
    return ((k_[0] + s_[0] - 1) / s_[0]) * ((k_[1] + s_[1] - 1) / s_[1]);
  }
  HostTensor make_x(Rng& rng) const {
    HostTensor x = make("x", shape_);
    fill_x(x, rng);
    return x;
  }

  int64_t k_[2] = {2, 2}, s_[2] = {2, 2}, p_[2] = {0, 0}, d_[2] = {1, 1}, div_ = 0;
  bool ceil_ = false, cip_ = true;
};

// ------------------------------------------------------------ cases x pools x dtypes

using Case = TesterCase<Pool2dTester>;

std::vector<Case> pool_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"k2_default", [](Pool2dTester&) {}},
      {"lenet_conv1", [](Pool2dTester& t) { t.shape({2, 6, 28, 28}); }},
      {"lenet_conv2", [](Pool2dTester& t) { t.shape({3, 16, 10, 10}); }},
      {"k3_s1", [](Pool2dTester& t) { t.kernel(3, 3).stride(1, 1); }},
      {"k3_s2_p1", [](Pool2dTester& t) { t.shape({2, 2, 9, 8}).kernel(3, 3).stride(2, 2).padding(1, 1); }},
      {"rect_kernel", [](Pool2dTester& t) { t.shape({1, 2, 8, 9}).kernel(3, 2).stride(2, 3).padding(1, 0); }},
      {"ceil_mode", [](Pool2dTester& t) { t.shape({2, 2, 7, 8}).kernel(3, 3).stride(2, 2).ceil_mode(); }},
      {"ceil_mode_padding", [](Pool2dTester& t) { t.shape({1, 3, 6, 7}).kernel(4, 3).stride(3, 2).padding(2, 1).ceil_mode(); }},
      {"ceil_last_window_dropped", [](Pool2dTester& t) { t.shape({1, 1, 5, 5}).kernel(2, 2).stride(2, 2).padding(1, 1).ceil_mode(); }},
      {"kernel_is_input", [](Pool2dTester& t) { t.shape({2, 2, 4, 5}).kernel(4, 5).stride(1, 1); }},
      {"kernel1", [](Pool2dTester& t) { t.kernel(1, 1).stride(1, 2); }},
      {"size1_input", [](Pool2dTester& t) { t.shape({1, 1, 1, 1}).kernel(1, 1); }},
      {"empty_batch", [](Pool2dTester& t) { t.shape({0, 3, 6, 6}); }},
      {"empty_channels", [](Pool2dTester& t) { t.shape({2, 0, 6, 6}); }},
      {"int32_indices", [T](Pool2dTester& t) { t.index_dtype(KN_INT32).layout("indices", T); }},
      {"transposed_x", [T](Pool2dTester& t) { t.shape({2, 3, 8, 6}).layout("x", T).layout("dy", T); }},
      {"sliced_all", [S](Pool2dTester& t) {
         t.shape({2, 3, 6, 8}).layout("x", S).layout("y", S).layout("indices", S).layout("dy", S).layout("dx", S);
       }},
      {"reversed_all", [R](Pool2dTester& t) {
         t.shape({2, 2, 6, 7}).kernel(3, 3).padding(1, 1).layout("x", R).layout("y", R).layout("dy", R).layout("dx", R);
       }},
      {"mixed_layouts", [T, S, R](Pool2dTester& t) {
         t.shape({3, 2, 9, 7}).kernel(3, 2).stride(2, 1).layout("x", T.s(2)).layout("y", R).layout("dy", S.r())
             .layout("dx", T).layout("indices", S.s(3));
       }},
      {"fast_path_strided_out", [T](Pool2dTester& t) { t.shape({2, 4, 8, 8}).layout("y", T).layout("dx", T); }},
      {"broadcast_x_channels", [](Pool2dTester& t) { t.shape({2, 3, 6, 6}).broadcast("x", 2u).broadcast("dy", 1u); }},
      {"special_values", [](Pool2dTester& t) { t.shape({2, 3, 8, 8}).kernel(3, 3).stride(1, 2).special_values(); }},
      {"special_values_fast_path", [](Pool2dTester& t) { t.shape({2, 3, 8, 8}).special_values(); }},
      {"threads_2", [](Pool2dTester& t) { t.shape({8, 16, 20, 20}).threads(2); }},
      {"exec_null", [](Pool2dTester& t) { t.null_exec(); }},
  };
}

class Pool2dCases : public PoolCases<Pool2dTester> {};

TEST_P(Pool2dCases, Forward) { tester().test_forward(); }
TEST_P(Pool2dCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(Pool2d, Pool2dCases, pool_case_values(pool_cases()),
                         pool_case_name<Pool2dCases::ParamType>);

// Options of one pool only.
TEST(MaxPool2d, Dilation) {
  const Layout T = Layout::transpose();
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    Pool2dTester().shape({2, 2, 9, 10}).kernel(3, 2).dilation(2, 3).dtype(dtype).test_forward();
    Pool2dTester().shape({2, 2, 9, 10}).kernel(3, 2).dilation(2, 3).dtype(dtype).test_backward();
    Pool2dTester t;
    t.shape({1, 3, 11, 9}).kernel(3, 3).stride(2, 1).padding(1, 1).dilation(2, 2).ceil_mode().dtype(dtype)
        .layout("x", T).layout("dx", T);
    t.test_forward();
    t.test_backward();
  }
}

// A window wholly in the padding (only with dilation): -inf and index -1,
// and backward ignores -1.
TEST(MaxPool2d, WindowInPaddingOnly) {
  Pool2dTester t;
  t.shape({1, 1, 2, 2}).kernel(2, 2).stride(1, 1).padding(1, 1).dilation(3, 3);
  t.test_forward();
  t.test_backward();
}

TEST(MaxPool2d, BackwardRejectsOutOfRangeIndex) {
  HostTensor dy({1, 1, 2, 2}, KN_FLOAT32), dx({1, 1, 4, 4}, KN_FLOAT32);
  IndexTensor ix({1, 1, 2, 2}, KN_INT64, {});
  for (int64_t bad : {16, -2}) {
    ix.fill(0);
    ix.set(3, bad);
    const kn_max_pool2d_params p{{2, 2}, {2, 2}, {0, 0}, {1, 1}, 0};
    const kn_tensor dyk = dy.kn(), ik = ix.kn(), dxk = dx.kn();
    EXPECT_EQ(kn_max_pool2d_backward(&p, &dyk, &ik, &dxk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find("kn_max_pool2d_backward: indices: value " + std::to_string(bad)),
              std::string::npos)
        << kn_last_error();
  }
}

// Issue 10, F1: the 2x2 / stride-2 backward path wrote whole 2x2 blocks even
// when ceil_mode adds a last, partial window (dx 3x3 from dy 2x2): a heap
// overflow past dx and wrong values in its last row and column. The tester
// compares with the reference and checks dx's guard elements.
// Found by the fuzzer: an empty dx (H = 0, the windows all in the padding)
// still has indices to check, and only -1 is valid for a plane of 0 elements.
TEST(MaxPool2d, BackwardChecksIndicesOfAnEmptyPlane) {
  HostTensor dy({3, 1, 1, 2}, KN_FLOAT32);
  IndexTensor ix({3, 1, 1, 2}, KN_INT64, {});
  kn_tensor dx = HostTensor({3, 1, 0, 6}, KN_FLOAT32).kn();
  dx.data = nullptr;
  const kn_max_pool2d_params p{{4, 1}, {4, 3}, {2, 0}, {1, 1}, 0};
  const kn_tensor dyk = dy.kn(), ik = ix.kn();
  ix.fill(-1);
  KN_EXPECT_OK(kn_max_pool2d_backward(&p, &dyk, &ik, &dx, nullptr));
  ix.set(1, 0);
  EXPECT_EQ(kn_max_pool2d_backward(&p, &dyk, &ik, &dx, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_max_pool2d_backward: indices: value 0 at (n, c, oh, ow) = "
                                              "(0, 0, 0, 1) is outside [0, H*W = 0)"),
            std::string::npos)
      << kn_last_error();
}

TEST(AvgPool2d, CeilModeTwoByTwoPartialWindows) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64})
    for (bool cip : {false, true})
      for (const Shape& shape : {Shape{1, 1, 3, 3}, Shape{2, 3, 5, 4}, Shape{1, 2, 4, 7}}) {
        Pool2dTester t;
        t.avg().shape(shape).kernel(2, 2).stride(2, 2).ceil_mode().count_include_pad(cip).dtype(dtype);
        t.test_forward();
        t.test_backward();
      }
}

// The exact case of the report, on a bare buffer: nothing past dx's 9 floats changes.
TEST(AvgPool2d, CeilModeBackwardWritesOnlyDx) {
  std::vector<float> dy{1, 2, 3, 4}, dx(9 + 16, -7.f);
  const kn_avg_pool2d_params p{{2, 2}, {2, 2}, {0, 0}, 1, 1, 0};
  HostTensor ref({1}, KN_FLOAT32);  // for its descriptor defaults
  kn_tensor DY = ref.kn(), DX = ref.kn();
  DY.ndim = DX.ndim = 4;
  for (int d = 0; d < 4; ++d) DY.shape[d] = DX.shape[d] = 1;
  DY.shape[2] = DY.shape[3] = 2, DX.shape[2] = DX.shape[3] = 3;
  DY.strides[0] = DY.strides[1] = 4, DY.strides[2] = 2, DY.strides[3] = 1;
  DX.strides[0] = DX.strides[1] = 9, DX.strides[2] = 3, DX.strides[3] = 1;
  DY.data = dy.data(), DX.data = dx.data();
  KN_ASSERT_OK(kn_avg_pool2d_backward(&p, &DY, &DX, nullptr));
  // count_include_pad: windows clipped to the input (no padding) -> divisors 4, 2, 2, 1.
  const std::vector<float> want{0.25f, 0.25f, 1.f, 0.25f, 0.25f, 1.f, 1.5f, 1.5f, 4.f};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(dx[i], want[i]) << "dx[" << i << "]";
  for (size_t i = 9; i < dx.size(); ++i) EXPECT_EQ(dx[i], -7.f) << "written past dx at " << i;
}

// Issue 10, F3: int32 indices cannot hold h * W + w of a plane with more than
// INT32_MAX elements: refused (as gspmm refuses a too-narrow int32 arg), not wrapped.
TEST(MaxPool2d, Int32IndicesRefusedOnPlanesBeyondInt32) {
  float x = 1, y[4], dy[4] = {};
  int32_t ix32[4];
  int64_t ix64[4];
  const kn_max_pool2d_params p{{32768, 32768}, {32768, 32768}, {0, 0}, {1, 1}, 0};
  HostTensor base({1}, KN_FLOAT32);
  kn_tensor X = base.kn(), Y = base.kn(), I = base.kn();
  X.ndim = Y.ndim = I.ndim = 4;
  const int64_t big[4] = {1, 1, 65536, 65536}, small[4] = {1, 1, 2, 2}, ss[4] = {4, 4, 2, 1};
  for (int d = 0; d < 4; ++d) {
    X.shape[d] = big[d], X.strides[d] = 0;  // a broadcast view: one float in memory
    Y.shape[d] = I.shape[d] = small[d], Y.strides[d] = I.strides[d] = ss[d];
  }
  X.data = &x, Y.data = y, I.data = ix32, I.dtype = KN_INT32;
  EXPECT_EQ(kn_max_pool2d_forward(&p, &X, &Y, &I, nullptr), KN_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(kn_last_error()).find("kn_max_pool2d_forward: indices: int32 cannot index a plane of x "
                                              "with H * W = 65536 * 65536 > INT32_MAX elements"),
            std::string::npos)
      << kn_last_error();
  // Backward: the same rule against dx's plane (dx is never touched when refused).
  kn_tensor DY = Y, DX = X;
  DY.data = dy;
  DX.strides[3] = 1, DX.strides[2] = 65536, DX.strides[1] = DX.strides[0] = int64_t{65536} * 65536;
  DX.data = reinterpret_cast<void*>(uintptr_t{1} << 20);  // refused before any access
  EXPECT_EQ(kn_max_pool2d_backward(&p, &DY, &I, &DX, nullptr), KN_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(kn_last_error()).find("int32 cannot index a plane of dx"), std::string::npos)
      << kn_last_error();
  // int64 indices are fine for the same plane (1x1 windows keep the test fast).
  I.data = ix64, I.dtype = KN_INT64;
  const kn_max_pool2d_params q{{1, 1}, {32768, 32768}, {0, 0}, {1, 1}, 0};
  KN_ASSERT_OK(kn_max_pool2d_forward(&q, &X, &Y, &I, nullptr));
  EXPECT_EQ(ix64[3], int64_t{32768} * 65536 + 32768);  // beyond INT32_MAX, exact
}

TEST(AvgPool2d, Options) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64})
    for (bool cip : {false, true})
      for (int64_t div : {0, 1, 7}) {
        Pool2dTester t;
        t.avg().shape({2, 2, 7, 8}).kernel(3, 4).stride(2, 3).padding(1, 2).ceil_mode().count_include_pad(cip)
            .divisor_override(div).dtype(dtype);
        t.test_forward();
        t.test_backward();
      }
}

TEST(Pool2d, GradientFloat64) {
  const Layout T = Layout::transpose();
  for (Pool pool : {Pool::Max, Pool::Avg}) {
    Pool2dTester().pool(pool).shape({2, 2, 6, 6}).dtype(KN_FLOAT64).test_gradient();
    Pool2dTester().pool(pool).shape({1, 2, 7, 6}).kernel(3, 3).stride(2, 1).padding(1, 1).ceil_mode()
        .dtype(KN_FLOAT64).layout("x", T.s(2)).layout("dy", T.r()).test_gradient();
  }
  Pool2dTester().shape({1, 2, 9, 8}).kernel(3, 2).dilation(2, 3).dtype(KN_FLOAT64).test_gradient();
  Pool2dTester().avg().shape({1, 2, 6, 7}).kernel(3, 3).padding(1, 1).count_include_pad(false)
      .dtype(KN_FLOAT64).test_gradient();
}

TEST(Pool2d, OneAndTwoThreadsAgree) {
  for (Pool pool : {Pool::Max, Pool::Avg}) {
    Pool2dTester().pool(pool).shape({8, 16, 20, 20}).kernel(3, 3).stride(1, 1).dtype(KN_FLOAT32).test_threads_agree();
    Pool2dTester().pool(pool).shape({16, 6, 28, 28}).dtype(KN_FLOAT32).layout("x", Layout::transpose())
        .test_threads_agree();
  }
}

// Random shapes, windows, options, layouts and dtypes from fixed seeds.
class Pool2dRandom : public ::testing::TestWithParam<int> {};
TEST_P(Pool2dRandom, ForwardAndBackward) {
  Rng rng(4000 + static_cast<uint64_t>(GetParam()));
  Pool2dTester t;
  const Pool pool = rng.coin() ? Pool::Max : Pool::Avg;
  int64_t k[2], s[2], p[2], d[2], in[2];
  for (int i = 0; i < 2; ++i) {
    k[i] = rng.integer(1, 4), s[i] = rng.integer(1, 3), p[i] = rng.integer(0, k[i] / 2);
    d[i] = pool == Pool::Max ? rng.integer(1, 2) : 1;
    in[i] = (k[i] - 1) * d[i] + 1 - 2 * p[i] + rng.integer(0, 6);
    in[i] = std::max<int64_t>(in[i], 1);
  }
  t.pool(pool).shape({rng.integer(0, 3), rng.integer(1, 4), in[0], in[1]}).kernel(k[0], k[1]).stride(s[0], s[1])
      .padding(p[0], p[1]).dilation(d[0], d[1]).ceil_mode(rng.coin()).count_include_pad(rng.coin())
      .divisor_override(rng.integer(0, 3) == 0 ? rng.integer(1, 5) : 0)
      .index_dtype(rng.coin() ? KN_INT64 : KN_INT32).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
      .threads(static_cast<int32_t>(rng.integer(0, 2))).seed(static_cast<uint64_t>(GetParam()))
      .layout("x", random_layout(rng, 4, true)).layout("dy", random_layout(rng, 4, true))
      .layout("y", random_layout(rng, 4, false)).layout("dx", random_layout(rng, 4, false))
      .layout("indices", random_layout(rng, 4, false));
  if (t.geo().Ho < 1 || t.geo().Wo < 1) GTEST_SKIP() << "output size < 1: " << t.describe();
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(Pool2d, Pool2dRandom, ::testing::Range(0, 40));

// ------------------------------------------------------------ validation

// Valid float32 calls: x (2, 3, 6, 6), kernel 2 -> y, indices (2, 3, 3, 3) int64.
PoolCall& pool_call() {
  static PoolCall call({2, 3, 6, 6}, {2, 3, 3, 3});
  return call;
}

const kn_max_pool2d_params kMaxParams{{2, 2}, {2, 2}, {0, 0}, {1, 1}, 0};
const kn_avg_pool2d_params kAvgParams{{2, 2}, {2, 2}, {0, 0}, 0, 1, 0};

kn_status invoke_max_forward(const OpCall& c) {
  return kn_max_pool2d_forward(&kMaxParams, c.arg("x"), c.arg("y"), c.arg("indices"), c.exec());
}
kn_status invoke_max_backward(const OpCall& c) {
  return kn_max_pool2d_backward(&kMaxParams, c.arg("dy"), c.arg("indices"), c.arg("dx"), c.exec());
}
kn_status invoke_avg_forward(const OpCall& c) {
  return kn_avg_pool2d_forward(&kAvgParams, c.arg("x"), c.arg("y"), c.exec());
}
kn_status invoke_avg_backward(const OpCall& c) {
  return kn_avg_pool2d_backward(&kAvgParams, c.arg("dy"), c.arg("dx"), c.exec());
}

std::vector<ErrorCase> max_forward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = with_index_arg(descriptor_error_cases(
      {{"x", true, 4, false, true}, {"y", true, 4, true}, {"indices", true, 4, true}}));
  cases.push_back({"indices_aliases_output_y", [](OpCall& c) { c["indices"].data = c["y"].data; },
                   KN_ERR_INVALID_ARGUMENT, "indices"});
  cases.push_back({"x_too_small", [](OpCall& c) { c["x"].shape[2] = 1; }, SHAPE, "x"});
  cases.push_back({"y_wrong_batch", [](OpCall& c) { c["y"].shape[0] = 1; }, SHAPE, "y"});
  cases.push_back({"y_wrong_height", [](OpCall& c) { c["y"].shape[2] = 2; }, SHAPE, "y"});
  cases.push_back({"indices_wrong_channels", [](OpCall& c) { c["indices"].shape[1] = 2; }, SHAPE, "indices"});
  cases.push_back({"indices_wrong_width", [](OpCall& c) { c["indices"].shape[3] = 2; }, SHAPE, "indices"});
  return cases;
}

std::vector<ErrorCase> max_backward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = with_index_arg(descriptor_error_cases(
      {{"dy", true, 4, false, true}, {"indices", true, 4}, {"dx", true, 4, true}}));
  cases.push_back({"dx_too_small", [](OpCall& c) { c["dx"].shape[3] = 1; }, SHAPE, "dx"});
  cases.push_back({"dy_wrong_height", [](OpCall& c) { c["dy"].shape[2] = 4; }, SHAPE, "dy"});
  cases.push_back({"dy_wrong_batch", [](OpCall& c) { c["dy"].shape[0] = 3; }, SHAPE, "dy"});
  cases.push_back({"indices_wrong_shape", [](OpCall& c) { c["indices"].shape[3] = 2; }, SHAPE, "indices"});
  return cases;
}

std::vector<ErrorCase> avg_forward_cases() {
  auto cases = descriptor_error_cases({{"x", true, 4, false, true}, {"y", true, 4, true}});
  cases.push_back({"x_too_small", [](OpCall& c) { c["x"].shape[3] = 1; }, KN_ERR_SHAPE_MISMATCH, "x"});
  cases.push_back({"y_wrong_width", [](OpCall& c) { c["y"].shape[3] = 2; }, KN_ERR_SHAPE_MISMATCH, "y"});
  return cases;
}

std::vector<ErrorCase> avg_backward_cases() {
  auto cases = descriptor_error_cases({{"dy", true, 4, false, true}, {"dx", true, 4, true}});
  cases.push_back({"dx_too_small", [](OpCall& c) { c["dx"].shape[2] = 0; }, KN_ERR_SHAPE_MISMATCH, "dx"});
  cases.push_back({"dy_wrong_channels", [](OpCall& c) { c["dy"].shape[1] = 4; }, KN_ERR_SHAPE_MISMATCH, "dy"});
  return cases;
}

class MaxPool2dForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(MaxPool2dForwardErrors, ExactStatusAndMessage) {
  check_error_case(pool_call().max_fwd, invoke_max_forward, "kn_max_pool2d_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Pool2d, MaxPool2dForwardErrors, ::testing::ValuesIn(max_forward_cases()), error_case_name);

class MaxPool2dBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(MaxPool2dBackwardErrors, ExactStatusAndMessage) {
  check_error_case(pool_call().max_bwd, invoke_max_backward, "kn_max_pool2d_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Pool2d, MaxPool2dBackwardErrors, ::testing::ValuesIn(max_backward_cases()), error_case_name);

class AvgPool2dForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(AvgPool2dForwardErrors, ExactStatusAndMessage) {
  check_error_case(pool_call().avg_fwd, invoke_avg_forward, "kn_avg_pool2d_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Pool2d, AvgPool2dForwardErrors, ::testing::ValuesIn(avg_forward_cases()), error_case_name);

class AvgPool2dBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(AvgPool2dBackwardErrors, ExactStatusAndMessage) {
  check_error_case(pool_call().avg_bwd, invoke_avg_backward, "kn_avg_pool2d_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Pool2d, AvgPool2dBackwardErrors, ::testing::ValuesIn(avg_backward_cases()), error_case_name);

// Parameter errors: one field of a valid params struct changed, for every
// entry point of the op.
struct ParamCase {
  std::string name;
  std::function<void(kn_max_pool2d_params&, kn_avg_pool2d_params&)> mutate;
  bool max_only, avg_only;
  std::string fragment;  // "<op>: <fragment>" is in the message
};
void PrintTo(const ParamCase& c, std::ostream* os) { *os << c.name; }

std::vector<ParamCase> param_cases() {
  using M = kn_max_pool2d_params;
  using A = kn_avg_pool2d_params;
  return {
      {"kernel_zero", [](M& m, A& a) { m.kernel_size[0] = a.kernel_size[0] = 0; }, false, false, "p->kernel_size"},
      {"kernel_negative", [](M& m, A& a) { m.kernel_size[1] = a.kernel_size[1] = -3; }, false, false, "p->kernel_size"},
      {"kernel_huge", [](M& m, A& a) { m.kernel_size[1] = a.kernel_size[1] = int64_t(1) << 40; }, false, false, "p->kernel_size"},
      {"stride_zero", [](M& m, A& a) { m.stride[1] = a.stride[1] = 0; }, false, false, "p->stride"},
      {"padding_negative", [](M& m, A& a) { m.padding[0] = a.padding[0] = -1; }, false, false, "p->padding"},
      {"padding_over_half_kernel", [](M& m, A& a) { m.padding[1] = a.padding[1] = 2; }, false, false, "p->padding"},
      {"padding_over_half_kernel_dilated", [](M& m, A&) { m.dilation[1] = 3, m.padding[1] = 2; }, true, false, "p->padding"},
      {"dilation_zero", [](M& m, A&) { m.dilation[0] = 0; }, true, false, "p->dilation"},
      {"ceil_mode_2", [](M& m, A& a) { m.ceil_mode = a.ceil_mode = 2; }, false, false, "p->ceil_mode"},
      {"ceil_mode_negative", [](M& m, A& a) { m.ceil_mode = a.ceil_mode = -1; }, false, false, "p->ceil_mode"},
      {"count_include_pad_2", [](M&, A& a) { a.count_include_pad = 2; }, false, true, "p->count_include_pad"},
      {"divisor_override_negative", [](M&, A& a) { a.divisor_override = -1; }, false, true, "p->divisor_override"},
  };
}

class Pool2dParamErrors : public ::testing::TestWithParam<ParamCase> {};
TEST_P(Pool2dParamErrors, InvalidArgument) {
  const ParamCase& c = GetParam();
  kn_max_pool2d_params m = kMaxParams;
  kn_avg_pool2d_params a = kAvgParams;
  c.mutate(m, a);
  PoolCall& call = pool_call();
  auto expect = [&](kn_status s, const std::string& op) {
    EXPECT_EQ(s, KN_ERR_INVALID_ARGUMENT) << op << ": " << kn_status_string(s) << " " << kn_last_error();
    EXPECT_NE(std::string(kn_last_error()).find(op + ": " + c.fragment), std::string::npos) << kn_last_error();
  };
  if (!c.avg_only) {
    const OpCall &f = call.max_fwd, &b = call.max_bwd;
    expect(kn_max_pool2d_forward(&m, f.arg("x"), f.arg("y"), f.arg("indices"), nullptr), "kn_max_pool2d_forward");
    expect(kn_max_pool2d_backward(&m, b.arg("dy"), b.arg("indices"), b.arg("dx"), nullptr), "kn_max_pool2d_backward");
  }
  if (!c.max_only) {
    const OpCall &f = call.avg_fwd, &b = call.avg_bwd;
    expect(kn_avg_pool2d_forward(&a, f.arg("x"), f.arg("y"), nullptr), "kn_avg_pool2d_forward");
    expect(kn_avg_pool2d_backward(&a, b.arg("dy"), b.arg("dx"), nullptr), "kn_avg_pool2d_backward");
  }
}
INSTANTIATE_TEST_SUITE_P(Pool2d, Pool2dParamErrors, ::testing::ValuesIn(param_cases()),
                         [](const ::testing::TestParamInfo<ParamCase>& p) { return p.param.name; });

TEST(Pool2d, NullParams) {
  PoolCall& call = pool_call();
  const OpCall &mf = call.max_fwd, &mb = call.max_bwd, &af = call.avg_fwd, &ab = call.avg_bwd;
  EXPECT_EQ(kn_max_pool2d_forward(nullptr, mf.arg("x"), mf.arg("y"), mf.arg("indices"), nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_max_pool2d_forward: p: must not be NULL"), std::string::npos);
  EXPECT_EQ(kn_max_pool2d_backward(nullptr, mb.arg("dy"), mb.arg("indices"), mb.arg("dx"), nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kn_avg_pool2d_forward(nullptr, af.arg("x"), af.arg("y"), nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kn_avg_pool2d_backward(nullptr, ab.arg("dy"), ab.arg("dx"), nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_avg_pool2d_backward: p: must not be NULL"), std::string::npos);
}

// kn_max_pool2d_output_size against the plain formula, over random windows and sizes
// (0 .. 40 and near INT64_MAX), and its errors.
TEST(MaxPool2d, OutputSizeQuery) {
  Rng rng(77);
  for (int i = 0; i < 2000; ++i) {
    kn_max_pool2d_params p{};
    int64_t in[2];
    for (int j = 0; j < 2; ++j) {
      p.kernel_size[j] = rng.integer(1, 6), p.stride[j] = rng.integer(1, 4);
      p.padding[j] = rng.integer(0, p.kernel_size[j] / 2), p.dilation[j] = rng.integer(1, 3);
      in[j] = rng.integer(0, 40);
    }
    p.ceil_mode = static_cast<int32_t>(rng.coin());
    const int64_t want[2] = {ref_out_size(in[0], p.kernel_size[0], p.stride[0], p.padding[0], p.dilation[0], p.ceil_mode),
                             ref_out_size(in[1], p.kernel_size[1], p.stride[1], p.padding[1], p.dilation[1], p.ceil_mode)};
    int64_t out[2] = {-7, -7};
    const kn_status s = kn_max_pool2d_output_size(&p, in[0], in[1], out);
    if (want[0] >= 1 && want[1] >= 1) {
      ASSERT_EQ(s, KN_OK) << kn_last_error();
      EXPECT_EQ(out[0], want[0]);
      EXPECT_EQ(out[1], want[1]);
    } else {
      ASSERT_EQ(s, KN_ERR_SHAPE_MISMATCH);
      EXPECT_NE(std::string(kn_last_error()).find("too small for the pooling window"), std::string::npos);
    }
  }
  kn_max_pool2d_params p{{3, 3}, {1, 1}, {1, 1}, {1, 1}, 0};
  int64_t out[2];
  KN_EXPECT_OK(kn_max_pool2d_output_size(&p, INT64_MAX - 2, 5, out));  // in + 2 - 2: no overflow
  EXPECT_EQ(out[0], INT64_MAX - 2);
  const std::string op = "kn_max_pool2d_output_size: ";
  auto expect = [&](kn_status got, kn_status want, const std::string& message) {
    EXPECT_EQ(got, want);
    EXPECT_NE(std::string(kn_last_error()).find(op + message), std::string::npos) << kn_last_error();
  };
  expect(kn_max_pool2d_output_size(nullptr, 5, 5, out), KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  expect(kn_max_pool2d_output_size(&p, 5, 5, nullptr), KN_ERR_INVALID_ARGUMENT, "out: must not be NULL");
  expect(kn_max_pool2d_output_size(&p, -1, 5, out), KN_ERR_INVALID_ARGUMENT, "height, width: must be >= 0");
  kn_max_pool2d_params bad = p;
  bad.padding[1] = 2;
  expect(kn_max_pool2d_output_size(&bad, 5, 5, out), KN_ERR_INVALID_ARGUMENT, "p->padding");
  bad = p;
  bad.padding[0] = 0;
  expect(kn_max_pool2d_output_size(&bad, 2, 5, out), KN_ERR_SHAPE_MISMATCH,
         "input: input size (2, 5) is too small for the pooling window: output size (0, 5)");
  bad = p;
  bad.ceil_mode = 2;
  expect(kn_max_pool2d_output_size(&bad, 5, 5, out), KN_ERR_INVALID_ARGUMENT, "p->ceil_mode");
}

}  // namespace
}  // namespace kntest
