// kn_nll_loss_* and kn_cross_entropy_* through the C ABI against a naive
// double reference (below): every option (weight x ignore_index x reduction
// x label_smoothing), K-dimensional targets, int32/int64 targets, strided
// operands, gradients, thread agreement and every validation error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tensor_util.hpp"
#include "kernels/kernels.h"

namespace kntest {
namespace {

const char* reduction_str(int32_t r) {
  return r == KN_REDUCTION_NONE ? "none" : r == KN_REDUCTION_MEAN ? "mean" : "sum";
}

// ------------------------------------------------------------ index tensors

// An owning strided int32/int64 host array (contiguous, reversed or sliced).
class IndexTensor {
 public:
  IndexTensor() = default;
  IndexTensor(Shape shape, int32_t dtype, int64_t step = 1, bool reversed = false)
      : shape_(std::move(shape)), dtype_(dtype) {
    const int n = static_cast<int>(shape_.size());
    strides_.assign(shape_.size(), 0);
    int64_t acc = step, span = 0;
    for (int d = n - 1; d >= 0; --d) {
      strides_[d] = acc;
      acc *= std::max<int64_t>(shape_[d], 1);
    }
    if (shape_numel(shape_) > 0)
      for (int d = 0; d < n; ++d) span += strides_[d] * (shape_[d] - 1);
    if (reversed)
      for (int64_t& s : strides_) s = -s;
    origin_ = reversed ? span : 0;
    storage_.assign(static_cast<size_t>(span + 1), 0);
  }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t offset_of(int64_t i) const {
    int64_t off = origin_;
    for (int d = static_cast<int>(shape_.size()) - 1; d >= 0; --d) {
      off += (i % shape_[d]) * strides_[d];
      i /= shape_[d];
    }
    return off;
  }
  void set(int64_t i, int64_t v) { storage_[offset_of(i)] = v; }
  int64_t get(int64_t i) const { return storage_[offset_of(i)]; }
  kn_tensor kn() const {
    // int32: repack into a parallel int32 buffer with the same element strides.
    if (dtype_ == KN_INT32) {
      packed_.assign(storage_.size(), 0);
      for (size_t k = 0; k < storage_.size(); ++k) packed_[k] = static_cast<int32_t>(storage_[k]);
    }
    kn_tensor t;
    std::memset(&t, 0, sizeof t);
    t.data = dtype_ == KN_INT32 ? static_cast<void*>(packed_.data() + origin_)
                                : static_cast<void*>(const_cast<int64_t*>(storage_.data()) + origin_);
    t.dtype = dtype_;
    t.device_type = KN_DEVICE_CPU;
    t.ndim = static_cast<int32_t>(shape_.size());
    for (size_t d = 0; d < shape_.size(); ++d) t.shape[d] = shape_[d], t.strides[d] = strides_[d];
    return t;
  }

 private:
  Shape shape_;
  std::vector<int64_t> strides_;
  int32_t dtype_ = KN_INT64;
  int64_t origin_ = 0;
  std::vector<int64_t> storage_;
  mutable std::vector<int32_t> packed_;
};

// ------------------------------------------------------------ reference

struct Geometry {  // input (N, C, S...) or (C,)
  int64_t N = 1, C = 0, S = 1;
  explicit Geometry(const Shape& in) {
    if (in.size() == 1) {
      C = in[0];
      return;
    }
    N = in[0], C = in[1];
    for (size_t d = 2; d < in.size(); ++d) S *= in[d];
  }
  int64_t rows() const { return N * S; }
  int64_t at(int64_t r, int64_t c) const { return ((r / S) * C + c) * S + r % S; }  // input index
};

struct LossRef {
  std::vector<double> out, mag;  // target's shape or 1 element
  double total_weight = 0;
  std::vector<double> dinput, dmag;
};

LossRef reference(bool ce, int32_t red, double eps, int64_t ignore, const Shape& in_shape,
                  const std::vector<double>& x, const std::vector<int64_t>& t,
                  const std::vector<double>& w, const std::vector<double>& dout) {
  const Geometry G(in_shape);
  const int64_t R = G.rows(), C = G.C;
  auto wt = [&](int64_t c) { return w.empty() ? 1.0 : w[c]; };
  double W = 0;
  for (int64_t c = 0; c < C; ++c) W += wt(c);
  LossRef ref;
  std::vector<double> loss(R, 0.0), lmag(R, 0.0), lse(R, 0.0);
  double sum = 0, smag = 0;
  for (int64_t r = 0; r < R; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, x[G.at(r, c)]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(x[G.at(r, c)] - m);
    lse[r] = m + std::log(s);
    if (t[r] == ignore) continue;
    ref.total_weight += wt(t[r]);
    if (!ce) {
      loss[r] = -wt(t[r]) * x[G.at(r, t[r])];
      lmag[r] = std::fabs(loss[r]);
    } else {
      double sm = 0, am = 0;
      for (int64_t c = 0; c < C; ++c) {
        sm += wt(c) * (lse[r] - x[G.at(r, c)]);
        am += std::fabs(wt(c)) * (std::fabs(lse[r]) + std::fabs(x[G.at(r, c)]));
      }
      loss[r] = (1 - eps) * wt(t[r]) * (lse[r] - x[G.at(r, t[r])]) + eps / C * sm;
      lmag[r] = std::fabs(wt(t[r])) * (std::fabs(lse[r]) + std::fabs(x[G.at(r, t[r])])) + eps / C * am;
    }
    sum += loss[r], smag += lmag[r];
  }
  if (red == KN_REDUCTION_NONE) {
    ref.out = loss, ref.mag = lmag;
  } else {
    const double div = red == KN_REDUCTION_MEAN ? ref.total_weight : 1.0;
    ref.out = {sum / div}, ref.mag = {smag / std::fabs(div)};
  }
  ref.dinput.assign(x.size(), 0.0), ref.dmag.assign(x.size(), 0.0);
  for (int64_t r = 0; r < R; ++r) {
    if (t[r] == ignore) continue;
    const double g = red == KN_REDUCTION_NONE ? dout[r]
                     : red == KN_REDUCTION_MEAN ? dout[0] / ref.total_weight : dout[0];
    for (int64_t c = 0; c < C; ++c) {
      const int64_t k = G.at(r, c);
      const double hit = c == t[r] ? 1.0 : 0.0;
      if (!ce) {
        ref.dinput[k] = -wt(c) * g * hit;
      } else {
        const double s = std::exp(x[k] - lse[r]);
        ref.dinput[k] = g * ((1 - eps) * wt(t[r]) * (s - hit) + eps / C * (W * s - wt(c)));
        double aw = 0;
        for (int64_t j = 0; j < C; ++j) aw += std::fabs(wt(j));
        ref.dmag[k] = std::fabs(g) * ((1 - eps) * std::fabs(wt(t[r])) * (s + hit) + eps / C * (aw * s + std::fabs(wt(c))));
      }
      ref.dmag[k] = std::max(ref.dmag[k], std::fabs(ref.dinput[k]));
    }
  }
  return ref;
}

// ------------------------------------------------------------ tester

// LossTester().cross_entropy().shape({4, 5}).weight().ignore(2).smoothing(0.1)
//     .reduction(KN_REDUCTION_SUM).test_forward();
// Operands: input, weight, out, dout, dinput (float layouts); target (index).
class LossTester : public TesterBase<LossTester> {
 public:
  LossTester& cross_entropy(bool v = true) { ce_ = v; return *this; }
  LossTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  LossTester& reduction(int32_t r) { reduction_ = r; return *this; }
  LossTester& weight(bool v = true) { weight_ = v; return *this; }
  LossTester& ignore(int64_t i) { ignore_ = i; return *this; }
  LossTester& ignore_all(bool v = true) { ignore_all_ = v; return *this; }
  LossTester& smoothing(double e) { eps_ = e; return *this; }
  LossTester& index_dtype(int32_t d) { index_dtype_ = d; return *this; }
  LossTester& target_layout(int64_t step, bool reversed) { tstep_ = step, trev_ = reversed; return *this; }
  LossTester& scale(double s) { scale_ = s; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << (ce_ ? "cross_entropy" : "nll_loss") << " shape=" << shape_str(shape_)
      << " reduction=" << reduction_str(reduction_) << " weight=" << weight_ << " ignore=" << ignore_
      << (ignore_all_ ? " (all)" : "") << " eps=" << eps_ << " index=" << (index_dtype_ == KN_INT32 ? "int32" : "int64")
      << " target step=" << tstep_ << (trev_ ? " reversed" : "") << " scale=" << scale_ << " "
      << describe_common();
    return o.str();
  }

  // Runs forward (and backward) and compares with the reference.
  void test() const {
    SCOPED_TRACE(describe());
    Fixture f = make_fixture();
    const LossRef want = reference(ce_, reduction_, eps_, ignore_, shape_, f.input.values(), f.tv,
                                   weight_ ? f.weight.values() : std::vector<double>{}, f.dout.values());
    const auto input_raw = f.input.raw();
    HostTensor out = make_output("out", out_shape()), tw = make_output("total_weight", {});
    KN_ASSERT_OK(forward(f, out, tw));
    const double rt = rtol(8) + (ce_ ? 4 * scale_ * unit_roundoff(dtype_) * 8 : 0);
    const double at = dtype_ == KN_FLOAT32 ? 1e-37 : 1e-300;  // float32 subnormals
    EXPECT_TRUE(all_close("out", out.values(), want.out, want.mag, rt, at));
    EXPECT_TRUE(all_close("total_weight", tw.values(), {want.total_weight}, {}, rtol(8)));
    EXPECT_TRUE(out.outside_untouched("out"));
    EXPECT_EQ(f.input.raw(), input_raw) << "input was modified";
    HostTensor din = make_output("dinput", shape_);
    KN_ASSERT_OK(backward(f, tw, din));
    EXPECT_TRUE(all_close("dinput", din.values(), want.dinput, want.dmag, rt, at));
    EXPECT_TRUE(din.outside_untouched("dinput"));
  }

  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Fixture f = make_fixture();
    HostTensor out = make_output("out", out_shape()), tw = make_output("total_weight", {}),
               din = make_output("dinput", shape_);
    auto loss = [&]() {
      EXPECT_EQ(forward(f, out, tw), KN_OK) << kn_last_error();
      return dot(f.dout.values(), out.values());
    };
    loss();
    KN_ASSERT_OK(backward(f, tw, din));
    if (!ce_) {
      // nll is linear in input: the numeric gradient is exact up to rounding.
      EXPECT_TRUE(all_close("dinput vs finite differences", din.values(), numeric_gradient(f.input, loss), {}, 1e-7, 1e-7));
    } else {
      EXPECT_TRUE(all_close("dinput vs finite differences", din.values(), numeric_gradient(f.input, loss), {}, 1e-6, 1e-7));
    }
  }

  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Fixture f = make_fixture();
    std::vector<double> out_of[2], din_of[2];
    for (int k = 0; k < 2; ++k) {
      HostTensor out = make_output("out", out_shape()), tw = make_output("total_weight", {}),
                 din = make_output("dinput", shape_);
      LossTester t = *this;
      t.threads(k + 1);
      KN_ASSERT_OK(t.forward(f, out, tw));
      KN_ASSERT_OK(t.backward(f, tw, din));
      out_of[k] = out.values(), din_of[k] = din.values();
    }
    EXPECT_TRUE(all_equal("out(1) vs out(2)", out_of[0], out_of[1]));
    EXPECT_TRUE(all_equal("dinput(1) vs dinput(2)", din_of[0], din_of[1]));
  }

  struct Fixture {
    HostTensor input, weight, dout;
    IndexTensor target;
    std::vector<int64_t> tv;
  };
  Fixture make_fixture() const {
    Rng rng(seed_);
    Fixture f;
    f.input = make("input", shape_);
    f.input.fill_random(rng, -scale_, scale_);
    const Geometry G(shape_);
    Shape tshape = shape_;
    tshape.erase(tshape.begin() + (shape_.size() == 1 ? 0 : 1));
    f.target = IndexTensor(tshape, index_dtype_, tstep_, trev_);
    f.tv.resize(static_cast<size_t>(G.rows()));
    for (int64_t r = 0; r < G.rows(); ++r) {
      int64_t v = G.C > 0 ? rng.integer(0, G.C - 1) : ignore_;
      if (ignore_all_ || (r % 3 == 1 && ignore_ >= -100)) v = ignore_;  // every third row ignored
      f.tv[r] = v;
      f.target.set(r, v);
    }
    f.weight = make("weight", {G.C});
    f.weight.fill_random(rng, 0.1, 2.0);
    f.dout = make("dout", out_shape());
    f.dout.fill_random(rng);
    return f;
  }
  kn_cross_entropy_params params() const { return {reduction_, ignore_, eps_}; }
  kn_status forward(const Fixture& f, const HostTensor& out, const HostTensor& tw) const {
    const kn_tensor ik = f.input.kn(), tk = f.target.kn(), wk = f.weight.kn(), ok = out.kn(), twk = tw.kn();
    const kn_cross_entropy_params p = params();
    const kn_exec ex = exec();
    return ce_ ? kn_cross_entropy_forward(&p, &ik, &tk, weight_ ? &wk : nullptr, &ok, &twk, exec_ptr(ex))
               : kn_nll_loss_forward(&p, &ik, &tk, weight_ ? &wk : nullptr, &ok, &twk, exec_ptr(ex));
  }
  kn_status backward(const Fixture& f, const HostTensor& tw, const HostTensor& din) const {
    const kn_tensor gk = f.dout.kn(), ik = f.input.kn(), tk = f.target.kn(), wk = f.weight.kn(),
                    twk = tw.kn(), dk = din.kn();
    const kn_cross_entropy_params p = params();
    const kn_exec ex = exec();
    return ce_ ? kn_cross_entropy_backward(&p, &gk, &ik, &tk, weight_ ? &wk : nullptr, &twk, &dk, exec_ptr(ex))
               : kn_nll_loss_backward(&p, &gk, &tk, weight_ ? &wk : nullptr, &twk, &dk, exec_ptr(ex));
  }

 private:
  Shape out_shape() const {
    if (reduction_ != KN_REDUCTION_NONE) return {};
    Shape s = shape_;
    s.erase(s.begin() + (shape_.size() == 1 ? 0 : 1));
    return s;
  }

  bool ce_ = false, weight_ = false, ignore_all_ = false;
  Shape shape_ = {6, 5};
  int32_t reduction_ = KN_REDUCTION_MEAN;
  int64_t ignore_ = -1000;  // < -100: no row is ignored
  double eps_ = 0.0, scale_ = 3.0;
  int32_t index_dtype_ = KN_INT64;
  int64_t tstep_ = 1;
  bool trev_ = false;
};

// ------------------------------------------------------------ option sweep

// (op, shape/layout case, reduction, weight, ignore, smoothing, dtype)
using Case = TesterCase<LossTester>;

std::vector<Case> loss_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"batch_2d", [](LossTester&) {}},
      {"unbatched_1d", [](LossTester& t) { t.shape({7}); }},
      {"kdim_3d", [](LossTester& t) { t.shape({3, 4, 5}); }},
      {"kdim_4d", [](LossTester& t) { t.shape({2, 3, 2, 3}); }},
      {"many_classes", [](LossTester& t) { t.shape({3, 150}); }},
      {"empty_batch", [](LossTester& t) { t.shape({0, 4}); }},
      {"int32_reversed_target", [](LossTester& t) { t.index_dtype(KN_INT32).target_layout(1, true); }},
      {"sliced_target_transposed_input", [T](LossTester& t) { t.shape({4, 6, 3}).target_layout(2, false).layout("input", T); }},
      {"strided_everything", [T, S, R](LossTester& t) {
         t.shape({5, 4, 3}).layout("input", S.r()).layout("weight", S).layout("dout", T)
             .layout("out", R).layout("dinput", T.s(2)).index_dtype(KN_INT32);
       }},
      {"broadcast_input_and_dout", [](LossTester& t) { t.shape({4, 5}).broadcast("input", 1u).broadcast("dout", 1u); }},
      {"large_logits", [](LossTester& t) { t.shape({4, 9}).scale(50); }},
      {"threads_2", [](LossTester& t) { t.shape({600, 70}).threads(2); }},
  };
}

// (case, cross_entropy, reduction, option bits: 1 weight, 2 ignore_index, 4 smoothing, dtype);
// smoothing only with cross_entropy.
using LossParam = std::tuple<Case, bool, int32_t, int, int32_t>;
std::vector<LossParam> loss_params() {
  std::vector<LossParam> v;
  for (const Case& c : loss_cases())
    for (bool ce : {false, true})
      for (int32_t red : {KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM})
        for (int opts = 0; opts < (ce ? 8 : 4); ++opts)
          for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) v.emplace_back(c, ce, red, opts, dtype);
  return v;
}

class LossCases : public ::testing::TestWithParam<LossParam> {};
TEST_P(LossCases, ForwardAndBackward) {
  const auto& [c, ce, red, opts, dtype] = GetParam();
  LossTester t;
  t.cross_entropy(ce).reduction(red).weight(opts & 1).ignore(opts & 2 ? 2 : -1000)
      .smoothing(opts & 4 ? 0.15 : 0.0).dtype(dtype);
  c.apply(t);
  t.test();
}
INSTANTIATE_TEST_SUITE_P(
    Losses, LossCases, ::testing::ValuesIn(loss_params()),
    [](const ::testing::TestParamInfo<LossParam>& p) {
      const int o = std::get<3>(p.param);
      return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_ce_" : "_nll_") +
             reduction_str(std::get<2>(p.param)) + (o & 1 ? "_weight" : "") + (o & 2 ? "_ignore" : "") +
             (o & 4 ? "_smooth" : "") + "_" + dtype_str(std::get<4>(p.param));
    });

TEST(Losses, GradientFloat64) {
  for (bool ce : {false, true})
    for (int32_t red : {KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM}) {
      LossTester().cross_entropy(ce).reduction(red).dtype(KN_FLOAT64).shape({3, 4}).test_gradient();
      LossTester().cross_entropy(ce).reduction(red).dtype(KN_FLOAT64).shape({2, 3, 2}).weight()
          .ignore(1).smoothing(ce ? 0.3 : 0.0).layout("input", Layout::transpose()).test_gradient();
      LossTester().cross_entropy(ce).reduction(red).dtype(KN_FLOAT64).shape({5}).weight().test_gradient();
    }
}

TEST(Losses, OneAndTwoThreadsAgree) {
  for (bool ce : {false, true})
    for (int32_t red : {KN_REDUCTION_NONE, KN_REDUCTION_MEAN})
      LossTester().cross_entropy(ce).reduction(red).shape({3000, 40}).weight().ignore(3)
          .smoothing(ce ? 0.1 : 0.0).test_threads_agree();
}

// Every target ignored: MEAN is NaN, SUM 0, total_weight 0 (as torch).
TEST(Losses, AllIgnored) {
  for (bool ce : {false, true})
    for (int32_t red : {KN_REDUCTION_MEAN, KN_REDUCTION_SUM, KN_REDUCTION_NONE})
      LossTester().cross_entropy(ce).reduction(red).ignore(-100).ignore_all().weight().test();
}

// Out-of-range targets: a clear error, nothing written (CPU).
TEST(Losses, OutOfRangeTargetIsAnError) {
  for (bool ce : {false, true})
    for (int64_t bad : {int64_t(-1), int64_t(5), int64_t(1) << 40}) {
      SCOPED_TRACE(std::string(ce ? "ce" : "nll") + " target " + std::to_string(bad));
      HostTensor input({3, 5}, KN_FLOAT32), out({}, KN_FLOAT32), tw({}, KN_FLOAT32), dout({}, KN_FLOAT32),
          din({3, 5}, KN_FLOAT32);
      out.fill(7.0), tw.fill(7.0), din.fill(7.0), dout.fill(1.0);
      IndexTensor target({3}, KN_INT64);
      target.set(0, 1), target.set(1, bad), target.set(2, 2);
      const kn_tensor ik = input.kn(), tk = target.kn(), ok = out.kn(), twk = tw.kn(), gk = dout.kn(),
                      dk = din.kn();
      const kn_cross_entropy_params p{KN_REDUCTION_MEAN, -100, 0.0};
      const kn_status s1 = ce ? kn_cross_entropy_forward(&p, &ik, &tk, nullptr, &ok, &twk, nullptr)
                              : kn_nll_loss_forward(&p, &ik, &tk, nullptr, &ok, &twk, nullptr);
      EXPECT_EQ(s1, KN_ERR_INVALID_ARGUMENT);
      EXPECT_NE(std::string(kn_last_error()).find("target: value " + std::to_string(bad) + " is out of range [0, 5)"),
                std::string::npos) << kn_last_error();
      const kn_status s2 = ce ? kn_cross_entropy_backward(&p, &gk, &ik, &tk, nullptr, &twk, &dk, nullptr)
                              : kn_nll_loss_backward(&p, &gk, &tk, nullptr, &twk, &dk, nullptr);
      EXPECT_EQ(s2, KN_ERR_INVALID_ARGUMENT);
      EXPECT_EQ(out.get(0), 7.0);
      EXPECT_EQ(tw.get(0), 7.0);
      for (double v : din.values()) EXPECT_EQ(v, 7.0);
    }
}

// Logits of +-1e4: finite loss and gradients, equal to the exact values.
TEST(Losses, ExtremeLogits) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    HostTensor input({2, 3}, dtype), out({2}, dtype), tw({}, dtype), dout({2}, dtype), din({2, 3}, dtype);
    input.set_values({1e4, -1e4, 1e4, -1e4, -1e4, -1e4});
    dout.fill(1.0);
    IndexTensor target({2}, KN_INT64);
    target.set(0, 1), target.set(1, 0);
    const kn_tensor ik = input.kn(), tk = target.kn(), ok = out.kn(), twk = tw.kn(), gk = dout.kn(), dk = din.kn();
    const kn_cross_entropy_params p{KN_REDUCTION_NONE, -100, 0.0};
    KN_ASSERT_OK(kn_cross_entropy_forward(&p, &ik, &tk, nullptr, &ok, &twk, nullptr));
    EXPECT_TRUE(all_close("loss", out.values(), {2e4 + std::log(2.0), std::log(3.0)}, {}, 1e-6));
    KN_ASSERT_OK(kn_cross_entropy_backward(&p, &gk, &ik, &tk, nullptr, &twk, &dk, nullptr));
    EXPECT_TRUE(all_close("dinput", din.values(), {0.5, -1, 0.5, 1.0 / 3 - 1, 1.0 / 3, 1.0 / 3}, {}, 1e-6, 1e-7));
  }
}

// Random shapes, options and layouts.
class LossRandom : public ::testing::TestWithParam<int> {};
TEST_P(LossRandom, ForwardAndBackward) {
  Rng rng(9100 + static_cast<uint64_t>(GetParam()));
  Shape shape(static_cast<size_t>(rng.integer(1, 4)));
  for (int64_t& d : shape) d = rng.integer(1, 5);
  if (rng.integer(0, 7) == 0) shape[0] = 0;
  const int nd = static_cast<int>(shape.size());
  const int out_nd = nd == 1 ? 0 : nd - 1;
  LossTester t;
  const bool ce = rng.coin();
  t.cross_entropy(ce).shape(shape).reduction(static_cast<int32_t>(rng.integer(0, 2))).weight(rng.coin())
      .ignore(rng.coin() ? 0 : -1000).smoothing(ce && rng.coin() ? 0.25 : 0.0)
      .index_dtype(rng.coin() ? KN_INT32 : KN_INT64).target_layout(rng.integer(1, 2), rng.coin())
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam())).layout("input", random_layout(rng, nd, true))
      .layout("dinput", random_layout(rng, nd, false)).layout("dout", random_layout(rng, out_nd, true))
      .layout("out", random_layout(rng, out_nd, false));
  t.test();
}
INSTANTIATE_TEST_SUITE_P(Losses, LossRandom, ::testing::Range(0, 24));

// ------------------------------------------------------------ validation

// A valid float32 NONE call: input (3, 4, 2), target (3, 2), weight (4,).
struct LossCall {
  HostTensor input{{3, 4, 2}, KN_FLOAT32}, weight{{4}, KN_FLOAT32}, out{{3, 2}, KN_FLOAT32},
      tw{{}, KN_FLOAT32}, dout{{3, 2}, KN_FLOAT32}, dinput{{3, 4, 2}, KN_FLOAT32};
  IndexTensor target{{3, 2}, KN_INT64};
  OpCall forward, backward_nll, backward_ce;
  LossCall() {
    for (int64_t i = 0; i < 6; ++i) target.set(i, i % 4);
    const kn_tensor ik = input.kn(), tk = target.kn(), wk = weight.kn(), ok = out.kn(), twk = tw.kn(),
                    gk = dout.kn(), dk = dinput.kn();
    forward.add("input", &ik), forward.add("target", &tk), forward.add("weight", &wk);
    forward.add("out", &ok), forward.add("total_weight", &twk);
    backward_nll.add("dout", &gk), backward_nll.add("target", &tk), backward_nll.add("weight", &wk);
    backward_nll.add("total_weight", &twk), backward_nll.add("dinput", &dk);
    backward_ce.add("dout", &gk), backward_ce.add("input", &ik), backward_ce.add("target", &tk);
    backward_ce.add("weight", &wk), backward_ce.add("total_weight", &twk), backward_ce.add("dinput", &dk);
  }
};
LossCall& loss_call() {
  static LossCall call;
  return call;
}

// OpCall.reduction carries the case's params: reduction in the low byte;
// ex.flags-free encoding: 100 + k = label_smoothing k/10 (k may be negative), p NULL = -1.
kn_cross_entropy_params decode(const OpCall& c, bool& null) {
  null = c.reduction == -1000;
  kn_cross_entropy_params p{KN_REDUCTION_NONE, -100, 0.0};
  if (c.reduction >= 50) p.label_smoothing = (c.reduction - 100) / 10.0;
  else if (c.reduction > -1000) p.reduction = c.reduction;
  if (c.reduction == 999) p.label_smoothing = std::nan("");
  return p;
}

kn_status invoke(int which, const OpCall& c) {
  bool null;
  const kn_cross_entropy_params p = decode(c, null);
  const kn_cross_entropy_params* pp = null ? nullptr : &p;
  switch (which) {
    case 0: return kn_nll_loss_forward(pp, c.arg("input"), c.arg("target"), c.arg("weight"), c.arg("out"), c.arg("total_weight"), c.exec());
    case 1: return kn_cross_entropy_forward(pp, c.arg("input"), c.arg("target"), c.arg("weight"), c.arg("out"), c.arg("total_weight"), c.exec());
    case 2: return kn_nll_loss_backward(pp, c.arg("dout"), c.arg("target"), c.arg("weight"), c.arg("total_weight"), c.arg("dinput"), c.exec());
    default: return kn_cross_entropy_backward(pp, c.arg("dout"), c.arg("input"), c.arg("target"), c.arg("weight"), c.arg("total_weight"), c.arg("dinput"), c.exec());
  }
}

// Generic descriptor cases, minus those a 0-d argument cannot express.
std::vector<ErrorCase> generic(const std::vector<ArgSpec>& args) {
  std::vector<ErrorCase> out;
  for (ErrorCase& c : descriptor_error_cases(args)) {
    // A 1-element other tensor: "starts one element in" no longer overlaps it.
    if (c.name.find("_partly_overlaps_total_weight") != std::string::npos) continue;
    const bool zero_d = c.name.rfind("total_weight_", 0) == 0;
    if (zero_d && (c.name.find("self_overlap") != std::string::npos || c.name.find("aliasing_strides") != std::string::npos ||
                   c.name.find("numel_overflow") != std::string::npos || c.name.find("negative_shape") != std::string::npos ||
                   c.name.find("extent_overflow") != std::string::npos))
      continue;
    out.push_back(c);
  }
  return out;
}

std::vector<ErrorCase> common_cases(bool smoothing_allowed, bool dinput_is_class_source) {
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT, SHAPE = KN_ERR_SHAPE_MISMATCH, UNSUP = KN_ERR_UNSUPPORTED;
  std::vector<ErrorCase> v = {
      {"params_null", [](OpCall& c) { c.reduction = -1000; }, INVALID, "p"},
      {"reduction_too_large", [](OpCall& c) { c.reduction = 3; }, INVALID, "p->reduction"},
      {"reduction_negative", [](OpCall& c) { c.reduction = -2; }, INVALID, "p->reduction"},
      {"smoothing_negative", [](OpCall& c) { c.reduction = 99; }, INVALID, "p->label_smoothing"},
      {"smoothing_above_one", [](OpCall& c) { c.reduction = 111; }, INVALID, "p->label_smoothing"},
      {"smoothing_nan", [](OpCall& c) { c.reduction = 999; }, INVALID, "p->label_smoothing"},
      {"target_null", [](OpCall& c) { c.set_null("target"); }, INVALID, "target"},
      {"target_float32", [](OpCall& c) { c["target"].dtype = KN_FLOAT32; }, UNSUP, "target"},
      {"target_float64", [](OpCall& c) { c["target"].dtype = KN_FLOAT64; }, UNSUP, "target"},
      {"target_uint8", [](OpCall& c) { c["target"].dtype = KN_UINT8; }, UNSUP, "target"},
      {"target_unknown_dtype", [](OpCall& c) { c["target"].dtype = 42; }, INVALID, "target"},
      {"target_ndim_too_large", [](OpCall& c) { c["target"].ndim = 9; }, INVALID, "target"},
      {"target_negative_shape", [](OpCall& c) { c["target"].shape[0] = -1; }, INVALID, "target"},
      {"target_device_mismatch", [](OpCall& c) { c["target"].device_type = KN_DEVICE_CUDA; }, INVALID, "target"},
      {"target_null_data", [](OpCall& c) { c["target"].data = nullptr; }, INVALID, "target"},
      {"target_shape_mismatch", [](OpCall& c) { c["target"].shape[1] = 3; }, SHAPE, "target"},
      {"target_ndim_mismatch", [](OpCall& c) { c["target"].ndim = 1; }, SHAPE, "target"},
      {"weight_wrong_length", [](OpCall& c) { c["weight"].shape[0] = 5; }, SHAPE, "weight"},
  };
  if (!smoothing_allowed)
    v.push_back({"smoothing_for_nll", [](OpCall& c) { c.reduction = 101; }, INVALID, "p->label_smoothing"});
  const std::string cls = dinput_is_class_source ? "dinput" : "input";
  v.push_back({cls + "_0d", [cls](OpCall& c) {
                 c[cls].ndim = 0;
                 c["target"].ndim = 0;
               }, SHAPE, cls});
  return v;
}

std::vector<ErrorCase> forward_cases(bool ce) {
  auto v = generic({{"input", true, -1, false, true}, {"weight", false, 1}, {"out", true, -1, true}, {"total_weight", true, 0, true}});
  for (auto& c : common_cases(ce, false)) v.push_back(c);
  v.push_back({"out_shape_mismatch", [](OpCall& c) { c["out"].shape[0] = 2; }, KN_ERR_SHAPE_MISMATCH, "out"});
  v.push_back({"out_not_0d_for_mean", [](OpCall& c) { c.reduction = KN_REDUCTION_MEAN; }, KN_ERR_SHAPE_MISMATCH, "out"});
  v.push_back({"out_overlaps_target", [](OpCall& c) { c["out"].data = c["target"].data; }, KN_ERR_INVALID_ARGUMENT, "out"});
  return v;
}

std::vector<ErrorCase> backward_cases(bool ce) {
  std::vector<ArgSpec> specs = {{"dout", true, -1, false, true}};
  if (ce) specs.push_back({"input", true, -1});
  specs.push_back({"weight", false, 1});
  specs.push_back({"total_weight", true, 0});
  specs.push_back({"dinput", true, -1, true});
  auto v = generic(specs);
  for (auto& c : common_cases(ce, !ce)) v.push_back(c);
  v.push_back({"dout_shape_mismatch", [](OpCall& c) { c["dout"].shape[0] = 2; }, KN_ERR_SHAPE_MISMATCH, "dout"});
  v.push_back({"dout_not_0d_for_sum", [](OpCall& c) { c.reduction = KN_REDUCTION_SUM; }, KN_ERR_SHAPE_MISMATCH, "dout"});
  if (ce) v.push_back({"dinput_shape_mismatch", [](OpCall& c) { c["dinput"].shape[0] = 2; }, KN_ERR_SHAPE_MISMATCH, "dinput"});
  return v;
}

class NllForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(NllForwardErrors, ExactStatusAndMessage) {
  check_error_case(loss_call().forward, [](const OpCall& c) { return invoke(0, c); }, "kn_nll_loss_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Losses, NllForwardErrors, ::testing::ValuesIn(forward_cases(false)), error_case_name);

class CrossEntropyForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(CrossEntropyForwardErrors, ExactStatusAndMessage) {
  check_error_case(loss_call().forward, [](const OpCall& c) { return invoke(1, c); }, "kn_cross_entropy_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Losses, CrossEntropyForwardErrors, ::testing::ValuesIn(forward_cases(true)), error_case_name);

class NllBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(NllBackwardErrors, ExactStatusAndMessage) {
  check_error_case(loss_call().backward_nll, [](const OpCall& c) { return invoke(2, c); }, "kn_nll_loss_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Losses, NllBackwardErrors, ::testing::ValuesIn(backward_cases(false)), error_case_name);

class CrossEntropyBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(CrossEntropyBackwardErrors, ExactStatusAndMessage) {
  check_error_case(loss_call().backward_ce, [](const OpCall& c) { return invoke(3, c); }, "kn_cross_entropy_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Losses, CrossEntropyBackwardErrors, ::testing::ValuesIn(backward_cases(true)), error_case_name);

}  // namespace
}  // namespace kntest
