// Tests of the GEMM ladder (kernels/internal/gemm_ladder.hpp): every step
// against a double-precision reference on odd shapes (not multiples of the
// micro-tile or the cache blocks), transposes, leading dimensions wider than
// the rows, alpha/beta (beta == 0 over NaN), K == 0, empty extents; the
// packed kernel on arbitrary strided views, with the AVX-512 and the portable
// micro-kernel, 1 vs 2 threads (bit-identical); kn::blas::gemm's dispatch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/gemm_ladder.hpp"
#include "kernels/kernels.h"

namespace {

namespace gl = kn::gemm_ladder;

using StepFn = std::function<void(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                  int64_t, const float*, int64_t, float, float*, int64_t)>;
struct Step {
  const char* name;
  StepFn run;
};

const std::vector<Step>& steps() {
  static const std::vector<Step> s = {
      {"naive", gl::naive},
      {"reordered", gl::reordered},
      {"blocked", gl::blocked},
      {"packed", gl::packed},
      {"threaded1",
       [](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al, const float* A, int64_t lda,
          const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
         gl::packed_threaded(ta, tb, M, N, K, al, A, lda, B, ldb, be, C, ldc, 1);
       }},
      {"threaded2",
       [](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al, const float* A, int64_t lda,
          const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
         gl::packed_threaded(ta, tb, M, N, K, al, A, lda, B, ldb, be, C, ldc, 2);
       }},
      {"openblas",
       [](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al, const float* A, int64_t lda,
          const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
         gl::vendor_blas(ta, tb, M, N, K, al, A, lda, B, ldb, be, C, ldc, 2);
       }},
  };
  return s;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// One BLAS-style problem: storage with padding (ld > width), a double
// reference and a per-element error bound.
struct Problem {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  std::vector<float> A, B, C0;
  std::vector<double> want, bound;

  Problem(int64_t m, int64_t n, int64_t k, bool ta_, bool tb_, int64_t pad, float alpha_,
          float beta_, unsigned seed)
      : ta(ta_), tb(tb_), M(m), N(n), K(k), alpha(alpha_), beta(beta_) {
    std::mt19937 rng(seed);
    const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
    lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
    A = random_floats(size_t(std::max<int64_t>(1, a_rows * lda)), rng);
    B = random_floats(size_t(std::max<int64_t>(1, b_rows * ldb)), rng);
    C0 = random_floats(size_t(std::max<int64_t>(1, M * ldc)), rng);
    if (beta == 0.f)  // beta == 0 must ignore C, NaN included (padding keeps its values)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) C0[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
    want.assign(size_t(M * N), 0.0), bound.assign(size_t(M * N), 0.0);
    const double eps = std::numeric_limits<float>::epsilon();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0, mag = 0;
        for (int64_t kk = 0; kk < K; ++kk) {
          const double p = double(a(i, kk)) * double(b(kk, j));
          s += p, mag += std::fabs(p);
        }
        const double c0 = beta == 0.f ? 0.0 : double(beta) * C0[i * ldc + j];
        want[i * N + j] = double(alpha) * s + c0;
        bound[i * N + j] = 2.0 * (double(K) + 3.0) * eps * (std::fabs(alpha) * mag + std::fabs(c0)) + 1e-30;
      }
  }
  float a(int64_t i, int64_t k) const { return ta ? A[k * lda + i] : A[i * lda + k]; }
  float b(int64_t k, int64_t j) const { return tb ? B[j * ldb + k] : B[k * ldb + j]; }

  std::vector<float> run(const Step& s) const {
    std::vector<float> C = C0;
    s.run(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
    return C;
  }

  // Returns "" when C matches within the bound and the padding is untouched.
  std::string check(const std::vector<float>& C) const {
    int bad = 0;
    std::string msg;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < ldc && i * ldc + j < int64_t(C.size()); ++j) {
        const float got = C[i * ldc + j];
        bool ok;
        double w;
        if (j < N) {
          w = want[i * N + j];
          ok = std::fabs(got - w) <= bound[i * N + j];
        } else {
          w = C0[i * ldc + j];
          ok = got == C0[i * ldc + j];  // padding of C
        }
        if (!ok && bad++ < 3)
          msg += " C[" + std::to_string(i) + "," + std::to_string(j) + "]=" + std::to_string(got) +
                 " want " + std::to_string(w);
      }
    return bad ? std::to_string(bad) + " bad:" + msg : "";
  }
};

std::string describe(const Problem& p) {
  return std::to_string(p.M) + "x" + std::to_string(p.N) + "x" + std::to_string(p.K) +
         (p.ta ? " A^T" : "") + (p.tb ? " B^T" : "") + " lda=" + std::to_string(p.lda) +
         " ldb=" + std::to_string(p.ldb) + " ldc=" + std::to_string(p.ldc) +
         " alpha=" + std::to_string(p.alpha) + " beta=" + std::to_string(p.beta);
}

void check_all_steps(int64_t M, int64_t N, int64_t K, int64_t pad, float alpha, float beta,
                     bool include_naive = true) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Problem p(M, N, K, ta, tb, pad, alpha, beta, unsigned(M * 131 + N * 7 + K + ta + 2 * tb));
      for (const Step& s : steps()) {
        if (!include_naive && std::string(s.name) == "naive") continue;
        EXPECT_EQ(p.check(p.run(s)), "") << s.name << " " << describe(p);
      }
    }
}

// Shapes around the micro-tile (6 x 32) and the cache blocks (MC 240, KC 256);
// 5x37x300 and 16x9x513 with B transposed take the dot-product kernel
// (M <= 8, K >= 256 / M <= 16, K >= 512), with a masked K tail.
TEST(GemmLadder, OddShapesAllStepsAllTransposes) {
  const int64_t shapes[][3] = {{1, 1, 1},    {7, 31, 33},   {33, 7, 31},   {31, 33, 7},
                               {1, 100, 7},  {100, 1, 33},  {6, 32, 1},    {12, 64, 257},
                               {13, 65, 3},  {257, 33, 31}, {37, 257, 100}, {5, 37, 300},
                               {16, 9, 513}};
  for (const auto& s : shapes) {
    check_all_steps(s[0], s[1], s[2], 0, 1.f, 0.f);
    check_all_steps(s[0], s[1], s[2], 5, -0.75f, 1.5f);
  }
}

// Several KC blocks (accumulation into C across k panels), several MC blocks,
// more than one NC panel of B.
TEST(GemmLadder, LargerThanTheCacheBlocks) {
  check_all_steps(250, 70, 600, 3, 1.f, 0.f, /*include_naive=*/false);
  check_all_steps(481, 40, 300, 0, 0.5f, -1.f, false);
  check_all_steps(7, 4200, 9, 1, 1.f, 1.f, false);
}

TEST(GemmLadder, ZeroKIsBetaTimesC) {
  for (float beta : {0.f, 2.f}) check_all_steps(7, 33, 0, 2, 1.f, beta);
}

TEST(GemmLadder, EmptyMOrNIsANoOp) {
  for (const Step& s : steps())
    for (auto [M, N] : {std::pair<int64_t, int64_t>{0, 5}, {5, 0}}) {
      std::vector<float> A(40, 1.f), B(40, 1.f), C(40, 3.f);
      s.run(false, false, M, N, 4, 1.f, A.data(), 4, B.data(), std::max<int64_t>(1, N), 0.f,
            C.data(), std::max<int64_t>(1, N));
      for (float c : C) EXPECT_EQ(c, 3.f) << s.name;
    }
}

// The packed kernel's result does not depend on the thread count: each C tile
// is summed by one thread in the same order.
TEST(GemmLadder, ThreadedIsBitIdenticalToOneThread) {
  // the last two: B read in place; with B transposed, the dot-product kernel
  const int64_t shapes[][3] = {{200, 300, 100}, {97, 1000, 61}, {500, 64, 300}, {6, 4704, 25},
                               {16, 200, 1024}};
  for (const auto& s : shapes)
    for (bool tb : {false, true}) {
      const Problem p(s[0], s[1], s[2], false, tb, 1, 1.f, 0.5f, 7);
      const std::vector<float> one = p.run(steps()[4]), two = p.run(steps()[5]);
      EXPECT_EQ(p.check(two), "") << describe(p);
      EXPECT_TRUE(one == two) << describe(p);
    }
}

// The portable micro-kernel (CPUs without AVX-512) gives the same results.
TEST(GemmLadder, PortableMicroKernel) {
  gl::force_portable_micro_kernel(true);
  EXPECT_STREQ(gl::micro_kernel_name(), "portable");
  const int64_t shapes[][3] = {{7, 31, 33}, {13, 65, 300}, {250, 40, 20}, {6, 30, 300}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Problem p(s[0], s[1], s[2], ta, tb, 2, 0.5f, 1.f, 3);
        EXPECT_EQ(p.check(p.run(steps()[3])), "") << describe(p);
        EXPECT_EQ(p.check(p.run(steps()[5])), "") << describe(p);
      }
  // kn::blas::gemm then leaves even the rule's shapes to the BLAS library.
  const int64_t M = 16, N = 800, K = 150;
  std::mt19937 rng(4);
  const std::vector<float> A = random_floats(size_t(M * K), rng), B = random_floats(size_t(K * N), rng);
  std::vector<float> c1(size_t(M * N)), c2(size_t(M * N));
  kn::blas::gemm<float>({A.data(), M, K, K, 1}, {B.data(), K, N, N, 1}, {c1.data(), M, N, N, 1}, 0.3f,
                        0.f, 1);
  kn::blas::library_gemm<float>({A.data(), M, K, K, 1}, {B.data(), K, N, N, 1},
                                {c2.data(), M, N, N, 1}, 0.3f, 0.f, 1);
  EXPECT_EQ(c1, c2);
  gl::force_portable_micro_kernel(false);
}

// packed_gemm on arbitrary strided views: negative strides, a transposed C,
// C with both strides > 1, a broadcast (stride 0) operand.
struct View {
  std::vector<float> storage;
  int64_t rows, cols, rs, cs, offset;
  View(int64_t r, int64_t c, int64_t rs_, int64_t cs_, std::mt19937& rng)
      : rows(r), cols(c), rs(rs_), cs(cs_) {
    // storage covering every index for any sign of the strides
    int64_t lo = 0, hi = 0;
    if (r > 0 && c > 0) {
      lo = std::min<int64_t>(0, (r - 1) * rs) + std::min<int64_t>(0, (c - 1) * cs);
      hi = std::max<int64_t>(0, (r - 1) * rs) + std::max<int64_t>(0, (c - 1) * cs);
    }
    storage = random_floats(size_t(hi - lo + 1), rng);
    offset = -lo;
  }
  float* p() { return storage.data() + offset; }
  float at(int64_t i, int64_t j) const { return storage[size_t(offset + i * rs + j * cs)]; }
};

TEST(GemmLadder, PackedGemmOnStridedViews) {
  std::mt19937 rng(11);
  struct Case {
    int64_t M, N, K;
    int64_t ars, acs, brs, bcs, crs, ccs;
  };
  const Case cases[] = {
      {7, 33, 31, -31, 1, 33, 1, 33, 1},          // A rows reversed
      {20, 40, 9, 1, 20, -1, -9, 1, 20},          // C transposed, B reversed
      {13, 35, 17, 34, 2, 2, 26, 3, 39 * 3},      // every stride > 1
      {9, 64, 50, 50, 1, 0, 1, 64, 1},            // B rows broadcast (stride 0)
      {300, 70, 20, 1, 300, 70, 1, -70, 1},       // A transposed, C rows reversed
      {1, 50, 10, 10, 1, 50, 1, 1, 7},            // one row of C, odd column stride
      {50, 1, 10, 10, 1, 1, 1, 5, 3},             // one column of C
      {40, 6, 300, 1, 40, 300, 1, 1, 40},         // C^T = B^T A^T: the dot-product kernel
      {6, 45, 280, 300, 1, 1, 290, 50, 1},        // dot-product kernel, padded rows
  };
  for (const Case& t : cases)
    for (int threads : {1, 2}) {
      View a(t.M, t.K, t.ars, t.acs, rng), b(t.K, t.N, t.brs, t.bcs, rng), c(t.M, t.N, t.crs, t.ccs, rng);
      const View c0 = c;
      gl::packed_gemm({a.p(), t.M, t.K, t.ars, t.acs}, {b.p(), t.K, t.N, t.brs, t.bcs},
                      {c.p(), t.M, t.N, t.crs, t.ccs}, 2.f, -1.f, threads);
      const double eps = std::numeric_limits<float>::epsilon();
      int bad = 0;
      for (int64_t i = 0; i < t.M; ++i)
        for (int64_t j = 0; j < t.N; ++j) {
          double s = 0, mag = 0;
          for (int64_t k = 0; k < t.K; ++k) {
            s += double(a.at(i, k)) * b.at(k, j);
            mag += std::fabs(double(a.at(i, k)) * b.at(k, j));
          }
          const double want = 2.0 * s - c0.at(i, j);
          if (std::fabs(c.at(i, j) - want) > 2.0 * (t.K + 3) * eps * (2 * mag + std::fabs(c0.at(i, j))))
            ++bad;
        }
      EXPECT_EQ(bad, 0) << t.M << "x" << t.N << "x" << t.K << " threads " << threads;
    }
}

// kn::blas::gemm for float: every shape gives the reference result whichever
// kernel the dispatch rule picks (ladder for small/skinny, the BLAS otherwise),
// on the LeNet/MLP training shapes and around the rule's thresholds.
TEST(GemmLadder, BlasGemmDispatchShapes) {
  const int64_t shapes[][3] = {{32, 128, 784}, {128, 784, 32}, {6, 4704, 25}, {25, 4704, 6},
                               {6, 25, 4704},  {16, 800, 150}, {150, 800, 16}, {16, 150, 800},
                               {64, 120, 400}, {300, 300, 300}, {2, 3, 4}};
  const Step blas_step{"kn::blas::gemm",
                       [](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al,
                          const float* A, int64_t lda, const float* B, int64_t ldb, float be,
                          float* C, int64_t ldc) {
                         kn::blas::gemm<float>(
                             ta ? kn::MatrixView<const float>{A, M, K, 1, lda}
                                : kn::MatrixView<const float>{A, M, K, lda, 1},
                             tb ? kn::MatrixView<const float>{B, K, N, 1, ldb}
                                : kn::MatrixView<const float>{B, K, N, ldb, 1},
                             kn::MatrixView<float>{C, M, N, ldc, 1}, al, be, 2);
                       }};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Problem p(s[0], s[1], s[2], ta, tb, 1, 1.f, ta ? 0.f : 1.f, 5);
        EXPECT_EQ(p.check(p.run(blas_step)), "") << describe(p);
      }
}

// The rule in blas.cpp really routes: a shape inside it gives packed_gemm's
// bits, one outside it the BLAS library's bits (the two round differently
// with alpha = 0.3: packed_gemm folds alpha into the packed A), also with a
// strided A, a transposed B and a column-major C (decided on C^T = B^T A^T).
// The rule depends on the library in use (OpenBLAS or MKL: blas.cpp).
TEST(GemmLadder, BlasGemmRoutesByTheRule) {
  std::mt19937 rng(9);
  const bool mkl = kn::blas::uses_mkl();
  struct Case {
    int64_t M, N, K;
    bool a_strided, b_transposed, ladder_openblas, ladder_mkl;
  };
  const Case cases[] = {
      {16, 800, 150, false, false, true, false},    // R1: conv2 forward (MKL: faster)
      {16, 800, 150, true, false, true, false},     // R1 with A's columns 2 apart
      {128, 128, 128, false, false, false, false},  // square: the BLAS
      {6, 4704, 25, false, false, false, false},    // M*N*K < 2^20: OpenBLAS's small kernels
      {6, 25, 4704, false, true, false, true},      // M1: a conv dw with a tiny C (MKL only)
  };
  for (const Case& t : cases) {
    const int64_t acs = t.a_strided ? 2 : 1;
    const std::vector<float> A = random_floats(size_t(t.M * t.K * acs), rng);
    const std::vector<float> B = random_floats(size_t(t.K * t.N), rng);
    const kn::MatrixView<const float> a{A.data(), t.M, t.K, t.K * acs, acs};
    const kn::MatrixView<const float> b = t.b_transposed
                                              ? kn::MatrixView<const float>{B.data(), t.K, t.N, 1, t.K}
                                              : kn::MatrixView<const float>{B.data(), t.K, t.N, t.N, 1};
    std::vector<float> c_gemm(size_t(t.M * t.N)), c_ladder(c_gemm.size()), c_blas(c_gemm.size());
    auto view = [&](std::vector<float>& v) { return kn::MatrixView<float>{v.data(), t.M, t.N, t.N, 1}; };
    kn::blas::gemm<float>(a, b, view(c_gemm), 0.3f, 0.f, 2);
    gl::packed_gemm(a, b, view(c_ladder), 0.3f, 0.f, 2);
    kn::blas::library_gemm<float>(a, b, view(c_blas), 0.3f, 0.f, 2);
    ASSERT_NE(c_ladder, c_blas) << "the two kernels round alike here: the test cannot tell them apart";
    // Only with the AVX-512 kernels.
    const bool ladder = (mkl ? t.ladder_mkl : t.ladder_openblas) && gl::uses_avx512();
    EXPECT_EQ(c_gemm == c_ladder, ladder) << t.M << "x" << t.N << "x" << t.K << " " << kn::blas::info();
    EXPECT_EQ(c_gemm == c_blas, !ladder) << t.M << "x" << t.N << "x" << t.K << " " << kn::blas::info();
  }
  // Column-major C (800 x 16) with column-major A and B: the ladder computes
  // C^T (16 x 800) = B^T A^T with A^T row-major, which is R1 (OpenBLAS only).
  const int64_t M = 800, N = 16, K = 150;
  const std::vector<float> A = random_floats(size_t(M * K), rng), B = random_floats(size_t(K * N), rng);
  const kn::MatrixView<const float> a{A.data(), M, K, 1, M}, b{B.data(), K, N, 1, K};
  std::vector<float> c1(size_t(M * N)), c2(size_t(M * N)), c3(size_t(M * N));
  kn::blas::gemm<float>(a, b, kn::MatrixView<float>{c1.data(), M, N, 1, M}, 0.3f, 0.f, 1);
  gl::packed_gemm(a, b, kn::MatrixView<float>{c2.data(), M, N, 1, M}, 0.3f, 0.f, 1);
  kn::blas::library_gemm<float>(a, b, kn::MatrixView<float>{c3.data(), M, N, 1, M}, 0.3f, 0.f, 1);
  EXPECT_NE(c2, c3);
  if (!gl::uses_avx512() || mkl) {
    EXPECT_EQ(c1, c3);
    return;
  }
  EXPECT_EQ(c1, c2);
}

// A B packed once (PackedB) gives the same bits as packed_gemm packing it on
// every call, for several A and C (the time steps of an RNN), over K and N
// that cross the KC / NR blocks, B transposed or not, C strided, 1 and 2
// threads, beta 0 and 1, and K = 0.
TEST(GemmLadder, PrepackedBIsPackedGemm) {
  std::mt19937 rng(21);
  struct Case {
    int64_t M, N, K;
    bool b_transposed, c_strided;
  };
  const Case cases[] = {{64, 1024, 256, true, false},  // the LSTM step: h W_hh^T
                        {64, 256, 1024, false, false}, // its backward: dg W_hh (K > KC)
                        {9, 45, 300, true, false},     // partial NR panel, K over two blocks
                        // (M <= 8 with K >= 256 would take the dot-product kernel: other sums)
                        {13, 70, 33, false, true},     // strided C: through the tile
                        {3, 5, 0, false, false}};      // K = 0: beta c
  for (const Case& t : cases)
    for (int threads : {1, 2})
      for (float beta : {0.f, 1.f}) {
        const std::vector<float> B = random_floats(size_t(std::max<int64_t>(1, t.K * t.N)), rng);
        const kn::MatrixView<const float> b =
            t.b_transposed ? kn::MatrixView<const float>{B.data(), t.K, t.N, 1, t.K}
                           : kn::MatrixView<const float>{B.data(), t.K, t.N, t.N, 1};
        const gl::PackedB packed(b);
        EXPECT_EQ(packed.rows(), t.K);
        EXPECT_EQ(packed.cols(), t.N);
        for (int step = 0; step < 3; ++step) {
          const std::vector<float> A = random_floats(size_t(std::max<int64_t>(1, t.M * t.K)), rng);
          const kn::MatrixView<const float> a{A.data(), t.M, t.K, t.K, 1};
          const int64_t cs = t.c_strided ? 3 : 1, rs = t.N * cs + 1;
          std::vector<float> c1 = random_floats(size_t(t.M * rs), rng), c2 = c1;
          gl::packed_gemm(a, b, kn::MatrixView<float>{c1.data(), t.M, t.N, rs, cs}, 1.f, beta,
                          threads);
          gl::packed_gemm(a, packed, kn::MatrixView<float>{c2.data(), t.M, t.N, rs, cs}, 1.f,
                          beta, threads);
          if (t.K == 0 || !t.c_strided) {
            EXPECT_EQ(c1, c2) << t.M << "x" << t.N << "x" << t.K << " threads " << threads;
          } else {  // packed_gemm turns a strided C around (C^T = B^T A^T): other sums
            for (size_t i = 0; i < c1.size(); ++i)
              ASSERT_NEAR(c1[i], c2[i], 1e-4 * (std::fabs(c1[i]) + 1)) << i;
          }
        }
      }
}

}  // namespace
