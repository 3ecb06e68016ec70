// kn_dropout_forward / kn_dropout_backward through the C ABI: the mask
// against an independent Philox-4x32-10 written below (checked against the
// Random123 known-answer vectors), y = x * mask * scale, statistics of the
// keep fraction, independence of strides and threads, and validation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "tensor_util.hpp"
#include "kernels/dropout.h"

namespace kntest {
namespace {

using Vec = std::vector<double>;

// ------------------------------------------------------------ reference

// Philox-4x32-10, written from the paper independently of the library's.
std::array<uint32_t, 4> philox(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c[0], p1 = uint64_t(0xCD9E8D57u) * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1], uint32_t(p0)};
    k = {k[0] + 0x9E3779B9u, k[1] + 0xBB67AE85u};
  }
  return c;
}

// The documented rule (kernels.h): element i kept iff word i % 4 of
// philox(i / 4, seed) >= floor(p 2^32).
std::vector<uint8_t> ref_mask(uint64_t seed, double p, int64_t n) {
  std::vector<uint8_t> m(static_cast<size_t>(n));
  const uint64_t threshold = static_cast<uint64_t>(std::floor(p * 4294967296.0));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t g = static_cast<uint64_t>(i) / 4;
    const auto r = philox({uint32_t(g), uint32_t(g >> 32), 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)});
    m[i] = r[i % 4] >= threshold;
  }
  return m;
}

TEST(Dropout, ReferencePhiloxMatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox({0, 0, 0, 0}, {0, 0}), (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}),
            (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

// ------------------------------------------------------------ mask tensors

// A strided uint8/bool view with guard bytes (HostTensor holds floats only).
class MaskTensor {
 public:
  static constexpr int64_t kGuard = 16;
  static constexpr uint8_t kSentinel = 0xA5;
  MaskTensor(const Shape& shape, int32_t dtype, Layout layout = {}) : dtype_(dtype) {
    const HostTensor twin(shape, KN_FLOAT32, layout);  // the same element strides
    t_ = twin.kn();
    int64_t lo = 0, hi = 0;
    if (twin.numel() > 0)
      for (int d = 0; d < twin.ndim(); ++d) {
        const int64_t span = t_.strides[d] * (shape[d] - 1);
        (span < 0 ? lo : hi) += span;
      }
    origin_ = kGuard - lo;
    bytes_.assign(static_cast<size_t>(kGuard + hi - lo + 1 + kGuard), kSentinel);
    t_.dtype = dtype;
    t_.data = bytes_.data() + origin_;
    for (int64_t i = 0; i < twin.numel(); ++i) offsets_.push_back(twin.offset_of(i));
  }
  kn_tensor kn() const { return t_; }
  std::vector<uint8_t> values() const {
    std::vector<uint8_t> v;
    for (int64_t off : offsets_) v.push_back(bytes_[origin_ + off]);
    return v;
  }
  void set(int64_t i, uint8_t v) { bytes_[origin_ + offsets_[i]] = v; }
  bool outside_untouched() const {
    std::vector<char> covered(bytes_.size(), 0);
    for (int64_t off : offsets_) covered[origin_ + off] = 1;
    for (size_t k = 0; k < bytes_.size(); ++k)
      if (!covered[k] && bytes_[k] != kSentinel) return false;
    return true;
  }

 private:
  int32_t dtype_;
  kn_tensor t_{};
  int64_t origin_ = 0;
  std::vector<uint8_t> bytes_;
  std::vector<int64_t> offsets_;
};

// ------------------------------------------------------------ the tester

// DropoutTester().shape({30, 40}).p(0.3).seed_value(7).transpose("x").test_forward();
// Operands: x, y, mask (forward); dy, mask, dx (backward).
class DropoutTester : public TesterBase<DropoutTester> {
 public:
  DropoutTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  DropoutTester& p(double v) { p_ = v; return *this; }
  DropoutTester& key(uint64_t s) { key_ = s; return *this; }
  DropoutTester& mask_dtype(int32_t d) { mask_dtype_ = d; return *this; }
  DropoutTester& in_place(bool v = true) { in_place_ = v; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << "dropout shape=" << shape_str(shape_) << " p=" << p_ << " key=" << key_
      << " mask=" << (mask_dtype_ == KN_BOOL ? "bool" : "uint8") << (in_place_ ? " in-place" : "")
      << " " << describe_common();
    return o.str();
  }

  double scale() const {
    if (p_ >= 1) return 0.0;
    const double s = 1.0 / (1.0 - p_);
    return dtype_ == KN_FLOAT32 ? static_cast<float>(s) : s;
  }

  // Returns the mask the op wrote (logical order).
  std::vector<uint8_t> test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make("x", shape_);
    x.fill_random(rng);
    const Vec xv = x.values();
    const auto x_raw = x.raw();
    HostTensor y;
    if (!in_place_) y = make_output("y", shape_);
    HostTensor& out = in_place_ ? x : y;
    MaskTensor mask(shape_, mask_dtype_, layout_of("mask"));
    const kn_tensor xk = x.kn(), yk = out.kn(), mk = mask.kn();
    const kn_exec ex = exec();
    EXPECT_EQ(kn_dropout_forward(p_, key_, &xk, &yk, &mk, exec_ptr(ex)), KN_OK) << kn_last_error();
    const std::vector<uint8_t> m = mask.values(), want_m = ref_mask(key_, p_, shape_numel(shape_));
    EXPECT_EQ(m, want_m) << "mask differs from the documented Philox rule";
    Vec want(xv.size());
    const double s = scale();
    for (size_t i = 0; i < xv.size(); ++i) want[i] = xv[i] * (want_m[i] ? s : 0.0);
    EXPECT_TRUE(all_close("y", out.values(), want, {}, unit_roundoff(dtype_)));
    EXPECT_TRUE(out.outside_untouched("y"));
    EXPECT_TRUE(mask.outside_untouched()) << "mask written outside its view";
    if (!in_place_) {
      EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    }
    return m;
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor dy = make("dy", shape_);
    dy.fill_random(rng);
    MaskTensor mask(shape_, mask_dtype_, layout_of("mask"));
    std::vector<uint8_t> m(static_cast<size_t>(shape_numel(shape_)));
    for (size_t i = 0; i < m.size(); ++i) {
      // uint8 masks: any nonzero byte counts as kept.
      m[i] = rng.coin() ? (mask_dtype_ == KN_UINT8 && i % 3 == 0 ? 7 : 1) : 0;
      mask.set(static_cast<int64_t>(i), m[i]);
    }
    const Vec dyv = dy.values();
    Vec want(dyv.size());
    for (size_t i = 0; i < dyv.size(); ++i) want[i] = dyv[i] * (m[i] ? scale() : 0.0);
    HostTensor dx;
    if (!in_place_) dx = make_output("dx", shape_);
    HostTensor& out = in_place_ ? dy : dx;
    const kn_tensor dyk = dy.kn(), mk = mask.kn(), dxk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_dropout_backward(p_, &dyk, &mk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx", out.values(), want, {}, unit_roundoff(dtype_)));
    EXPECT_TRUE(out.outside_untouched("dx"));
    EXPECT_EQ(mask.values(), m) << "mask was modified";
  }

 private:
  Shape shape_ = {5, 7};
  double p_ = 0.5;
  uint64_t key_ = 42;
  int32_t mask_dtype_ = KN_UINT8;
  bool in_place_ = false;
};

using Case = TesterCase<DropoutTester>;

std::vector<Case> dropout_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"contiguous_2d", [](DropoutTester&) {}},
      {"scalar_0d", [](DropoutTester& t) { t.shape({}); }},
      {"vector_1d_odd", [](DropoutTester& t) { t.shape({23}); }},
      {"max_dims_8d", [](DropoutTester& t) { t.shape({2, 1, 3, 2, 1, 2, 2, 3}); }},
      {"size0", [](DropoutTester& t) { t.shape({4, 0, 3}); }},
      {"transposed_x", [T](DropoutTester& t) { t.shape({4, 3, 5}).layout("x", T).layout("dy", T); }},
      {"transposed_outputs", [T](DropoutTester& t) { t.shape({4, 3, 5}).layout("y", T).layout("mask", T).layout("dx", T); }},
      {"sliced_all", [S](DropoutTester& t) {
         t.shape({6, 5}).layout("x", S).layout("y", S).layout("mask", S).layout("dy", S).layout("dx", S);
       }},
      {"reversed", [R](DropoutTester& t) { t.shape({3, 4, 2}).layout("x", R).layout("mask", R).layout("dy", R); }},
      {"mixed", [T, S, R](DropoutTester& t) {
         t.shape({3, 4, 5}).layout("x", T.s(2)).layout("y", R).layout("mask", S.r()).layout("dy", T).layout("dx", S);
       }},
      {"broadcast_inputs", [](DropoutTester& t) { t.shape({4, 5}).broadcast("x", 1u).broadcast("dy", 2u); }},
      {"bool_mask", [](DropoutTester& t) { t.mask_dtype(KN_BOOL); }},
      {"p0", [](DropoutTester& t) { t.p(0.0); }},
      {"p1", [](DropoutTester& t) { t.p(1.0); }},
      {"p_small", [](DropoutTester& t) { t.p(0.1).shape({40, 30}); }},
      {"p_large", [](DropoutTester& t) { t.p(0.9).shape({40, 30}); }},
      {"seed_large", [](DropoutTester& t) { t.key(0xFFFFFFFFFFFFFFFFull); }},
      {"in_place", [](DropoutTester& t) { t.shape({5, 6}).in_place(); }},
      {"in_place_transposed", [T](DropoutTester& t) { t.shape({5, 6}).layout("x", T).layout("dy", T).in_place(); }},
      {"threads_2_large", [](DropoutTester& t) { t.shape({300, 257}).threads(2); }},
      {"threads_2_large_transposed", [T](DropoutTester& t) {
         t.shape({300, 257}).threads(2).layout("x", T).layout("mask", T).layout("dx", T);
       }},
      {"exec_null", [](DropoutTester& t) { t.null_exec(); }},
  };
}

class DropoutCases : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  DropoutTester tester() const {
    DropoutTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};
TEST_P(DropoutCases, Forward) { tester().test_forward(); }
TEST_P(DropoutCases, Backward) { tester().test_backward(); }
INSTANTIATE_TEST_SUITE_P(Dropout, DropoutCases,
                         ::testing::Combine(::testing::ValuesIn(dropout_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<DropoutCases::ParamType>);

// ------------------------------------------------------------ properties

TEST(Dropout, MaskIndependentOfStridesAndThreads) {
  const Layout T = Layout::transpose(), S = Layout::sliced(3), R = Layout::reverse();
  const Shape shape = {150, 257};  // > 2 grains: 2 and 16 threads split the work
  const auto want = DropoutTester().shape(shape).p(0.3).threads(1).test_forward();
  for (int threads : {2, 16}) {
    EXPECT_EQ(DropoutTester().shape(shape).p(0.3).threads(threads).test_forward(), want);
    EXPECT_EQ(DropoutTester().shape(shape).p(0.3).threads(threads).layout("x", T).layout("mask", T).test_forward(), want);
    EXPECT_EQ(DropoutTester().shape(shape).p(0.3).threads(threads).layout("y", S).layout("mask", R).test_forward(), want);
  }
  EXPECT_EQ(DropoutTester().shape(shape).p(0.3).dtype(KN_FLOAT64).mask_dtype(KN_BOOL).test_forward(), want);
}

TEST(Dropout, SameSeedSameMaskOtherSeedOtherMask) {
  const auto a = DropoutTester().shape({64, 64}).key(1).test_forward();
  EXPECT_EQ(DropoutTester().shape({64, 64}).key(1).seed(999).test_forward(), a);  // other x, same mask
  for (uint64_t other : {uint64_t(2), uint64_t(1) << 32, ~uint64_t(1)}) {
    const auto b = DropoutTester().shape({64, 64}).key(other).test_forward();
    int64_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
    EXPECT_GT(differ, 1500) << "seed " << other;  // ~2048 expected for independent masks
  }
}

// The fraction of kept elements is within 6 standard deviations of 1 - p
// (deterministic: fixed seeds; a failure is a bias, not bad luck).
TEST(Dropout, KeptFractionIsOneMinusP) {
  const int64_t n = 200000;
  for (double p : {0.05, 0.2, 0.5, 0.8, 0.97})
    for (uint64_t key : {uint64_t(0), uint64_t(12345)}) {
      const auto m = DropoutTester().shape({n}).p(p).key(key).test_forward();
      int64_t kept = 0;
      for (uint8_t v : m) kept += v;
      const double sd = std::sqrt(n * p * (1 - p));
      EXPECT_LT(std::fabs(kept - n * (1 - p)), 6 * sd) << "p=" << p << " key=" << key << " kept " << kept;
    }
  for (double p : {0.0, 1.0}) {
    const auto m = DropoutTester().shape({n}).p(p).test_forward();
    int64_t kept = 0;
    for (uint8_t v : m) kept += v;
    EXPECT_EQ(kept, p == 0 ? n : 0);
  }
}

TEST(Dropout, DroppedNanStaysNanLikeTorch) {
  // y = x * 0 for a dropped element: NaN and inf give NaN (torch multiplies too).
  const double nan = std::nan("");
  std::vector<double> x = {nan, std::numeric_limits<double>::infinity(), 1.0}, y(3);
  std::vector<uint8_t> m(3, 9);
  kn_tensor xk{}, yk{}, mk{};
  for (kn_tensor* t : {&xk, &yk, &mk}) {
    t->dtype = KN_FLOAT64, t->device_type = KN_DEVICE_CPU, t->ndim = 1, t->shape[0] = 3, t->strides[0] = 1;
  }
  mk.dtype = KN_UINT8;
  xk.data = x.data(), yk.data = y.data(), mk.data = m.data();
  KN_ASSERT_OK(kn_dropout_forward(1.0, 5, &xk, &yk, &mk, nullptr));
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));
  EXPECT_EQ(y[2], 0.0);
  EXPECT_EQ(m, (std::vector<uint8_t>{0, 0, 0}));
}

// ------------------------------------------------------------ validation

struct DropoutCall {
  HostTensor x{{3, 4}, KN_FLOAT32}, y{{3, 4}, KN_FLOAT32}, dy{{3, 4}, KN_FLOAT32}, dx{{3, 4}, KN_FLOAT32};
  MaskTensor mask{{3, 4}, KN_UINT8}, mask_in{{3, 4}, KN_BOOL};
  OpCall forward, backward;
  DropoutCall() {
    const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn(), mk = mask.kn(), mik = mask_in.kn();
    forward.add("x", &xk), forward.add("y", &yk), forward.add("mask", &mk);
    backward.add("dy", &dyk), backward.add("mask", &mik), backward.add("dx", &dxk);
  }
};
DropoutCall& dropout_call() {
  static DropoutCall call;
  return call;
}

kn_status invoke_forward(const OpCall& c) {
  return kn_dropout_forward(0.5, 7, c.arg("x"), c.arg("y"), c.arg("mask"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_dropout_backward(0.5, c.arg("dy"), c.arg("mask"), c.arg("dx"), c.exec());
}

// The checks of a mask argument (its dtype rules differ from the floats').
void add_mask_cases(std::vector<ErrorCase>& cases, bool output) {
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT, UNSUPPORTED = KN_ERR_UNSUPPORTED;
  cases.push_back({"mask_null", [](OpCall& c) { c.set_null("mask"); }, INVALID, "mask"});
  cases.push_back({"mask_ndim_too_large", [](OpCall& c) { c["mask"].ndim = KN_MAX_DIMS + 1; }, INVALID, "mask"});
  cases.push_back({"mask_negative_shape", [](OpCall& c) { c["mask"].shape[0] = -2; }, INVALID, "mask"});
  cases.push_back({"mask_float32", [](OpCall& c) { c["mask"].dtype = KN_FLOAT32; }, UNSUPPORTED, "mask"});
  cases.push_back({"mask_int32", [](OpCall& c) { c["mask"].dtype = KN_INT32; }, UNSUPPORTED, "mask"});
  cases.push_back({"mask_unknown_dtype", [](OpCall& c) { c["mask"].dtype = 99; }, INVALID, "mask"});
  cases.push_back({"mask_null_data", [](OpCall& c) { c["mask"].data = nullptr; }, INVALID, "mask"});
  cases.push_back({"mask_device_mismatch", [](OpCall& c) { c["mask"].device_type = KN_DEVICE_CUDA; }, INVALID, "mask"});
  cases.push_back({"mask_shape_mismatch", [](OpCall& c) { c["mask"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "mask"});
  cases.push_back({"mask_ndim_mismatch", [](OpCall& c) { c["mask"].ndim = 1; }, KN_ERR_SHAPE_MISMATCH, "mask"});
  if (output) {
    cases.push_back({"mask_stride0_self_overlap", [](OpCall& c) { c["mask"].strides[0] = 0; }, INVALID, "mask"});
    cases.push_back({"mask_overlaps_x", [](OpCall& c) { c["mask"].data = c["x"].data; }, INVALID, "mask"});
    cases.push_back({"mask_overlaps_y", [](OpCall& c) {
                       c["mask"].data = static_cast<char*>(c["y"].data) + 5;
                     }, INVALID, "mask"});
  }
}

std::vector<ErrorCase> forward_error_cases() {
  auto cases = descriptor_error_cases({{"x", true, -1, false, true}, {"y", true, -1, true}});
  cases.push_back({"y_shape_mismatch", [](OpCall& c) { c["y"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "y"});
  add_mask_cases(cases, true);
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"dx", true, -1, true}});
  cases.push_back({"dx_shape_mismatch", [](OpCall& c) { c["dx"].shape[1] = 3; }, KN_ERR_SHAPE_MISMATCH, "dx"});
  cases.push_back({"dx_overlaps_mask", [](OpCall& c) { c["dx"].data = c["mask"].data; }, KN_ERR_INVALID_ARGUMENT, "dx"});
  add_mask_cases(cases, false);
  return cases;
}

class DropoutForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(DropoutForwardErrors, ExactStatusAndMessage) {
  check_error_case(dropout_call().forward, invoke_forward, "kn_dropout_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Dropout, DropoutForwardErrors, ::testing::ValuesIn(forward_error_cases()), error_case_name);

class DropoutBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(DropoutBackwardErrors, ExactStatusAndMessage) {
  check_error_case(dropout_call().backward, invoke_backward, "kn_dropout_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Dropout, DropoutBackwardErrors, ::testing::ValuesIn(backward_error_cases()), error_case_name);

TEST(Dropout, ProbabilityOutOfRange) {
  DropoutCall& c = dropout_call();
  const kn_tensor xk = c.x.kn(), yk = c.y.kn(), mk = c.mask.kn(), dyk = c.dy.kn(), dxk = c.dx.kn();
  for (double p : {-0.1, 1.0000001, std::nan(""), std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(kn_dropout_forward(p, 1, &xk, &yk, &mk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find("kn_dropout_forward: p: "), std::string::npos) << kn_last_error();
    EXPECT_EQ(kn_dropout_backward(p, &dyk, &mk, &dxk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find("kn_dropout_backward: p: "), std::string::npos) << kn_last_error();
  }
}

}  // namespace
}  // namespace kntest
