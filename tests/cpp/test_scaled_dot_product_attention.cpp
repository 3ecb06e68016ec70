// scaled_dot_product_attention (CPU) against a naive double reference that
// materialises the scores (capi/include/kernels/scaled_dot_product_attention.h):
// forward (out, lse) and backward (dq, dk, dv) over batch dims 0..3, L != S,
// sizes that are not multiples of the kernel's tiles, E != Ev, strided and
// packed views, broadcast k / v (GQA), bool / uint8 / float masks with
// broadcast dims, fully masked rows, is_causal (L < S, L > S), dropout (the
// keep bits drawn by kn_dropout_forward on the logical (*B, L, S) weights),
// size-0 dims, float32 and float64; finite-difference gradients in float64;
// bitwise determinism across thread counts; every validation error path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/dropout.h"
#include "kernels/scaled_dot_product_attention.h"
#include "tensor_util.hpp"

namespace {

using namespace kntest;
using Params = kn_scaled_dot_product_attention_params;
constexpr double kInf = std::numeric_limits<double>::infinity();

enum class MaskKind { None, Bool, Uint8, Float };

// Row-major index over `part` (each dim full's size or 1) of position b of `full`.
int64_t broadcast_index(const Shape& full, const Shape& part, int64_t b) {
  int64_t idx = 0, mul = 1;
  for (int d = static_cast<int>(full.size()) - 1; d >= 0; --d) {
    const int64_t i = b % full[d];
    b /= full[d];
    if (part[d] != 1) idx += i * mul;
    mul *= part[d];
  }
  return idx;
}

Shape cat(Shape a, std::initializer_list<int64_t> b) {
  a.insert(a.end(), b);
  return a;
}

// A contiguous bool / uint8 tensor.
struct ByteTensor {
  Shape shape;
  std::vector<uint8_t> buf;
  kn_tensor kn(int32_t dtype) const {
    kn_tensor t{};
    t.data = const_cast<uint8_t*>(buf.data());
    t.dtype = dtype, t.device_type = KN_DEVICE_CPU, t.ndim = static_cast<int32_t>(shape.size());
    int64_t acc = 1;
    for (int d = t.ndim - 1; d >= 0; --d) t.shape[d] = shape[d], t.strides[d] = acc, acc *= shape[d];
    return t;
  }
};

struct Reference {
  std::vector<double> out, lse, dq, dk, dv;
};

class SdpaTester : public TesterBase<SdpaTester> {
 public:
  SdpaTester& batch(Shape b) { b_ = b, bk_ = b, bv_ = b; return *this; }
  SdpaTester& kv_batch(Shape b) { bk_ = b, bv_ = b; return *this; }
  SdpaTester& k_batch(Shape b) { bk_ = b; return *this; }
  SdpaTester& v_batch(Shape b) { bv_ = b; return *this; }
  SdpaTester& sizes(int64_t L, int64_t S, int64_t E, int64_t Ev) {
    L_ = L, S_ = S, E_ = E, Ev_ = Ev;
    return *this;
  }
  // shape: (*Bm, L|1, S|1); empty = (*B, L, S).
  SdpaTester& mask(MaskKind kind, Shape shape = {}) { mask_ = kind, mask_shape_ = shape; return *this; }
  SdpaTester& masked_rows(bool v = true) { masked_rows_ = v; return *this; }
  SdpaTester& causal(bool v = true) { causal_ = v; return *this; }
  SdpaTester& dropout(double p, uint64_t seed = 77) { p_ = p, drop_seed_ = seed; return *this; }
  SdpaTester& scale(double s) { scale_ = s, has_scale_ = true; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << "q" << shape_str(cat(b_, {L_, E_})) << " k" << shape_str(cat(bk_, {S_, E_})) << " v"
      << shape_str(cat(bv_, {S_, Ev_})) << " mask=" << static_cast<int>(mask_)
      << shape_str(mshape()) << " causal=" << causal_ << " p=" << p_ << " " << describe_common();
    return o.str();
  }

  // Everything one call needs, built from the seed.
  struct Call {
    HostTensor q, k, v, fmask, out, lse, dout, dq, dk, dv;
    ByteTensor bmask;
    std::vector<double> mask_add;  // additive mask over mshape()
    std::vector<double> keep;      // z / (1 - p) over (*B, L, S)
    Params p;
  };

  Call build() const {
    Call c;
    Rng rng(seed_);
    c.q = make("q", cat(b_, {L_, E_}));
    c.k = make("k", cat(bk_, {S_, E_}));
    c.v = make("v", cat(bv_, {S_, Ev_}));
    c.dout = make("dout", cat(b_, {L_, Ev_}));
    c.q.fill_random(rng, -1.5, 1.5), c.k.fill_random(rng, -1.5, 1.5), c.v.fill_random(rng);
    c.dout.fill_random(rng);
    c.out = make_output("out", cat(b_, {L_, Ev_}));
    c.lse = make_output("lse", cat(b_, {L_}));
    c.dq = make_output("dq", cat(b_, {L_, E_}));
    c.dk = make_output("dk", cat(bk_, {S_, E_}));
    c.dv = make_output("dv", cat(bv_, {S_, Ev_}));
    const Shape ms = mshape();
    const int64_t mn = shape_numel(ms);
    c.mask_add.assign(static_cast<size_t>(mn), 0.0);
    if (mask_ != MaskKind::None) {
      const int64_t Lm = ms[ms.size() - 2], Sm = ms.back();
      for (int64_t i = 0; i < mn; ++i) {
        const bool row_masked = masked_rows_ && Lm > 1 && ((i / Sm) % Lm) % 3 == 1;
        if (mask_ == MaskKind::Float)
          c.mask_add[i] = row_masked || rng.uniform(0, 1) < 0.15 ? -kInf : rng.uniform(-2, 1);
        else
          c.mask_add[i] = row_masked || rng.uniform(0, 1) < 0.3 ? -kInf : 0.0;
      }
      if (mask_ == MaskKind::Float) {
        c.fmask = make("mask", ms);
        c.fmask.set_values(c.mask_add);
      } else {
        c.bmask.shape = ms;
        c.bmask.buf.resize(static_cast<size_t>(mn));
        for (int64_t i = 0; i < mn; ++i)
          c.bmask.buf[i] = c.mask_add[i] == 0.0 ? (mask_ == MaskKind::Uint8 ? 3 : 1) : 0;
      }
    }
    c.p = Params{has_scale_ ? scale_ : 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(E_, 1))),
                 p_, drop_seed_, causal_ ? 1 : 0};
    // The keep factors: kn_dropout_forward of ones over the logical weights.
    const Shape ws = cat(b_, {L_, S_});
    c.keep.assign(static_cast<size_t>(shape_numel(ws)), 1.0);
    if (p_ > 0 && shape_numel(ws) > 0) {
      HostTensor ones(ws, KN_FLOAT64), y(ws, KN_FLOAT64);
      ones.fill(1.0);
      ByteTensor m{ws, std::vector<uint8_t>(static_cast<size_t>(shape_numel(ws)))};
      const kn_tensor xk = ones.kn(), yk = y.kn(), mk = m.kn(KN_UINT8);
      EXPECT_EQ(kn_dropout_forward(p_, drop_seed_, &xk, &yk, &mk, nullptr), KN_OK) << kn_last_error();
      c.keep = y.values();
    }
    return c;
  }

  Reference reference(const Call& c) const {
    Reference r;
    const int64_t nbatch = shape_numel(b_), L = L_, S = S_, E = E_, Ev = Ev_;
    const Shape ms = mshape();
    const Shape mb(ms.begin(), ms.end() - 2);
    const int64_t Lm = ms[ms.size() - 2], Sm = ms.back();
    const auto q = c.q.values(), k = c.k.values(), v = c.v.values(), dout = c.dout.values();
    r.out.assign(static_cast<size_t>(nbatch * L * Ev), 0.0);
    r.lse.assign(static_cast<size_t>(nbatch * L), 0.0);
    r.dq.assign(static_cast<size_t>(nbatch * L * E), 0.0);
    r.dk.assign(static_cast<size_t>(shape_numel(bk_) * S * E), 0.0);
    r.dv.assign(static_cast<size_t>(shape_numel(bv_) * S * Ev), 0.0);
    std::vector<double> s(static_cast<size_t>(S)), P(static_cast<size_t>(S)), dP(static_cast<size_t>(S));
    for (int64_t b = 0; b < nbatch; ++b) {
      const int64_t kb = broadcast_index(b_, bk_, b), vb = broadcast_index(b_, bv_, b);
      const int64_t mb_i = broadcast_index(b_, mb, b);
      for (int64_t i = 0; i < L; ++i) {
        double mx = -kInf;
        for (int64_t j = 0; j < S; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < E; ++e) dot += q[(b * L + i) * E + e] * k[(kb * S + j) * E + e];
          const double m = c.mask_add[(mb_i * Lm + (Lm > 1 ? i : 0)) * Sm + (Sm > 1 ? j : 0)];
          s[j] = (causal_ && j > i) ? -kInf : c.p.scale * dot + m;
          mx = std::max(mx, s[j]);
        }
        if (mx == -kInf) {
          r.lse[b * L + i] = -kInf;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < S; ++j) sum += P[j] = std::exp(s[j] - mx);
        r.lse[b * L + i] = mx + std::log(sum);
        for (int64_t j = 0; j < S; ++j) P[j] /= sum;
        const double* z = c.keep.data() + (b * L + i) * S;
        for (int64_t j = 0; j < S; ++j)
          for (int64_t e = 0; e < Ev; ++e) r.out[(b * L + i) * Ev + e] += P[j] * z[j] * v[(vb * S + j) * Ev + e];
        double D = 0;
        for (int64_t j = 0; j < S; ++j) {
          double g = 0;
          for (int64_t e = 0; e < Ev; ++e) g += dout[(b * L + i) * Ev + e] * v[(vb * S + j) * Ev + e];
          dP[j] = g * z[j];
          D += P[j] * dP[j];
          for (int64_t e = 0; e < Ev; ++e)
            r.dv[(vb * S + j) * Ev + e] += P[j] * z[j] * dout[(b * L + i) * Ev + e];
        }
        for (int64_t j = 0; j < S; ++j) {
          const double dS = P[j] * (dP[j] - D) * c.p.scale;
          for (int64_t e = 0; e < E; ++e) {
            r.dq[(b * L + i) * E + e] += dS * k[(kb * S + j) * E + e];
            r.dk[(kb * S + j) * E + e] += dS * q[(b * L + i) * E + e];
          }
        }
      }
    }
    return r;
  }

  kn_status forward(const Call& c, const kn_exec* ex) const {
    const kn_tensor q = c.q.kn(), k = c.k.kn(), v = c.v.kn(), o = c.out.kn(), l = c.lse.kn();
    kn_tensor m{};
    const kn_tensor* mp = mask_tensor(c, m);
    return kn_scaled_dot_product_attention_forward(&c.p, &q, &k, &v, mp, &o, &l, ex);
  }
  kn_status backward(const Call& c, const kn_exec* ex, bool want_dq = true, bool want_dk = true,
                     bool want_dv = true) const {
    const kn_tensor q = c.q.kn(), k = c.k.kn(), v = c.v.kn(), o = c.out.kn(), l = c.lse.kn(),
                    g = c.dout.kn(), dq = c.dq.kn(), dk = c.dk.kn(), dv = c.dv.kn();
    kn_tensor m{};
    const kn_tensor* mp = mask_tensor(c, m);
    return kn_scaled_dot_product_attention_backward(&c.p, &g, &q, &k, &v, mp, &o, &l,
                                                    want_dq ? &dq : nullptr, want_dk ? &dk : nullptr,
                                                    want_dv ? &dv : nullptr, ex);
  }

  // |got - want| <= rtol (|want| + max |want| + 1): the terms of each result
  // are bounded by the largest result in size (softmax weights sum to 1).
  ::testing::AssertionResult close(const std::string& what, const std::vector<double>& got,
                                   const std::vector<double>& want) const {
    double mx = 1;
    for (double w : want)
      if (std::isfinite(w)) mx = std::max(mx, std::fabs(w));
    std::vector<double> mag(want.size());
    for (size_t i = 0; i < want.size(); ++i) mag[i] = std::isfinite(want[i]) ? std::fabs(want[i]) + mx : 0;
    const double keep = p_ > 0 && p_ < 1 ? 1.0 / (1.0 - p_) : 1.0;
    return all_close(what, got, want, mag, 4 * keep * rtol(S_ + E_ + Ev_ + 16));
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Call c = build();
    const kn_exec e = exec();
    KN_ASSERT_OK(forward(c, exec_ptr(e)));
    const Reference r = reference(c);
    EXPECT_TRUE(close("out", c.out.values(), r.out));
    EXPECT_TRUE(close("lse", c.lse.values(), r.lse));
    EXPECT_TRUE(c.out.outside_untouched("out"));
    EXPECT_TRUE(c.lse.outside_untouched("lse"));
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Call c = build();
    const kn_exec e = exec();
    KN_ASSERT_OK(forward(c, exec_ptr(e)));
    KN_ASSERT_OK(backward(c, exec_ptr(e)));
    const Reference r = reference(c);
    EXPECT_TRUE(close("out", c.out.values(), r.out));
    EXPECT_TRUE(close("dq", c.dq.values(), r.dq));
    EXPECT_TRUE(close("dk", c.dk.values(), r.dk));
    EXPECT_TRUE(close("dv", c.dv.values(), r.dv));
    EXPECT_TRUE(c.dq.outside_untouched("dq"));
    EXPECT_TRUE(c.dk.outside_untouched("dk"));
    EXPECT_TRUE(c.dv.outside_untouched("dv"));
    // Each gradient alone (the others NULL) gives the same bits.
    const auto dq0 = c.dq.raw(), dk0 = c.dk.raw(), dv0 = c.dv.raw();
    c.dq.fill(std::nan("")), c.dk.fill(std::nan("")), c.dv.fill(std::nan(""));
    KN_ASSERT_OK(backward(c, exec_ptr(e), true, false, false));
    KN_ASSERT_OK(backward(c, exec_ptr(e), false, true, false));
    KN_ASSERT_OK(backward(c, exec_ptr(e), false, false, true));
    EXPECT_TRUE(c.dq.raw() == dq0) << "dq alone differs";
    EXPECT_TRUE(c.dk.raw() == dk0) << "dk alone differs";
    EXPECT_TRUE(c.dv.raw() == dv0) << "dv alone differs";
  }

  // Forward and backward outputs' bytes for `threads` threads.
  std::vector<std::vector<unsigned char>> run_bytes(int threads) const {
    Call c = build();
    const kn_exec e = make_exec(threads);
    EXPECT_EQ(forward(c, &e), KN_OK) << kn_last_error();
    EXPECT_EQ(backward(c, &e), KN_OK) << kn_last_error();
    return {c.out.raw(), c.lse.raw(), c.dq.raw(), c.dk.raw(), c.dv.raw()};
  }

  // float64: the backward against central differences of the forward.
  void test_gradient() const {
    SCOPED_TRACE(describe());
    Call c = build();
    const kn_exec e = exec();
    KN_ASSERT_OK(forward(c, &e));
    KN_ASSERT_OK(backward(c, &e));
    const std::vector<double> w = c.dout.values();
    auto loss = [&] {
      EXPECT_EQ(forward(c, &e), KN_OK);
      return dot(c.out.values(), w);
    };
    const auto dq = c.dq.values(), dk = c.dk.values(), dv = c.dv.values();
    EXPECT_TRUE(all_close("dq", dq, numeric_gradient(c.q, loss), {}, 1e-6, 1e-7));
    EXPECT_TRUE(all_close("dk", dk, numeric_gradient(c.k, loss), {}, 1e-6, 1e-7));
    EXPECT_TRUE(all_close("dv", dv, numeric_gradient(c.v, loss), {}, 1e-6, 1e-7));
  }

 private:
  Shape mshape() const {
    if (mask_ == MaskKind::None) return cat(Shape(b_.size(), 1), {1, 1});
    return mask_shape_.empty() ? cat(b_, {L_, S_}) : mask_shape_;
  }
  const kn_tensor* mask_tensor(const Call& c, kn_tensor& m) const {
    switch (mask_) {
      case MaskKind::None: return nullptr;
      case MaskKind::Float: m = c.fmask.kn(); return &m;
      case MaskKind::Bool: m = c.bmask.kn(KN_BOOL); return &m;
      case MaskKind::Uint8: m = c.bmask.kn(KN_UINT8); return &m;
    }
    return nullptr;
  }

  Shape b_{2, 3}, bk_{2, 3}, bv_{2, 3};
  int64_t L_ = 5, S_ = 7, E_ = 4, Ev_ = 3;
  MaskKind mask_ = MaskKind::None;
  Shape mask_shape_;
  bool masked_rows_ = false, causal_ = false, has_scale_ = false;
  double p_ = 0, scale_ = 1;
  uint64_t drop_seed_ = 77;
};

// ------------------------------------------------------------ named cases

using Case = TesterCase<SdpaTester>;
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"basic", [](SdpaTester& t) { t.batch({2, 3}).sizes(5, 7, 4, 3); }},
      {"no_batch_dims", [](SdpaTester& t) { t.batch({}).sizes(9, 6, 5, 5); }},
      {"one_batch_dim", [](SdpaTester& t) { t.batch({3}).sizes(33, 65, 8, 6); }},
      {"three_batch_dims", [](SdpaTester& t) { t.batch({2, 2, 2}).sizes(7, 7, 3, 4); }},
      {"tiles_130x65", [](SdpaTester& t) { t.batch({2}).sizes(130, 65, 16, 9); }},
      {"tiles_65x130", [](SdpaTester& t) { t.batch({1}).sizes(65, 130, 12, 20); }},
      {"tiles_130x257_E64", [](SdpaTester& t) { t.batch({1}).sizes(130, 257, 64, 64); }},
      {"one_query", [](SdpaTester& t) { t.batch({2}).sizes(1, 33, 8, 8); }},
      {"one_key", [](SdpaTester& t) { t.batch({2}).sizes(33, 1, 8, 8); }},
      {"transposed", [](SdpaTester& t) {
         t.batch({2, 2}).sizes(33, 7, 6, 5).transpose("q").transpose("k").transpose("v").transpose("dout");
       }},
      {"sliced_reversed", [](SdpaTester& t) {
         t.batch({2}).sizes(65, 33, 6, 5).slice("q").reverse("k").layout("v", Layout::transpose().s(2).r()).slice("dout", 3);
       }},
      {"gqa", [](SdpaTester& t) { t.batch({2, 2, 3}).kv_batch({2, 2, 1}).sizes(33, 65, 8, 8); }},
      {"kv_broadcast_all", [](SdpaTester& t) { t.batch({3, 2}).kv_batch({1, 1}).sizes(7, 130, 4, 6); }},
      {"k_v_broadcast_differently", [](SdpaTester& t) { t.batch({2, 3}).k_batch({2, 1}).v_batch({1, 3}).sizes(7, 9, 4, 5); }},
      {"k_broadcast_v_not", [](SdpaTester& t) { t.batch({3}).k_batch({1}).sizes(9, 7, 4, 5); }},
      {"bool_mask", [](SdpaTester& t) { t.batch({2, 3}).sizes(33, 65, 8, 8).mask(MaskKind::Bool); }},
      {"uint8_mask_rows", [](SdpaTester& t) { t.batch({2}).sizes(7, 9, 4, 4).mask(MaskKind::Uint8).masked_rows(); }},
      {"float_mask", [](SdpaTester& t) { t.batch({2, 3}).sizes(65, 33, 8, 8).mask(MaskKind::Float); }},
      {"float_mask_rows_transposed", [](SdpaTester& t) {
         t.batch({2}).sizes(130, 7, 4, 4).mask(MaskKind::Float).masked_rows().transpose("mask");
       }},
      {"mask_1xS", [](SdpaTester& t) { t.batch({2, 3}).sizes(9, 33, 4, 4).mask(MaskKind::Bool, {1, 1, 1, 33}); }},
      {"mask_Lx1", [](SdpaTester& t) { t.batch({2, 3}).sizes(9, 33, 4, 4).mask(MaskKind::Float, {2, 1, 9, 1}); }},
      {"mask_1x1_masks_all", [](SdpaTester& t) { t.batch({3}).sizes(9, 5, 4, 4).mask(MaskKind::Bool, {3, 1, 1}).seed(3); }},
      {"mask_batch_broadcast", [](SdpaTester& t) { t.batch({2, 3}).sizes(9, 7, 4, 4).mask(MaskKind::Uint8, {1, 3, 9, 7}).masked_rows(); }},
      {"causal_square", [](SdpaTester& t) { t.batch({2}).sizes(130, 130, 8, 8).causal(); }},
      {"causal_L_lt_S", [](SdpaTester& t) { t.batch({2}).sizes(33, 130, 8, 6).causal(); }},
      {"causal_L_gt_S", [](SdpaTester& t) { t.batch({2}).sizes(130, 33, 8, 6).causal(); }},
      {"causal_and_mask", [](SdpaTester& t) { t.batch({2}).sizes(65, 70, 8, 6).causal().mask(MaskKind::Bool).masked_rows(); }},
      {"causal_float_mask_gqa", [](SdpaTester& t) {
         t.batch({2, 2}).kv_batch({2, 1}).sizes(65, 65, 8, 8).causal().mask(MaskKind::Float, {1, 1, 65, 65});
       }},
      {"dropout", [](SdpaTester& t) { t.batch({2, 3}).sizes(70, 65, 8, 8).dropout(0.3); }},
      {"dropout_causal_mask", [](SdpaTester& t) {
         t.batch({2}).sizes(131, 130, 8, 5).dropout(0.3, 12345678901ull).causal().mask(MaskKind::Float).masked_rows();
       }},
      {"dropout_all", [](SdpaTester& t) { t.batch({2}).sizes(9, 7, 4, 4).dropout(1.0); }},
      {"scale_large", [](SdpaTester& t) { t.batch({2}).sizes(33, 33, 8, 8).scale(3.0); }},
      {"scale_negative", [](SdpaTester& t) { t.batch({2}).sizes(9, 7, 4, 4).scale(-0.7); }},
      {"scale_zero", [](SdpaTester& t) { t.batch({2}).sizes(9, 7, 4, 4).scale(0.0); }},
      {"L0", [](SdpaTester& t) { t.batch({2}).sizes(0, 7, 4, 4); }},
      {"S0", [](SdpaTester& t) { t.batch({2}).sizes(5, 0, 4, 4); }},
      {"batch0", [](SdpaTester& t) { t.batch({0, 3}).kv_batch({1, 3}).sizes(5, 7, 4, 4); }},
      {"E0", [](SdpaTester& t) { t.batch({2}).sizes(5, 7, 0, 4); }},
      {"Ev0", [](SdpaTester& t) { t.batch({2}).sizes(5, 7, 4, 0); }},
      {"threads3", [](SdpaTester& t) { t.batch({2, 3}).kv_batch({2, 1}).sizes(65, 33, 8, 8).threads(3); }},
      {"null_exec", [](SdpaTester& t) { t.batch({2}).sizes(9, 9, 4, 4).null_exec(); }},
  };
  return all;
}

using CaseParam = std::tuple<Case, int32_t>;
class SdpaCases : public ::testing::TestWithParam<CaseParam> {
 protected:
  SdpaTester tester() const {
    SdpaTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};
TEST_P(SdpaCases, Forward) { tester().test_forward(); }
TEST_P(SdpaCases, Backward) { tester().test_backward(); }
INSTANTIATE_TEST_SUITE_P(ScaledDotProductAttention, SdpaCases,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<CaseParam>);

// Random shapes, layouts, masks, flags.
class SdpaRandom : public ::testing::TestWithParam<int> {};
TEST_P(SdpaRandom, ForwardAndBackward) {
  Rng rng(1000 + GetParam());
  SdpaTester t;
  const int nb = static_cast<int>(rng.integer(0, 3));
  Shape b, kvb, mb;
  for (int d = 0; d < nb; ++d) {
    b.push_back(rng.integer(1, 3));
    kvb.push_back(rng.coin() ? b.back() : 1);
    mb.push_back(rng.coin() ? b.back() : 1);
  }
  const int64_t sizes[] = {1, 2, 7, 33, 65, 70};
  const int64_t L = sizes[rng.integer(0, 5)], S = sizes[rng.integer(0, 5)];
  t.dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(1, 3))).seed(GetParam());
  t.batch(b).kv_batch(kvb).sizes(L, S, rng.integer(1, 9), rng.integer(1, 9)).causal(rng.coin());
  const int mk = static_cast<int>(rng.integer(0, 3));
  if (mk) t.mask(static_cast<MaskKind>(mk), cat(mb, {rng.coin() ? L : 1, rng.coin() ? S : 1}));
  if (rng.integer(0, 3) == 0) t.dropout(0.25, static_cast<uint64_t>(GetParam()));
  for (const char* op : {"q", "k", "v", "dout"})
    if (rng.coin()) t.layout(op, random_layout(rng, nb + 2, false));
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(ScaledDotProductAttention, SdpaRandom, ::testing::Range(0, 24));

// p = 1: every weight dropped -> out 0 (lse is still the scores' log-sum-exp).
TEST(ScaledDotProductAttention, DropoutOneGivesZero) {
  SdpaTester t;
  t.batch({2}).sizes(9, 7, 4, 4).dropout(1.0);
  SdpaTester::Call c = t.build();
  KN_ASSERT_OK(t.forward(c, nullptr));
  for (double x : c.out.values()) EXPECT_EQ(x, 0.0);
  SdpaTester t0;
  t0.batch({2}).sizes(9, 7, 4, 4);
  SdpaTester::Call c0 = t0.build();
  KN_ASSERT_OK(t0.forward(c0, nullptr));
  EXPECT_TRUE(all_close("lse", c.lse.values(), c0.lse.values(), {}, 1e-6));
}

// A fully masked row: out 0, lse -inf, its dq 0, and no NaN anywhere.
TEST(ScaledDotProductAttention, FullyMaskedRows) {
  for (int32_t dt : {KN_FLOAT32, KN_FLOAT64}) {
    SdpaTester t;
    t.dtype(dt).batch({2}).sizes(9, 70, 4, 4).mask(MaskKind::Bool).masked_rows();
    SdpaTester::Call c = t.build();
    KN_ASSERT_OK(t.forward(c, nullptr));
    KN_ASSERT_OK(t.backward(c, nullptr));
    const auto out = c.out.values(), lse = c.lse.values(), dq = c.dq.values();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 1; i < 9; i += 3) {
        EXPECT_EQ(lse[b * 9 + i], -kInf);
        for (int e = 0; e < 4; ++e) {
          EXPECT_EQ(out[(b * 9 + i) * 4 + e], 0.0);
          EXPECT_EQ(dq[(b * 9 + i) * 4 + e], 0.0);
        }
      }
    for (double x : c.dk.values()) EXPECT_FALSE(std::isnan(x));
  }
}

// A NaN in a query row makes that row's out and lse NaN (as torch), whatever
// the other scores; the other rows are unaffected.
TEST(ScaledDotProductAttention, NanPropagates) {
  for (int32_t dt : {KN_FLOAT32, KN_FLOAT64}) {
    SdpaTester t;
    t.dtype(dt).batch({2}).sizes(70, 140, 4, 4);
    SdpaTester::Call c = t.build();
    for (int e = 0; e < 4; ++e) c.q.set((0 * 70 + 65) * 4 + e, std::nan(""));  // every score of row 65 NaN
    c.q.set((1 * 70 + 3) * 4 + 1, std::nan(""));                                  // one element of row 3
    KN_ASSERT_OK(t.forward(c, nullptr));
    const auto out = c.out.values(), lse = c.lse.values();
    EXPECT_TRUE(std::isnan(lse[65])) << lse[65];
    EXPECT_TRUE(std::isnan(lse[70 + 3])) << lse[73];
    EXPECT_TRUE(std::isnan(out[65 * 4])) << out[65 * 4];
    EXPECT_TRUE(std::isnan(out[(70 + 3) * 4])) << out[73 * 4];
    EXPECT_FALSE(std::isnan(lse[64]) || std::isnan(out[64 * 4]) || std::isnan(lse[70 + 4]));
  }
}

// q, k, v as views of one packed (N, L, 3, H, E) projection, dout of a
// (N, L, H, E) tensor: the same results as contiguous copies.
TEST(ScaledDotProductAttention, PackedQkvViews) {
  for (int causal : {0, 1}) {
    const int64_t N = 2, H = 3, L = 70, E = 16;
    Rng rng(5);
    HostTensor packed({N, L, 3, H, E}, KN_FLOAT32), g({N, L, H, E}, KN_FLOAT32);
    packed.fill_random(rng), g.fill_random(rng);
    auto view = [&](const HostTensor& base, int which, bool is_packed) {
      kn_tensor t = base.kn();
      const int64_t* st = t.strides;
      const int64_t s0 = st[0], s1 = st[1], sh = is_packed ? st[3] : st[2], se = is_packed ? st[4] : st[3];
      t.data = static_cast<char*>(t.data) + (is_packed ? which * st[2] * 4 : 0);
      t.ndim = 4;
      t.shape[0] = N, t.shape[1] = H, t.shape[2] = L, t.shape[3] = E;
      t.strides[0] = s0, t.strides[1] = sh, t.strides[2] = s1, t.strides[3] = se;
      return t;
    };
    const kn_tensor q = view(packed, 0, true), k = view(packed, 1, true), v = view(packed, 2, true),
                    dout = view(g, 0, false);
    // Contiguous copies.
    HostTensor qc({N, H, L, E}, KN_FLOAT32), kc({N, H, L, E}, KN_FLOAT32), vc({N, H, L, E}, KN_FLOAT32),
        gc({N, H, L, E}, KN_FLOAT32);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < L; ++i)
          for (int64_t e = 0; e < E; ++e) {
            const int64_t dst = ((n * H + h) * L + i) * E + e;
            qc.set(dst, packed.get((((n * L + i) * 3 + 0) * H + h) * E + e));
            kc.set(dst, packed.get((((n * L + i) * 3 + 1) * H + h) * E + e));
            vc.set(dst, packed.get((((n * L + i) * 3 + 2) * H + h) * E + e));
            gc.set(dst, g.get(((n * L + i) * H + h) * E + e));
          }
    const Params p{0.25, 0.0, 0, causal};
    HostTensor o1({N, H, L, E}, KN_FLOAT32), l1({N, H, L}, KN_FLOAT32), o2({N, H, L, E}, KN_FLOAT32),
        l2({N, H, L}, KN_FLOAT32);
    HostTensor dq1({N, H, L, E}, KN_FLOAT32), dk1({N, H, L, E}, KN_FLOAT32), dv1({N, H, L, E}, KN_FLOAT32);
    HostTensor dq2({N, H, L, E}, KN_FLOAT32), dk2({N, H, L, E}, KN_FLOAT32), dv2({N, H, L, E}, KN_FLOAT32);
    const kn_tensor O1 = o1.kn(), L1 = l1.kn(), O2 = o2.kn(), L2 = l2.kn(), QC = qc.kn(), KC = kc.kn(),
                    VC = vc.kn(), GC = gc.kn(), DQ1 = dq1.kn(), DK1 = dk1.kn(), DV1 = dv1.kn(),
                    DQ2 = dq2.kn(), DK2 = dk2.kn(), DV2 = dv2.kn();
    const kn_exec ex = make_exec(2);
    KN_ASSERT_OK(kn_scaled_dot_product_attention_forward(&p, &q, &k, &v, nullptr, &O1, &L1, &ex));
    KN_ASSERT_OK(kn_scaled_dot_product_attention_forward(&p, &QC, &KC, &VC, nullptr, &O2, &L2, &ex));
    KN_ASSERT_OK(kn_scaled_dot_product_attention_backward(&p, &dout, &q, &k, &v, nullptr, &O1, &L1, &DQ1,
                                                          &DK1, &DV1, &ex));
    KN_ASSERT_OK(kn_scaled_dot_product_attention_backward(&p, &GC, &QC, &KC, &VC, nullptr, &O2, &L2, &DQ2,
                                                          &DK2, &DV2, &ex));
    EXPECT_TRUE(all_close("out", o1.values(), o2.values(), {}, 1e-5, 1e-6));
    EXPECT_TRUE(all_close("lse", l1.values(), l2.values(), {}, 1e-5, 1e-6));
    EXPECT_TRUE(all_close("dq", dq1.values(), dq2.values(), {}, 1e-5, 1e-6));
    EXPECT_TRUE(all_close("dk", dk1.values(), dk2.values(), {}, 1e-5, 1e-6));
    EXPECT_TRUE(all_close("dv", dv1.values(), dv2.values(), {}, 1e-5, 1e-6));
  }
}

// Same bits for 1, 2 and 3 threads.
TEST(ScaledDotProductAttention, DeterministicAcrossThreadCounts) {
  std::vector<SdpaTester> ts(4);
  ts[0].batch({2, 3}).kv_batch({2, 1}).sizes(130, 70, 16, 8).causal();
  ts[1].batch({2, 3}).sizes(65, 200, 8, 8).mask(MaskKind::Float).dropout(0.3);
  ts[2].batch({4}).k_batch({1}).sizes(33, 65, 8, 8);
  ts[3].dtype(KN_FLOAT64).batch({3, 2}).kv_batch({1, 1}).sizes(65, 65, 8, 8).mask(MaskKind::Bool).masked_rows();
  for (const SdpaTester& t : ts) {
    SCOPED_TRACE(t.describe());
    const auto one = t.run_bytes(1);
    for (int n : {2, 3}) EXPECT_TRUE(t.run_bytes(n) == one) << n << " threads differ from 1";
  }
}

TEST(ScaledDotProductAttention, FiniteDifferenceGradients) {
  std::vector<SdpaTester> ts(5);
  ts[0].batch({2}).sizes(5, 6, 3, 4);
  ts[1].batch({2, 2}).kv_batch({2, 1}).sizes(4, 5, 3, 2).causal();
  ts[2].batch({1}).sizes(6, 4, 3, 3).mask(MaskKind::Float).masked_rows().causal();
  ts[3].batch({2}).sizes(5, 7, 3, 3).dropout(0.3).mask(MaskKind::Bool, {1, 5, 1});
  ts[4].batch({}).sizes(6, 5, 2, 3).scale(0.8).transpose("q").reverse("k");
  for (SdpaTester& t : ts) t.dtype(KN_FLOAT64).test_gradient();
}

// ------------------------------------------------------------ validation

// Valid float32 calls: q (2, 3, 4, 5), k (2, 1, 6, 5), v (2, 1, 6, 3),
// attn_mask (1, 3, 4, 6) float, out (2, 3, 4, 3), lse (2, 3, 4).
struct SdpaCall {
  HostTensor q{{2, 3, 4, 5}, KN_FLOAT32}, k{{2, 1, 6, 5}, KN_FLOAT32}, v{{2, 1, 6, 3}, KN_FLOAT32},
      m{{1, 3, 4, 6}, KN_FLOAT32}, out{{2, 3, 4, 3}, KN_FLOAT32}, lse{{2, 3, 4}, KN_FLOAT32},
      dout{{2, 3, 4, 3}, KN_FLOAT32}, dq{{2, 3, 4, 5}, KN_FLOAT32}, dk{{2, 1, 6, 5}, KN_FLOAT32},
      dv{{2, 1, 6, 3}, KN_FLOAT32};
  OpCall fwd, bwd;
  SdpaCall() {
    Rng rng(9);
    for (HostTensor* t : {&q, &k, &v, &m, &dout}) t->fill_random(rng);
    const kn_tensor Q = q.kn(), K = k.kn(), V = v.kn(), M = m.kn(), O = out.kn(), LS = lse.kn(),
                    G = dout.kn(), DQ = dq.kn(), DK = dk.kn(), DV = dv.kn();
    fwd.add("q", &Q), fwd.add("k", &K), fwd.add("v", &V), fwd.add("attn_mask", &M), fwd.add("out", &O),
        fwd.add("lse", &LS);
    bwd.add("dout", &G), bwd.add("q", &Q), bwd.add("k", &K), bwd.add("v", &V), bwd.add("attn_mask", &M),
        bwd.add("out", &O), bwd.add("lse", &LS), bwd.add("dq", &DQ), bwd.add("dk", &DK), bwd.add("dv", &DV);
  }
};
SdpaCall& sdpa_call() {
  static SdpaCall call;
  return call;
}

const Params kParams{0.5, 0.0, 0, 1};

kn_status invoke_forward(const OpCall& c) {
  return kn_scaled_dot_product_attention_forward(&kParams, c.arg("q"), c.arg("k"), c.arg("v"),
                                                 c.arg("attn_mask"), c.arg("out"), c.arg("lse"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_scaled_dot_product_attention_backward(&kParams, c.arg("dout"), c.arg("q"), c.arg("k"), c.arg("v"),
                                                  c.arg("attn_mask"), c.arg("out"), c.arg("lse"),
                                                  c.arg("dq"), c.arg("dk"), c.arg("dv"), c.exec());
}

// Mutations both entries share (q, k, v, attn_mask, out, lse).
void add_shared_cases(std::vector<ErrorCase>& cases) {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  cases.push_back({"q_one_dim", [](OpCall& c) { c["q"].ndim = 1; }, SHAPE, "q"});
  cases.push_back({"k_wrong_ndim", [](OpCall& c) { c["k"].ndim = 3; }, SHAPE, "k"});
  cases.push_back({"k_batch_dim_not_q_or_1", [](OpCall& c) { c["k"].shape[0] = 3; }, SHAPE, "k"});
  cases.push_back({"k_E_mismatch", [](OpCall& c) { c["k"].shape[3] = 4; }, SHAPE, "k"});
  cases.push_back({"v_S_mismatch", [](OpCall& c) { c["v"].shape[2] = 5; }, SHAPE, "v"});
  cases.push_back({"v_wrong_ndim", [](OpCall& c) { c["v"].ndim = 5, c["v"].shape[4] = 1, c["v"].strides[4] = 1; },
                   SHAPE, "v"});
  cases.push_back({"v_batch_dim_not_q_or_1", [](OpCall& c) { c["v"].shape[1] = 2; }, SHAPE, "v"});
  cases.push_back({"attn_mask_float64_vs_float32", [](OpCall& c) { c["attn_mask"].dtype = KN_FLOAT64; }, INVALID,
                   "attn_mask"});
  cases.push_back({"attn_mask_wrong_S", [](OpCall& c) { c["attn_mask"].shape[3] = 5; }, SHAPE, "attn_mask"});
  cases.push_back({"attn_mask_wrong_L", [](OpCall& c) { c["attn_mask"].shape[2] = 3; }, SHAPE, "attn_mask"});
  cases.push_back({"attn_mask_wrong_batch", [](OpCall& c) { c["attn_mask"].shape[1] = 2; }, SHAPE, "attn_mask"});
  cases.push_back({"attn_mask_wrong_ndim", [](OpCall& c) { c["attn_mask"].ndim = 3; }, SHAPE, "attn_mask"});
  cases.push_back({"out_wrong_Ev", [](OpCall& c) { c["out"].shape[3] = 2; }, SHAPE, "out"});
  cases.push_back({"out_broadcast_batch", [](OpCall& c) { c["out"].shape[1] = 1; }, SHAPE, "out"});
  cases.push_back({"lse_wrong_shape", [](OpCall& c) { c["lse"].shape[2] = 3; }, SHAPE, "lse"});
  cases.push_back({"lse_keepdim", [](OpCall& c) {
                     kn_tensor& t = c["lse"];
                     t.shape[3] = 1, t.strides[3] = 1, t.ndim = 4;
                   }, SHAPE, "lse"});
}

std::vector<ErrorCase> forward_cases() {
  auto cases = descriptor_error_cases({{"q", true, -1, false, true}, {"k"}, {"v"}, {"attn_mask", false},
                                       {"out", true, -1, true}, {"lse", true, -1, true}});
  add_shared_cases(cases);
  cases.push_back({"out_aliases_q", [](OpCall& c) { c["out"].data = c["q"].data; }, KN_ERR_INVALID_ARGUMENT,
                   "out"});
  cases.push_back({"out_aliases_v", [](OpCall& c) { c["out"].data = c["v"].data; }, KN_ERR_INVALID_ARGUMENT,
                   "out"});
  return cases;
}

std::vector<ErrorCase> backward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = descriptor_error_cases({{"dout", true, -1, false, true}, {"q"}, {"k"}, {"v"}, {"attn_mask", false},
                                       {"out"}, {"lse"}, {"dq", false, -1, true}, {"dk", false, -1, true},
                                       {"dv", false, -1, true}});
  add_shared_cases(cases);
  cases.push_back({"dout_wrong_shape", [](OpCall& c) { c["dout"].shape[3] = 5; }, SHAPE, "dout"});
  cases.push_back({"dq_wrong_shape", [](OpCall& c) { c["dq"].shape[2] = 3; }, SHAPE, "dq"});
  cases.push_back({"dk_not_k_shape", [](OpCall& c) { c["dk"].shape[2] = 5; }, SHAPE, "dk"});
  cases.push_back({"dv_wrong_shape", [](OpCall& c) { c["dv"].shape[3] = 2; }, SHAPE, "dv"});
  cases.push_back({"dq_aliases_q", [](OpCall& c) { c["dq"] = c["q"]; }, KN_ERR_INVALID_ARGUMENT, "dq"});
  cases.push_back({"dk_aliases_dout", [](OpCall& c) { c["dk"].data = c["dout"].data; }, KN_ERR_INVALID_ARGUMENT,
                   "dk"});
  return cases;
}

class SdpaForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(SdpaForwardErrors, ExactStatusAndMessage) {
  check_error_case(sdpa_call().fwd, invoke_forward, "kn_scaled_dot_product_attention_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(ScaledDotProductAttention, SdpaForwardErrors, ::testing::ValuesIn(forward_cases()),
                         error_case_name);

class SdpaBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(SdpaBackwardErrors, ExactStatusAndMessage) {
  check_error_case(sdpa_call().bwd, invoke_backward, "kn_scaled_dot_product_attention_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(ScaledDotProductAttention, SdpaBackwardErrors, ::testing::ValuesIn(backward_cases()),
                         error_case_name);

// Bad parameters: refused with a message naming the field, no output written.
TEST(ScaledDotProductAttention, BadParamsRefusedOutputsUntouched) {
  struct Bad {
    const char* name;
    Params p;
    const char* field;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Bad bad[] = {{"scale_nan", {nan, 0, 0, 0}, "p->scale"},
                     {"scale_inf", {kInf, 0, 0, 0}, "p->scale"},
                     {"scale_minus_inf", {-kInf, 0, 0, 0}, "p->scale"},
                     {"dropout_negative", {1, -0.1, 0, 0}, "p->dropout_p"},
                     {"dropout_above_one", {1, 1.5, 0, 0}, "p->dropout_p"},
                     {"dropout_nan", {1, nan, 0, 0}, "p->dropout_p"},
                     {"is_causal_2", {1, 0, 0, 2}, "p->is_causal"},
                     {"is_causal_negative", {1, 0, 0, -1}, "p->is_causal"}};
  SdpaCall& c = sdpa_call();
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.name);
    HostTensor out({2, 3, 4, 3}, KN_FLOAT32), lse({2, 3, 4}, KN_FLOAT32), dq({2, 3, 4, 5}, KN_FLOAT32);
    out.fill(7), lse.fill(7), dq.fill(7);
    const auto o0 = out.raw(), l0 = lse.raw(), d0 = dq.raw();
    const kn_tensor O = out.kn(), LS = lse.kn(), DQ = dq.kn();
    EXPECT_EQ(kn_scaled_dot_product_attention_forward(&b.p, c.fwd.arg("q"), c.fwd.arg("k"), c.fwd.arg("v"),
                                                      nullptr, &O, &LS, nullptr),
              KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_scaled_dot_product_attention_forward: ") + b.field),
              std::string::npos)
        << kn_last_error();
    EXPECT_EQ(kn_scaled_dot_product_attention_backward(&b.p, c.bwd.arg("dout"), c.bwd.arg("q"), c.bwd.arg("k"),
                                                       c.bwd.arg("v"), nullptr, c.bwd.arg("out"),
                                                       c.bwd.arg("lse"), &DQ, nullptr, nullptr, nullptr),
              KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_scaled_dot_product_attention_backward: ") + b.field),
              std::string::npos)
        << kn_last_error();
    EXPECT_TRUE(out.raw() == o0 && lse.raw() == l0 && dq.raw() == d0);
  }
  // NULL params.
  EXPECT_EQ(kn_scaled_dot_product_attention_forward(nullptr, c.fwd.arg("q"), c.fwd.arg("k"), c.fwd.arg("v"),
                                                    nullptr, c.fwd.arg("out"), c.fwd.arg("lse"), nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_scaled_dot_product_attention_forward: p"), std::string::npos)
      << kn_last_error();
  EXPECT_EQ(kn_scaled_dot_product_attention_backward(nullptr, c.bwd.arg("dout"), c.bwd.arg("q"), c.bwd.arg("k"),
                                                     c.bwd.arg("v"), nullptr, c.bwd.arg("out"), c.bwd.arg("lse"),
                                                     nullptr, nullptr, nullptr, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_scaled_dot_product_attention_backward: p"), std::string::npos)
      << kn_last_error();
}

TEST(ScaledDotProductAttention, LseShape) {
  SdpaCall& c = sdpa_call();
  int32_t nd = -1;
  int64_t shape[KN_MAX_DIMS] = {};
  KN_EXPECT_OK(kn_scaled_dot_product_attention_lse_shape(c.fwd.arg("q"), &nd, shape));
  EXPECT_EQ(nd, 3);
  EXPECT_EQ(shape[0], 2);
  EXPECT_EQ(shape[1], 3);
  EXPECT_EQ(shape[2], 4);
  const std::string op = "kn_scaled_dot_product_attention_lse_shape: ";
  EXPECT_EQ(kn_scaled_dot_product_attention_lse_shape(c.fwd.arg("q"), nullptr, shape), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find(op + "ndim"), std::string::npos) << kn_last_error();
  EXPECT_EQ(kn_scaled_dot_product_attention_lse_shape(c.fwd.arg("q"), &nd, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("shape"), std::string::npos) << kn_last_error();
  EXPECT_EQ(kn_scaled_dot_product_attention_lse_shape(nullptr, &nd, shape), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find(op + "q"), std::string::npos) << kn_last_error();
  kn_tensor q1 = *c.fwd.arg("q");
  q1.ndim = 1;
  EXPECT_EQ(kn_scaled_dot_product_attention_lse_shape(&q1, &nd, shape), KN_ERR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(kn_last_error()).find(op + "q"), std::string::npos) << kn_last_error();
  KN_EXPECT_OK(kn_scaled_dot_product_attention_lse_shape(c.fwd.arg("q"), &nd, shape));
}

}  // namespace
