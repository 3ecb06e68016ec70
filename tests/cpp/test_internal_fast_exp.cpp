// kn::fast_expf (kernels/internal/fast_exp.hpp): its accuracy over the float
// range, the zero below -104 (masked -inf entries of a softmax row included)
// that it now returns by a select instead of an underflowing multiply, and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/internal/fast_exp.hpp"

namespace {

TEST(FastExp, ZeroBelowMinus104AndForMinusInfinity) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (float x : {ninf, -1e30f, -1000.0f, -200.0f, -110.0f, -104.5f, -104.0001f}) {
    const float e = kn::fast_expf(x);
    EXPECT_EQ(e, 0.0f) << "x = " << x;
    EXPECT_FALSE(std::signbit(e)) << "x = " << x;
  }
  for (int i = 0; i <= 600; ++i) {  // [-110, -104) in steps of 0.01
    const float x = -110.0f + 0.01f * static_cast<float>(i);
    if (x < -104.0f) {
      EXPECT_EQ(kn::fast_expf(x), 0.0f) << "x = " << x;
    }
  }
}

TEST(FastExp, AccurateOverNormalAndSubnormalResults) {
  // Normal results: within 2 ulp (relative 2.4e-7); subnormal ones (x in
  // [-104, -87.3]): within about one subnormal step of exp(x).
  for (int i = 0; i <= 19200; ++i) {
    const float x = -104.0f + 0.01f * static_cast<float>(i);  // up to 88
    if (x > 88.0f) break;
    const double want = std::exp(static_cast<double>(x));
    const double got = kn::fast_expf(x);
    EXPECT_NEAR(got, want, 2.4e-7 * want + 2.0e-45) << "x = " << x;
  }
}

TEST(FastExp, NanStaysNanLargeXClamps) {
  EXPECT_TRUE(std::isnan(kn::fast_expf(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(kn::fast_expf(0.0f), 1.0f);
  // x is clamped at 88.72: the largest finite result, not inf (softmax never gets there).
  EXPECT_GT(kn::fast_expf(std::numeric_limits<float>::infinity()), 3.0e38f);
}

}  // namespace
