// Tests of the C++ internals (linked from the object library
// kernels_objects; the shared library exports only the C ABI):
//   kn::make_layout / kn::for_each_row  (kernels/internal/strided.hpp)
//   kn::parallel_for / parallel_reduce_sum  (kernels/internal/threading.hpp)
//   kn::blas::gemm  (kernels/internal/blas.hpp)
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/fast_math.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/internal/threading.hpp"
#include "reference.hpp"
#include "tensor_util.hpp"
#include "kernels/kernels.h"

namespace kntest {
namespace {

// ------------------------------------------------------------ strided walk

// Row-major index of logical element i after zeroing the broadcast dims.
int64_t broadcast_index(const Shape& shape, uint32_t mask, int64_t i) {
  int64_t out = 0, mult = 1;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    const int64_t idx = i % shape[d];
    i /= shape[d];
    if (!((mask >> d) & 1u)) out += idx * mult;
    mult *= shape[d];
  }
  return out;
}

struct WalkCase {
  Shape shape;
  Layout out, in;
};
void PrintTo(const WalkCase& c, std::ostream* os) {
  *os << shape_str(c.shape) << " out=" << c.out.name() << " in=" << c.in.name();
}

std::vector<WalkCase> walk_cases() {
  const std::vector<Shape> shapes = {{}, {1}, {7}, {0, 3}, {2, 3, 4}, {5, 1, 3}, {1, 1}, {3, 1, 2, 2, 3}};
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  const std::vector<Layout> outs = {Layout{}, T, S, R, T.s(3).r()};
  std::vector<WalkCase> cases;
  for (const Shape& s : shapes)
    for (const Layout& o : outs) {
      std::vector<Layout> ins = {Layout{}, T, S.r(), R};
      if (!s.empty()) ins.push_back(Layout::broadcast_dims(1u)), ins.push_back(Layout::broadcast_dims((1u << s.size()) - 1));
      for (const Layout& i : ins) cases.push_back({s, o, i});
    }
  return cases;
}

class StridedWalk : public ::testing::TestWithParam<WalkCase> {};

// Operand 0 holds each element's logical index, operand 1 its broadcast
// index. Every [begin, end) split of the iteration space must visit every
// element of operand 0 exactly once, and pair it with the right element of
// operand 1.
TEST_P(StridedWalk, VisitsEveryElementOnceForAnySplit) {
  const WalkCase c = GetParam();
  HostTensor out(c.shape, KN_FLOAT64, c.out), in(c.shape, KN_FLOAT64, c.in);
  const int64_t n = out.numel();
  for (int64_t i = 0; i < n; ++i) {
    out.set(i, static_cast<double>(i));
    in.set(i, static_cast<double>(broadcast_index(c.shape, c.in.broadcast, i)));
  }
  const kn_tensor ok = out.kn(), ik = in.kn();
  const kn::StridedLayout<2> L = kn::make_layout<2>({&ok, &ik});
  EXPECT_EQ(L.numel, n);
  const std::array<double*, 2> base = {static_cast<double*>(ok.data), static_cast<double*>(ik.data)};

  auto walk = [&](const std::vector<int64_t>& cuts) {
    std::vector<int> visits(static_cast<size_t>(n), 0);
    int64_t total = 0;
    bool ok_pairs = true;
    for (size_t k = 0; k + 1 < cuts.size(); ++k)
      kn::for_each_row(L, base, cuts[k], cuts[k + 1],
                       [&](int64_t len, const std::array<double*, 2>& p, const std::array<int64_t, 2>& s) {
                         for (int64_t j = 0; j < len; ++j) {
                           const double v0 = p[0][j * s[0]], v1 = p[1][j * s[1]];
                           const auto i = static_cast<int64_t>(v0);
                           if (v0 != std::floor(v0) || i < 0 || i >= n) {
                             ok_pairs = false;  // stepped outside the view
                             continue;
                           }
                           ++visits[i];
                           if (v1 != static_cast<double>(broadcast_index(c.shape, c.in.broadcast, i))) ok_pairs = false;
                         }
                         total += len;
                       });
    std::ostringstream cut_str;
    for (int64_t x : cuts) cut_str << x << " ";
    EXPECT_TRUE(ok_pairs) << "cuts " << cut_str.str();
    EXPECT_EQ(total, n) << "cuts " << cut_str.str();
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(visits[i], 1) << "element " << i << ", cuts " << cut_str.str();
  };
  walk({0, n});
  for (int64_t b = 0; b <= n; ++b) walk({0, b, n});  // every two-way split
  Rng rng(static_cast<uint64_t>(n) * 31 + c.out.step);
  for (int rep = 0; rep < 10; ++rep) {  // random splits into up to 6 ranges
    std::vector<int64_t> cuts = {0, n};
    for (int k = static_cast<int>(rng.integer(1, 5)); k > 0; --k) cuts.push_back(rng.integer(0, n));
    std::sort(cuts.begin(), cuts.end());
    walk(cuts);
  }
}

INSTANTIATE_TEST_SUITE_P(Internal, StridedWalk, ::testing::ValuesIn(walk_cases()));

// Dims that are contiguous in every operand merge into one row, walked in
// memory order (also for a transposed or a reversed tensor).
TEST(StridedLayout, MergesContiguousDims) {
  for (Layout l : {Layout{}, Layout::transpose(), Layout::reverse(), Layout::transpose().r()}) {
    HostTensor a({2, 3, 4}, KN_FLOAT32, l), b({2, 3, 4}, KN_FLOAT32, l);
    const kn_tensor ak = a.kn(), bk = b.kn();
    const auto L = kn::make_layout<2>({&ak, &bk});
    EXPECT_EQ(L.ndim, 1) << l.name();
    EXPECT_EQ(L.shape[0], 24) << l.name();
    EXPECT_EQ(std::llabs(L.strides[0][0]), 1) << l.name();
  }
  // A sliced operand keeps the dims apart; size-1 dims are dropped.
  HostTensor a({2, 1, 3}, KN_FLOAT32), b({2, 1, 3}, KN_FLOAT32, Layout::sliced(2));
  const kn_tensor ak = a.kn(), bk = b.kn();
  const auto L = kn::make_layout<2>({&ak, &bk});
  EXPECT_EQ(L.ndim, 2);
  EXPECT_EQ(L.shape[0] * L.shape[1], 6);
}

// ------------------------------------------------------------ threading

TEST(Threading, ParallelForCoversRangeOnce) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{5}, int64_t{1000}, int64_t{100003}}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      kn::parallel_for(n, 64, threads, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++hits[i];  // disjoint ranges: no race
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "n=" << n << " threads=" << threads << " i=" << i;
    }
}

TEST(Threading, ParallelReduceSumIsBitwiseDeterministic) {
  Rng rng(11);
  std::vector<double> v(100003);
  for (double& x : v) x = rng.uniform(-1, 1) * std::pow(10.0, rng.integer(-8, 8));
  auto sum_with = [&](int threads) {
    return kn::parallel_reduce_sum<double>(static_cast<int64_t>(v.size()), 1000, threads, [&](int64_t b, int64_t e) {
      double s = 0;
      for (int64_t i = b; i < e; ++i) s += v[i];
      return s;
    });
  };
  const double s1 = sum_with(1);
  for (int threads : {2, 3, 4, 7}) EXPECT_EQ(sum_with(threads), s1) << threads << " threads";
  double naive = 0, mag = 0;
  for (double x : v) naive += x, mag += std::fabs(x);
  EXPECT_NEAR(s1, naive, 1e-12 * mag);
  EXPECT_EQ(kn::parallel_reduce_sum<double>(0, 1000, 2, [](int64_t, int64_t) { return 1.0; }), 0.0);
}

TEST(Threading, ParallelForRethrowsOnCaller) {
  EXPECT_THROW(kn::parallel_for(100000, 10, 2,
                                [](int64_t b, int64_t) {
                                  if (b == 0) throw std::runtime_error("boom");
                                }),
               std::runtime_error);
}

// ------------------------------------------------------------ GEMM

// c = alpha a b + beta c, every operand in every layout the kernels may hand
// over: row-major, transposed, both strides > 1 (the packing path),
// reversed (negative strides), broadcast (stride 0); c also transposed,
// strided (no BLAS layout: computed packed and scattered) and reversed.
struct GemmLayouts {
  const char* name;
  Layout layout;
};
void PrintTo(const GemmLayouts& g, std::ostream* os) { *os << g.name; }

const GemmLayouts kInputLayouts[] = {{"rowmajor", Layout{}},
                                     {"transposed", Layout::transpose()},
                                     {"strided", Layout::sliced(2)},
                                     {"reversed", Layout::reverse()},
                                     {"broadcast", Layout::broadcast_dims(1u)}};
const GemmLayouts kOutputLayouts[] = {{"rowmajor", Layout{}},
                                      {"transposed", Layout::transpose()},
                                      {"strided", Layout::sliced(2)},
                                      {"transposed_strided", Layout::transpose().s(3)},
                                      {"reversed", Layout::reverse()}};

template <typename T>
kn::MatrixView<T> view(const HostTensor& t) {
  return kn::as_matrix<T>(t.kn());
}

// a @ b (+ beta c) in double, on logical values.
ref::Vec matmul(const ref::Vec& a, const ref::Vec& b, int64_t M, int64_t K, int64_t N) {
  ref::Vec c(static_cast<size_t>(M * N), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) c[i * N + j] += a[i * K + k] * b[k * N + j];
  return c;
}

template <typename T>
void check_gemm(int64_t M, int64_t N, int64_t K, const Layout& la, const Layout& lb, const Layout& lc,
                double alpha, double beta, int threads) {
  const int32_t dtype = sizeof(T) == 4 ? KN_FLOAT32 : KN_FLOAT64;
  SCOPED_TRACE(::testing::Message() << "M=" << M << " N=" << N << " K=" << K << " a=" << la.name()
                                    << " b=" << lb.name() << " c=" << lc.name() << " alpha=" << alpha
                                    << " beta=" << beta << " " << dtype_str(dtype));
  Rng rng(static_cast<uint64_t>(M * 10007 + N * 101 + K));
  HostTensor a({M, K}, dtype, la), b({K, N}, dtype, lb), c({M, N}, dtype, lc);
  a.fill_random(rng), b.fill_random(rng);
  if (beta == 0)
    c.fill(std::nan(""));  // beta == 0 ignores c, NaN included
  else
    c.fill_random(rng);
  const ref::Vec c0 = c.values();
  const auto a_raw = a.raw(), b_raw = b.raw();
  kn::blas::gemm<T>(view<const T>(a), view<const T>(b), view<T>(c), T(alpha), T(beta), threads);

  ref::Vec want = matmul(a.values(), b.values(), M, K, N), mag = matmul(abs_of(a.values()), abs_of(b.values()), M, K, N);
  for (size_t i = 0; i < want.size(); ++i) {
    want[i] = alpha * want[i] + (beta == 0 ? 0.0 : beta * c0[i]);
    mag[i] = std::fabs(alpha) * mag[i] + (beta == 0 ? 0.0 : std::fabs(beta * c0[i]));
  }
  EXPECT_TRUE(all_close("c", c.values(), want, mag, 4.0 * (K + 3) * unit_roundoff(dtype)));
  EXPECT_TRUE(c.outside_untouched("c"));
  EXPECT_EQ(a.raw(), a_raw);
  EXPECT_EQ(b.raw(), b_raw);
}

class GemmLayoutTest
    : public ::testing::TestWithParam<std::tuple<GemmLayouts, GemmLayouts, GemmLayouts, int32_t>> {};

TEST_P(GemmLayoutTest, AgainstReference) {
  const auto& [a, b, c, dtype] = GetParam();
  for (const auto& [alpha, beta] : {std::pair<double, double>{1.0, 0.0}, {-0.5, 1.5}}) {
    if (dtype == KN_FLOAT32)
      check_gemm<float>(5, 6, 7, a.layout, b.layout, c.layout, alpha, beta, 1);
    else
      check_gemm<double>(5, 6, 7, a.layout, b.layout, c.layout, alpha, beta, 2);
  }
}

INSTANTIATE_TEST_SUITE_P(Internal, GemmLayoutTest,
                         ::testing::Combine(::testing::ValuesIn(kInputLayouts), ::testing::ValuesIn(kInputLayouts),
                                            ::testing::ValuesIn(kOutputLayouts),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         [](const ::testing::TestParamInfo<GemmLayoutTest::ParamType>& p) {
                           return std::string("a_") + std::get<0>(p.param).name + "_b_" +
                                  std::get<1>(p.param).name + "_c_" + std::get<2>(p.param).name + "_" +
                                  dtype_str(std::get<3>(p.param));
                         });

// Degenerate extents (1 row / column: strides of size-1 dims do not matter)
// and larger ones (OpenBLAS's blocked kernels, two threads).
TEST(Gemm, DegenerateAndLargerSizes) {
  const Shape sizes[] = {{1, 6, 7}, {5, 1, 7}, {5, 6, 1}, {1, 1, 1}, {1, 1, 9}, {70, 90, 130}};
  for (const Shape& s : sizes)
    for (const auto& la : kInputLayouts)
      for (const auto& lc : kOutputLayouts) {
        check_gemm<float>(s[0], s[1], s[2], la.layout, Layout::transpose(), lc.layout, 1.0, 0.0, 2);
        check_gemm<double>(s[0], s[1], s[2], Layout::sliced(2), la.layout, lc.layout, 2.0, 1.0, 1);
      }
}

// K == 0: c = beta c (and exactly 0 for beta == 0, even over NaN); M or N == 0: no-op.
TEST(Gemm, EmptyExtents) {
  for (const auto& lc : kOutputLayouts) {
    check_gemm<float>(4, 3, 0, Layout{}, Layout{}, lc.layout, 1.0, 0.0, 1);
    check_gemm<double>(4, 3, 0, Layout::transpose(), Layout{}, lc.layout, 1.0, 2.0, 2);
    check_gemm<double>(0, 3, 5, Layout{}, Layout{}, lc.layout, 1.0, 0.0, 1);
    check_gemm<float>(4, 0, 5, Layout{}, Layout::transpose(), lc.layout, 1.0, 1.0, 2);
  }
}

}  // namespace
}  // namespace kntest

// ------------------------------------------------------------ fast_math: log

// ulps between a float result and the double truth.
double ulps(float got, double want) {
  const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(want)) - 23);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

TEST(FastMath, LogfWithinOneUlpOverEveryExponent) {
  double worst = 0, at = 0;
  // Every binade from the smallest subnormal to the largest finite float, 4096
  // mantissas each (the polynomial's range is one binade, reduced by e).
  for (int e = -149; e < 128; ++e)
    for (int k = 0; k < 4096; ++k) {
      const float x = std::ldexp(1.0f + k / 4096.0f, e);
      if (!(x > 0) || std::isinf(x)) continue;
      const double want = std::log(static_cast<double>(x));
      if (want == 0) {
        EXPECT_EQ(kn::fast_logf(x), 0.0f);
        continue;
      }
      const double u = ulps(kn::fast_logf(x), want);
      if (u > worst) worst = u, at = x;
    }
  EXPECT_LE(worst, 1.0) << "at x = " << at;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(kn::fast_logf(inf), inf);
  EXPECT_EQ(kn::fast_logf(0.0f), -inf);
  EXPECT_EQ(kn::fast_logf(-0.0f), -inf);
  EXPECT_TRUE(std::isnan(kn::fast_logf(-1.0f)));
  EXPECT_TRUE(std::isnan(kn::fast_logf(-inf)));
  EXPECT_TRUE(std::isnan(kn::fast_logf(std::nanf(""))));
}

TEST(FastMath, Log1pfWithinTwoAndAQuarterUlpsIncludingTinyArguments) {
  double worst = 0, at = 0;
  for (int e = -140; e < 100; ++e)
    for (int k = 0; k < 1024; ++k)
      for (float sign : {1.0f, -1.0f}) {
        const float x = sign * std::ldexp(1.0f + k / 1024.0f, e);
        if (!(x > -1.0f) || std::isinf(x)) continue;
        const double want = std::log1p(static_cast<double>(x));
        const double u = ulps(kn::fast_log1pf(x), want);
        if (u > worst) worst = u, at = x;
      }
  EXPECT_LE(worst, 2.25) << "at x = " << at;  // measured 2.11
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(kn::fast_log1pf(inf), inf);
  EXPECT_EQ(kn::fast_log1pf(-1.0f), -inf);
  EXPECT_TRUE(std::isnan(kn::fast_log1pf(-2.0f)));
  EXPECT_TRUE(std::isnan(kn::fast_log1pf(std::nanf(""))));
  EXPECT_EQ(kn::fast_log1pf(0.0f), 0.0f);
}

TEST(FastMath, Expm1fWithinTwoUlpsIncludingTinyArguments) {
  double worst = 0, at = 0;
  for (int e = -140; e < 7; ++e)
    for (int k = 0; k < 1024; ++k)
      for (float sign : {1.0f, -1.0f}) {
        const float x = sign * std::ldexp(1.0f + k / 1024.0f, e);
        if (x > 88.0f) continue;
        const double want = std::expm1(static_cast<double>(x));
        if (static_cast<float>(want) == -1.0f) continue;  // the result rounds to -1: exact below
        const double u = ulps(kn::fast_expm1f(x), want);
        if (u > worst) worst = u, at = x;
      }
  EXPECT_LE(worst, 2.0) << "at x = " << at;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(kn::fast_expm1f(inf), inf);
  EXPECT_EQ(kn::fast_expm1f(-inf), -1.0f);
  EXPECT_EQ(kn::fast_expm1f(-100.0f), -1.0f);
  EXPECT_EQ(kn::fast_expm1f(0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(kn::fast_expm1f(-0.0f)));
  EXPECT_TRUE(std::isnan(kn::fast_expm1f(std::nanf(""))));
}
