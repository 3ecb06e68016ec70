// kn_batch_norm_forward / _backward through the C ABI, against a naive double-precision
// reference written below from the definitions (two-pass mean and variance, the
// backward from the chain rule through mean and var), plus finite differences of the
// forward against the backward, 1 vs 2 threads bitwise, and every validation error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "tensor_util.hpp"
#include "kernels/batch_norm.h"

namespace kntest {
namespace {

using Vec = std::vector<double>;

// ------------------------------------------------------------ reference
// x in logical row-major (N, C, S) order; every (C) vector plain.

struct Geo {
  int64_t N, C, S;
  int64_t idx(int64_t n, int64_t c, int64_t s) const { return (n * C + c) * S + s; }
  int64_t M() const { return N * S; }
};

Geo geo_of(const Shape& shape) {
  Geo g{shape[0], shape[1], 1};
  for (size_t d = 2; d < shape.size(); ++d) g.S *= shape[d];
  return g;
}

struct RefForward {
  Vec y, mean, invstd, rm, rv;
};

RefForward ref_forward(const Vec& x, const Geo& g, bool training, double eps, double momentum,
                       const Vec* w, const Vec* b, const Vec* rm, const Vec* rv) {
  RefForward r{Vec(x.size()), Vec(g.C), Vec(g.C), rm ? *rm : Vec(), rv ? *rv : Vec()};
  for (int64_t c = 0; c < g.C; ++c) {
    double mean, var;
    if (training) {
      double s = 0;
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t i = 0; i < g.S; ++i) s += x[g.idx(n, c, i)];
      mean = g.M() ? s / g.M() : 0.0;
      double q = 0;
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t i = 0; i < g.S; ++i) q += (x[g.idx(n, c, i)] - mean) * (x[g.idx(n, c, i)] - mean);
      var = g.M() ? q / g.M() : 0.0;
      if (rm && g.M() > 1) {
        r.rm[c] = (1 - momentum) * (*rm)[c] + momentum * mean;
        r.rv[c] = (1 - momentum) * (*rv)[c] + momentum * q / (g.M() - 1);
      }
    } else {
      mean = (*rm)[c], var = (*rv)[c];
    }
    r.mean[c] = mean;
    r.invstd[c] = training && g.M() == 0 ? 0.0 : 1.0 / std::sqrt(var + eps);
    const double wc = w ? (*w)[c] : 1.0, bc = b ? (*b)[c] : 0.0;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t i = 0; i < g.S; ++i) {
        const int64_t k = g.idx(n, c, i);
        r.y[k] = (x[k] - mean) * r.invstd[c] * wc + bc;
      }
  }
  return r;
}

struct RefBackward {
  Vec dx, dw, db;
  Vec dx_mag;  // the size of the terms of each dx
};

// From the definition: y = xhat w + b, xhat = (x - mean(x)) / sqrt(var(x) + eps) in
// training (mean and var functions of x), constants in eval.
RefBackward ref_backward(const Vec& dy, const Vec& x, const Geo& g, bool training,
                         const Vec& mean, const Vec& invstd, const Vec* w) {
  RefBackward r{Vec(x.size()), Vec(g.C), Vec(g.C), Vec(x.size())};
  const double M = static_cast<double>(g.M());
  for (int64_t c = 0; c < g.C; ++c) {
    double sdy = 0, sdyxhat = 0, adx = 0, adxhat = 0;  // and the sums of the |terms|
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t i = 0; i < g.S; ++i) {
        const int64_t k = g.idx(n, c, i);
        sdy += dy[k];
        sdyxhat += dy[k] * (x[k] - mean[c]) * invstd[c];
        adx += std::fabs(dy[k]);
        adxhat += std::fabs(dy[k] * (x[k] - mean[c]) * invstd[c]);
      }
    r.db[c] = sdy;
    r.dw[c] = sdyxhat;
    const double wc = w ? (*w)[c] : 1.0;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t i = 0; i < g.S; ++i) {
        const int64_t k = g.idx(n, c, i);
        const double xhat = (x[k] - mean[c]) * invstd[c];
        // d/dx of sum dy w xhat: w invstd (dy - mean(dy) - xhat mean(dy xhat))
        r.dx[k] = training ? wc * invstd[c] * (dy[k] - sdy / M - xhat * sdyxhat / M)
                           : wc * invstd[c] * dy[k];
        r.dx_mag[k] = std::fabs(wc * invstd[c]) *
                      (std::fabs(dy[k]) + adx / M + std::fabs(xhat) * adxhat / M + 1e-30);
      }
  }
  return r;
}

// ------------------------------------------------------------ operands

// An (N, C, *) operand: contiguous/transposed/sliced/reversed through Layout, or
// channels-last (memory (N, *, C), viewed as (N, C, *): the strides torch's
// channels_last gives). Values are read and written in logical (N, C, *) order.
struct Operand {
  HostTensor h;
  kn_tensor k{};
  Shape shape;

  Operand() = default;
  Operand(const Shape& s, int32_t dtype, Layout l, bool channels_last) : shape(s) {
    if (!channels_last || s.size() < 3) {
      h = HostTensor(s, dtype, l);
      k = h.kn();
      return;
    }
    Shape phys{s[0]};
    for (size_t d = 2; d < s.size(); ++d) phys.push_back(s[d]);
    phys.push_back(s[1]);
    h = HostTensor(phys, dtype);
    const kn_tensor p = h.kn();
    k = p;
    const int n = static_cast<int>(s.size());
    k.shape[0] = s[0], k.strides[0] = p.strides[0];
    k.shape[1] = s[1], k.strides[1] = p.strides[n - 1];
    for (int d = 2; d < n; ++d) k.shape[d] = s[d], k.strides[d] = p.strides[d - 1];
  }
  int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = k.ndim - 1; d >= 0; --d) {
      off += (i % k.shape[d]) * k.strides[d];
      i /= k.shape[d];
    }
    return off;
  }
  int64_t numel() const { return shape_numel(shape); }
  double get(int64_t i) const {
    return k.dtype == KN_FLOAT32 ? static_cast<const float*>(k.data)[offset(i)]
                                 : static_cast<const double*>(k.data)[offset(i)];
  }
  void set(int64_t i, double v) {
    if (k.dtype == KN_FLOAT32)
      static_cast<float*>(k.data)[offset(i)] = static_cast<float>(v);
    else
      static_cast<double*>(k.data)[offset(i)] = v;
  }
  Vec values() const {
    Vec v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
  void set_values(const Vec& v) {
    for (int64_t i = 0; i < numel(); ++i) set(i, v[i]);
  }
};

// ------------------------------------------------------------ the tester

class BatchNormTester : public TesterBase<BatchNormTester> {
 public:
  BatchNormTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  BatchNormTester& training(bool t) { training_ = t; return *this; }
  BatchNormTester& eps(double e) { eps_ = e; return *this; }
  BatchNormTester& momentum(double m) { momentum_ = m; return *this; }
  BatchNormTester& affine(bool w, bool b) { weight_ = w, bias_ = b; return *this; }
  BatchNormTester& running(bool r) { running_ = r; return *this; }
  BatchNormTester& channels_last(bool c = true) { channels_last_ = c; return *this; }
  BatchNormTester& offset(double o) { offset_ = o; return *this; }

  struct Result {
    Vec y, mean, invstd, rm, rv, dx, dw, db;
  };

  Result run(bool check) const {
    SCOPED_TRACE(describe());
    const Geo g = geo_of(shape_);
    Rng rng(seed_);
    Operand x = operand("x"), y = operand("y"), dy = operand("dy"), dx = operand("dx");
    Vec xv(static_cast<size_t>(x.numel())), dyv(xv.size());
    for (double& v : xv) v = offset_ + rng.uniform(-2, 2);
    for (double& v : dyv) v = rng.uniform(-1, 1);
    x.set_values(xv), dy.set_values(dyv);
    y.h.fill(std::nan("")), dx.h.fill(std::nan(""));
    auto vec = [&](double lo, double hi) {
      HostTensor t(Shape{g.C}, dtype_, layout_of("vec"));
      for (int64_t c = 0; c < g.C; ++c) t.set(c, rng.uniform(lo, hi));
      return t;
    };
    HostTensor w = vec(-2, 2), b = vec(-1, 1), rm = vec(-1, 1), rv = vec(0.5, 2);
    HostTensor sm = vec(0, 0), si = vec(0, 0), dw = vec(0, 0), db = vec(0, 0);
    sm.fill(std::nan("")), si.fill(std::nan("")), dw.fill(std::nan("")), db.fill(std::nan(""));
    // The reference sees the values as stored (rounded to the dtype).
    xv = x.values(), dyv = dy.values();
    const Vec wv = w.values(), bv = b.values(), rmv = rm.values(), rvv = rv.values();

    const kn_tensor wk = w.kn(), bk = b.kn(), rmk = rm.kn(), rvk = rv.kn(), smk = sm.kn(),
                    sik = si.kn(), dwk = dw.kn(), dbk = db.kn();
    const kn_batch_norm_params p{eps_, momentum_, training_ ? 1 : 0};
    const kn_exec e = exec();
    KN_EXPECT_OK(kn_batch_norm_forward(&p, &x.k, weight_ ? &wk : nullptr, bias_ ? &bk : nullptr,
                                       running_ ? &rmk : nullptr, running_ ? &rvk : nullptr, &y.k,
                                       &smk, &sik, exec_ptr(e)));
    KN_EXPECT_OK(kn_batch_norm_backward(&p, &dy.k, &x.k, weight_ ? &wk : nullptr, &smk, &sik,
                                        &dx.k, &dwk, &dbk, exec_ptr(e)));
    Result res{y.values(), sm.values(), si.values(), rm.values(), rv.values(),
               dx.values(), dw.values(), db.values()};
    if (!check) return res;

    const RefForward f = ref_forward(xv, g, training_, eps_, momentum_, weight_ ? &wv : nullptr,
                                     bias_ ? &bv : nullptr, running_ ? &rmv : nullptr,
                                     running_ ? &rvv : nullptr);
    const double tol = rtol(16);
    // the statistics sum M values (in double: for float32 only the final rounding shows)
    const double stol = std::max(tol, rtol(g.M()) * (dtype_ == KN_FLOAT64 ? 1.0 : 0.0));
    Vec ymag(xv.size());
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t i = 0; i < g.S; ++i) {
          const int64_t k = g.idx(n, c, i);
          const double wc = weight_ ? wv[c] : 1.0;
          ymag[k] = std::fabs(wc * f.invstd[c]) * (std::fabs(xv[k]) + std::fabs(f.mean[c]) + 1) +
                    (bias_ ? std::fabs(bv[c]) : 0.0);
        }
    EXPECT_TRUE(all_close("y", res.y, f.y, ymag, tol));
    Vec mean_mag(g.C, std::fabs(offset_) + 2);
    EXPECT_TRUE(all_close("save_mean", res.mean, f.mean, mean_mag, stol));
    EXPECT_TRUE(all_close("save_invstd", res.invstd, f.invstd, {}, stol * (1 + std::fabs(offset_))));
    if (running_) {
      EXPECT_TRUE(all_close("running_mean", res.rm, training_ ? f.rm : rmv, mean_mag, stol));
      EXPECT_TRUE(all_close("running_var", res.rv, training_ ? f.rv : rvv, {}, stol * (1 + std::fabs(offset_))));
    }
    // The backward from the kernel's own saved stats (what it is given).
    const RefBackward bw = ref_backward(dyv, xv, g, training_, res.mean, res.invstd,
                                        weight_ ? &wv : nullptr);
    const double gtol = std::max(rtol(16), dtype_ == KN_FLOAT64 ? rtol(g.M()) : 0.0) * (1 + std::fabs(offset_));
    EXPECT_TRUE(all_close("dx", res.dx, bw.dx, bw.dx_mag, gtol));
    Vec cmag(g.C, static_cast<double>(std::max<int64_t>(g.M(), 1)) * 4.0);
    EXPECT_TRUE(all_close("dweight", res.dw, bw.dw, cmag, rtol(16)));
    EXPECT_TRUE(all_close("dbias", res.db, bw.db, cmag, rtol(16)));
    return res;
  }

  void test() const { run(true); }

  // The same bits for 1 and 2 threads (and for 0 = the default).
  void test_threads_bitwise() const {
    BatchNormTester a = *this, b = *this;
    const Result r1 = a.threads(1).run(false), r2 = b.threads(2).run(false);
    EXPECT_TRUE(all_equal("y", r1.y, r2.y));
    EXPECT_TRUE(all_equal("save_mean", r1.mean, r2.mean));
    EXPECT_TRUE(all_equal("save_invstd", r1.invstd, r2.invstd));
    EXPECT_TRUE(all_equal("running_var", r1.rv, r2.rv));
    EXPECT_TRUE(all_equal("dx", r1.dx, r2.dx));
    EXPECT_TRUE(all_equal("dweight", r1.dw, r2.dw));
    EXPECT_TRUE(all_equal("dbias", r1.db, r2.db));
  }

  // float64 finite differences of L = sum(y * g) against the backward (independent of
  // the reference): d/dx, d/dweight, d/dbias.
  void test_finite_differences() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    const Geo g = geo_of(shape_);
    Rng rng(seed_);
    Operand x = operand("x"), y = operand("y"), gy = operand("dy"), dx = operand("dx");
    for (int64_t i = 0; i < x.numel(); ++i) x.set(i, offset_ + rng.uniform(-2, 2));
    for (int64_t i = 0; i < gy.numel(); ++i) gy.set(i, rng.uniform(-1, 1));
    HostTensor w(Shape{g.C}, KN_FLOAT64), b(Shape{g.C}, KN_FLOAT64), rm(Shape{g.C}, KN_FLOAT64),
        rv(Shape{g.C}, KN_FLOAT64), sm(Shape{g.C}, KN_FLOAT64), si(Shape{g.C}, KN_FLOAT64),
        dw(Shape{g.C}, KN_FLOAT64), db(Shape{g.C}, KN_FLOAT64);
    w.fill_random(rng, -2, 2), b.fill_random(rng), rm.fill_random(rng), rv.fill_random(rng, 0.5, 2);
    const kn_batch_norm_params p{eps_, momentum_, training_ ? 1 : 0};
    const kn_tensor wk = w.kn(), bk = b.kn(), smk = sm.kn(), sik = si.kn(), dwk = dw.kn(),
                    dbk = db.kn();
    // Eval reads fixed running stats; training must not drift them between evaluations.
    const Vec rm0 = rm.values(), rv0 = rv.values();
    const Vec gv = gy.values();
    auto loss = [&]() {
      rm.set_values(rm0), rv.set_values(rv0);
      const kn_tensor rmk = rm.kn(), rvk = rv.kn();
      EXPECT_EQ(kn_batch_norm_forward(&p, &x.k, &wk, &bk, &rmk, &rvk, &y.k, &smk, &sik, nullptr), KN_OK);
      return dot(y.values(), gv);
    };
    loss();
    KN_ASSERT_OK(kn_batch_norm_backward(&p, &gy.k, &x.k, &wk, &smk, &sik, &dx.k, &dwk, &dbk, nullptr));
    const Vec gx = dx.values(), gw = dw.values(), gb = db.values();
    // numeric gradient of x through the Operand accessors
    Vec nx(gx.size());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = x.get(i);
      x.set(i, v + 1e-6);
      const double plus = loss();
      x.set(i, v - 1e-6);
      const double minus = loss();
      x.set(i, v);
      nx[i] = (plus - minus) / 2e-6;
    }
    EXPECT_TRUE(all_close("dx vs finite differences", gx, nx, {}, 1e-5, 1e-6));
    EXPECT_TRUE(all_close("dweight vs finite differences", gw, numeric_gradient(w, loss), {}, 1e-5, 1e-6));
    EXPECT_TRUE(all_close("dbias vs finite differences", gb, numeric_gradient(b, loss), {}, 1e-5, 1e-6));
  }

  std::string describe() const {
    std::ostringstream o;
    o << "x " << shape_str(shape_) << (training_ ? " training" : " eval") << " eps=" << eps_
      << " momentum=" << momentum_ << (weight_ ? "" : " no-weight") << (bias_ ? "" : " no-bias")
      << (running_ ? "" : " no-running") << (channels_last_ ? " channels_last" : "")
      << " offset=" << offset_ << " " << describe_common();
    return o.str();
  }

 private:
  Operand operand(const std::string& name) const {
    return Operand(shape_, dtype_, layout_of(name), channels_last_);
  }
  Shape shape_{4, 3, 5, 6};
  bool training_ = true, weight_ = true, bias_ = true, running_ = true, channels_last_ = false;
  double eps_ = 1e-5, momentum_ = 0.1, offset_ = 0.0;
};

using Case = TesterCase<BatchNormTester>;
using CaseParam = std::tuple<Case, int32_t>;

const std::vector<Case> kCases = {
    {"nchw", [](BatchNormTester& t) { t.shape({4, 3, 5, 6}); }},
    {"nchw_eval", [](BatchNormTester& t) { t.shape({4, 3, 5, 6}).training(false); }},
    {"bn1d_nc", [](BatchNormTester& t) { t.shape({7, 5}); }},
    {"bn1d_nc_eval", [](BatchNormTester& t) { t.shape({7, 5}).training(false); }},
    {"bn1d_ncl", [](BatchNormTester& t) { t.shape({3, 4, 9}); }},
    {"bn3d", [](BatchNormTester& t) { t.shape({2, 3, 3, 4, 5}); }},
    {"bn3d_eval", [](BatchNormTester& t) { t.shape({2, 3, 3, 4, 5}).training(false); }},
    {"nhwc", [](BatchNormTester& t) { t.shape({4, 6, 5, 3}).channels_last(); }},
    {"nhwc_eval", [](BatchNormTester& t) { t.shape({4, 6, 5, 3}).channels_last().training(false); }},
    {"ndhwc", [](BatchNormTester& t) { t.shape({2, 5, 3, 2, 3}).channels_last(); }},
    {"nhwc_wide", [](BatchNormTester& t) { t.shape({3, 37, 4, 5}).channels_last(); }},
    {"transposed_x", [](BatchNormTester& t) { t.transpose("x"); }},
    {"sliced_x_dy", [](BatchNormTester& t) { t.slice("x").slice("dy", 3); }},
    {"reversed_all", [](BatchNormTester& t) { t.reverse("x").reverse("y").reverse("dy").reverse("dx"); }},
    {"transposed_dy", [](BatchNormTester& t) { t.transpose("dy"); }},
    {"transposed_outputs", [](BatchNormTester& t) { t.transpose("y").transpose("dx"); }},
    {"strided_vectors", [](BatchNormTester& t) { t.layout("vec", Layout::sliced(3).r()); }},
    {"no_affine", [](BatchNormTester& t) { t.affine(false, false); }},
    {"weight_only", [](BatchNormTester& t) { t.affine(true, false); }},
    {"bias_only", [](BatchNormTester& t) { t.affine(false, true); }},
    {"no_running", [](BatchNormTester& t) { t.running(false); }},
    {"momentum_1", [](BatchNormTester& t) { t.momentum(1.0); }},
    {"momentum_0", [](BatchNormTester& t) { t.momentum(0.0); }},
    {"eps_large", [](BatchNormTester& t) { t.eps(0.5); }},
    {"eps_0", [](BatchNormTester& t) { t.eps(0.0); }},
    {"offset_mean", [](BatchNormTester& t) { t.offset(100.0); }},
    {"offset_mean_nhwc", [](BatchNormTester& t) { t.offset(100.0).channels_last(); }},
    {"two_values", [](BatchNormTester& t) { t.shape({2, 3}); }},
    {"one_value_eval", [](BatchNormTester& t) { t.shape({1, 3}).training(false); }},
    {"empty_batch", [](BatchNormTester& t) { t.shape({0, 3, 4, 4}); }},
    {"empty_batch_eval", [](BatchNormTester& t) { t.shape({0, 3, 4, 4}).training(false); }},
    {"empty_batch_nhwc", [](BatchNormTester& t) { t.shape({0, 3, 4, 4}).channels_last(); }},
    {"zero_channels", [](BatchNormTester& t) { t.shape({3, 0, 4}); }},
    {"one_channel", [](BatchNormTester& t) { t.shape({5, 1, 7}); }},
    {"null_exec", [](BatchNormTester& t) { t.null_exec(); }},
    {"two_threads_nchw", [](BatchNormTester& t) { t.shape({3, 8, 40, 40}).threads(2); }},
    {"two_threads_nhwc", [](BatchNormTester& t) { t.shape({3, 8, 40, 40}).channels_last().threads(2); }},
    {"two_threads_nc", [](BatchNormTester& t) { t.shape({3000, 24}).threads(2); }},
    // fewer channels than threads: (channel, block) pairs shared out
    {"two_threads_one_channel", [](BatchNormTester& t) { t.shape({4, 1, 150, 200}).threads(2); }},
    {"three_threads_two_channels", [](BatchNormTester& t) { t.shape({2, 2, 300, 120}).threads(3).transpose("dy"); }},
};

class BatchNormCases : public ::testing::TestWithParam<CaseParam> {
 protected:
  BatchNormTester tester() const {
    BatchNormTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(BatchNormCases, ForwardBackward) { tester().test(); }

INSTANTIATE_TEST_SUITE_P(BatchNorm, BatchNormCases,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<CaseParam>);

TEST(BatchNorm, RandomShapesAndLayouts) {
  Rng rng(2024);
  for (int i = 0; i < 20; ++i) {
    BatchNormTester t;
    const int nd = static_cast<int>(rng.integer(2, 5));
    Shape s;
    for (int d = 0; d < nd; ++d) s.push_back(rng.integer(d == 0 ? 2 : 1, 6));
    t.shape(s).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).training(rng.coin()).seed(100 + i)
        .threads(static_cast<int32_t>(rng.integer(1, 3)));
    if (rng.coin()) t.channels_last();
    else t.layout("x", random_layout(rng, nd, true)).layout("dy", random_layout(rng, nd, true));
    t.layout("y", random_layout(rng, nd, false)).layout("dx", random_layout(rng, nd, false));
    t.test();
  }
}

TEST(BatchNorm, LargeFloat32Channel) {
  // 6M float32 values per channel around a large mean: the statistics must match a
  // two-pass double computation to float32 precision (a float accumulator would not).
  for (bool channels_last : {false, true}) {
    const Shape s = channels_last ? Shape{1500, 2, 2000} : Shape{2, 2, 3000000};
    HostTensor x(s, KN_FLOAT32), y(s, KN_FLOAT32), sm({2}, KN_FLOAT32), si({2}, KN_FLOAT32);
    kn_tensor xk = x.kn(), yk = y.kn();
    if (channels_last)  // (N, C, L) viewed over memory (N, L, C)
      for (kn_tensor* k : {&xk, &yk}) k->strides[0] = 4000, k->strides[1] = 1, k->strides[2] = 2;
    Rng rng(77);
    Vec xv(static_cast<size_t>(x.numel()));
    for (double& v : xv) v = static_cast<float>(50.0 + rng.uniform(-2, 2));
    x.set_values(xv);  // contiguous storage: logical order == memory order of xk's channels
    const kn_tensor smk = sm.kn(), sik = si.kn();
    const kn_batch_norm_params p{1e-5, 0.1, 1};
    const kn_exec e = make_exec(2);
    KN_ASSERT_OK(kn_batch_norm_forward(&p, &xk, nullptr, nullptr, nullptr, nullptr, &yk, &smk, &sik, &e));
    for (int64_t c = 0; c < 2; ++c) {
      // element i of memory belongs to channel (i / 3000000) % 2 (NCL) or i % 2 (NLC)
      double sum = 0, q = 0, n = 0;
      for (size_t i = 0; i < xv.size(); ++i)
        if ((channels_last ? int64_t(i % 2) : int64_t(i / 3000000) % 2) == c) sum += xv[i], ++n;
      const double mean = sum / n;
      for (size_t i = 0; i < xv.size(); ++i)
        if ((channels_last ? int64_t(i % 2) : int64_t(i / 3000000) % 2) == c) q += (xv[i] - mean) * (xv[i] - mean);
      const double invstd = 1.0 / std::sqrt(q / n + 1e-5);
      EXPECT_NEAR(sm.get(c), mean, 1e-6 * mean) << "channel " << c;
      EXPECT_NEAR(si.get(c), invstd, 1e-6 * invstd) << "channel " << c;
    }
  }
}

TEST(BatchNorm, ThreadsBitwise) {
  for (int32_t dt : {KN_FLOAT32, KN_FLOAT64}) {
    BatchNormTester().dtype(dt).shape({8, 6, 50, 50}).test_threads_bitwise();
    BatchNormTester().dtype(dt).shape({8, 6, 50, 50}).channels_last().test_threads_bitwise();
    BatchNormTester().dtype(dt).shape({4000, 17}).test_threads_bitwise();
    BatchNormTester().dtype(dt).shape({8, 6, 50, 50}).transpose("x").test_threads_bitwise();
    BatchNormTester().dtype(dt).shape({8, 6, 50, 50}).training(false).test_threads_bitwise();
    // 1 thread takes the channel whole, 2 share its blocks: the same bits
    BatchNormTester().dtype(dt).shape({4, 1, 300, 300}).test_threads_bitwise();
    BatchNormTester().dtype(dt).shape({3, 1, 70001}).slice("x").test_threads_bitwise();
  }
}

TEST(BatchNorm, FiniteDifferences) {
  for (bool training : {true, false}) {
    BatchNormTester().dtype(KN_FLOAT64).training(training).shape({3, 2, 2, 3}).test_finite_differences();
    BatchNormTester().dtype(KN_FLOAT64).training(training).shape({4, 3}).test_finite_differences();
    BatchNormTester().dtype(KN_FLOAT64).training(training).shape({2, 3, 2, 2}).channels_last()
        .test_finite_differences();
    BatchNormTester().dtype(KN_FLOAT64).training(training).shape({2, 2, 3, 2}).transpose("x")
        .slice("dy").test_finite_differences();
  }
}

// Backward outputs may each be NULL; the others are unchanged by that.
TEST(BatchNorm, BackwardOptionalOutputs) {
  Rng rng(3);
  for (int32_t training : {0, 1}) {
    HostTensor x({3, 4, 5}, KN_FLOAT32), dy({3, 4, 5}, KN_FLOAT32), w({4}, KN_FLOAT32),
        sm({4}, KN_FLOAT32), si({4}, KN_FLOAT32), dx({3, 4, 5}, KN_FLOAT32), dw({4}, KN_FLOAT32),
        db({4}, KN_FLOAT32), y({3, 4, 5}, KN_FLOAT32), rm({4}, KN_FLOAT32), rv({4}, KN_FLOAT32);
    x.fill_random(rng), dy.fill_random(rng), w.fill_random(rng), rv.fill(1.0);
    const kn_batch_norm_params p{1e-5, 0.1, training};
    const kn_tensor xk = x.kn(), dyk = dy.kn(), wk = w.kn(), smk = sm.kn(), sik = si.kn(),
                    dxk = dx.kn(), dwk = dw.kn(), dbk = db.kn(), yk = y.kn(), rmk = rm.kn(), rvk = rv.kn();
    KN_ASSERT_OK(kn_batch_norm_forward(&p, &xk, &wk, nullptr, &rmk, &rvk, &yk, &smk, &sik, nullptr));
    KN_ASSERT_OK(kn_batch_norm_backward(&p, &dyk, &xk, &wk, &smk, &sik, &dxk, &dwk, &dbk, nullptr));
    const Vec dx0 = dx.values(), dw0 = dw.values(), db0 = db.values();
    dx.fill(0), dw.fill(0), db.fill(0);
    KN_ASSERT_OK(kn_batch_norm_backward(&p, &dyk, &xk, &wk, &smk, &sik, &dxk, nullptr, nullptr, nullptr));
    EXPECT_TRUE(all_equal("dx alone", dx.values(), dx0));
    EXPECT_TRUE(all_equal("dweight untouched", dw.values(), Vec(4, 0.0)));
    KN_ASSERT_OK(kn_batch_norm_backward(&p, &dyk, &xk, &wk, &smk, &sik, nullptr, &dwk, nullptr, nullptr));
    EXPECT_TRUE(all_equal("dweight alone", dw.values(), dw0));
    KN_ASSERT_OK(kn_batch_norm_backward(&p, &dyk, &xk, nullptr, &smk, &sik, nullptr, nullptr, &dbk, nullptr));
    EXPECT_TRUE(all_equal("dbias alone", db.values(), db0));
  }
}

// Eval mode: save_* are the running mean and 1/sqrt(running_var + eps) exactly as computed
// in double and rounded once.
TEST(BatchNorm, EvalSavedStats) {
  HostTensor x({2, 2, 3}, KN_FLOAT64), y({2, 2, 3}, KN_FLOAT64), rm({2}, KN_FLOAT64),
      rv({2}, KN_FLOAT64), sm({2}, KN_FLOAT64), si({2}, KN_FLOAT64);
  rm.set_values({0.5, -1.5}), rv.set_values({4.0, 0.25});
  const kn_batch_norm_params p{0.0, 0.3, 0};
  const kn_tensor xk = x.kn(), yk = y.kn(), rmk = rm.kn(), rvk = rv.kn(), smk = sm.kn(), sik = si.kn();
  KN_ASSERT_OK(kn_batch_norm_forward(&p, &xk, nullptr, nullptr, &rmk, &rvk, &yk, &smk, &sik, nullptr));
  EXPECT_EQ(sm.values(), (Vec{0.5, -1.5}));
  EXPECT_EQ(si.values(), (Vec{0.5, 2.0}));
  EXPECT_EQ(rm.values(), (Vec{0.5, -1.5}));  // untouched in eval
  EXPECT_EQ(rv.values(), (Vec{4.0, 0.25}));
}

// A NaN or inf in a channel makes that channel's statistics and outputs NaN (as torch);
// the other channels are unaffected. Both layouts.
TEST(BatchNorm, NonFiniteInputs) {
  for (bool cl : {false, true})
    for (double bad : {std::nan(""), double(INFINITY)}) {
      Operand x({4, 3, 5}, KN_FLOAT32, {}, cl), y({4, 3, 5}, KN_FLOAT32, {}, cl);
      HostTensor sm({3}, KN_FLOAT32), si({3}, KN_FLOAT32), rm({3}, KN_FLOAT32), rv({3}, KN_FLOAT32);
      Rng rng(8);
      for (int64_t i = 0; i < x.numel(); ++i) x.set(i, rng.uniform(-1, 1));
      x.set(1 * 5 + 2, bad);  // n = 0, c = 1, l = 2
      rv.fill(1.0);
      const kn_tensor smk = sm.kn(), sik = si.kn(), rmk = rm.kn(), rvk = rv.kn();
      const kn_batch_norm_params p{1e-5, 0.1, 1};
      KN_ASSERT_OK(kn_batch_norm_forward(&p, &x.k, nullptr, nullptr, &rmk, &rvk, &y.k, &smk, &sik, nullptr));
      EXPECT_TRUE(std::isnan(sm.get(1)) || std::isinf(sm.get(1))) << sm.get(1);
      EXPECT_TRUE(std::isnan(si.get(1))) << "invstd " << si.get(1) << (cl ? " channels_last" : "");
      EXPECT_TRUE(std::isnan(rv.get(1)));
      EXPECT_TRUE(std::isfinite(sm.get(0)) && std::isfinite(si.get(2)) && std::isfinite(rv.get(2)));
      EXPECT_TRUE(std::isnan(y.get(3 * 15 + 1 * 5 + 4)));  // another value of channel 1
      EXPECT_TRUE(std::isfinite(y.get(2 * 15 + 2 * 5 + 1)));
    }
}

// ------------------------------------------------------------ validation

struct BnCall {
  HostTensor x{{2, 3, 4, 5}, KN_FLOAT32}, w{{3}, KN_FLOAT32}, b{{3}, KN_FLOAT32},
      rm{{3}, KN_FLOAT32}, rv{{3}, KN_FLOAT32}, y{{2, 3, 4, 5}, KN_FLOAT32}, sm{{3}, KN_FLOAT32},
      si{{3}, KN_FLOAT32}, dy{{2, 3, 4, 5}, KN_FLOAT32}, dx{{2, 3, 4, 5}, KN_FLOAT32},
      dw{{3}, KN_FLOAT32}, db{{3}, KN_FLOAT32};
  OpCall forward, backward;
  BnCall() {
    Rng rng(5);
    x.fill_random(rng), w.fill_random(rng), b.fill_random(rng), dy.fill_random(rng);
    rv.fill(1.0), si.fill(1.0);
    const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), rmk = rm.kn(), rvk = rv.kn(),
                    yk = y.kn(), smk = sm.kn(), sik = si.kn(), dyk = dy.kn(), dxk = dx.kn(),
                    dwk = dw.kn(), dbk = db.kn();
    forward.add("x", &xk), forward.add("weight", &wk), forward.add("bias", &bk);
    forward.add("running_mean", &rmk), forward.add("running_var", &rvk), forward.add("y", &yk);
    forward.add("save_mean", &smk), forward.add("save_invstd", &sik);
    backward.add("dy", &dyk), backward.add("x", &xk), backward.add("weight", &wk);
    backward.add("save_mean", &smk), backward.add("save_invstd", &sik), backward.add("dx", &dxk);
    backward.add("dweight", &dwk), backward.add("dbias", &dbk);
  }
};
BnCall& bn_call() {
  static BnCall call;
  return call;
}

const kn_batch_norm_params kTrain{1e-5, 0.1, 1};

kn_status invoke_forward(const OpCall& c) {
  return kn_batch_norm_forward(&kTrain, c.arg("x"), c.arg("weight"), c.arg("bias"),
                               c.arg("running_mean"), c.arg("running_var"), c.arg("y"),
                               c.arg("save_mean"), c.arg("save_invstd"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_batch_norm_backward(&kTrain, c.arg("dy"), c.arg("x"), c.arg("weight"),
                                c.arg("save_mean"), c.arg("save_invstd"), c.arg("dx"),
                                c.arg("dweight"), c.arg("dbias"), c.exec());
}

std::vector<ErrorCase> forward_error_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto cases = descriptor_error_cases({{"x", true, -1, false, true},
                                       {"weight", false, 1},
                                       {"bias", false, 1},
                                       {"running_mean", false, 1, true},
                                       {"running_var", false, 1, true},
                                       {"y", true, -1, true},
                                       {"save_mean", true, 1, true},
                                       {"save_invstd", true, 1, true}});
  cases.push_back({"x_1d", [](OpCall& c) { c["x"].ndim = 1; }, SHAPE, "x"});
  cases.push_back({"weight_wrong_C", [](OpCall& c) { c["weight"].shape[0] = 2; }, SHAPE, "weight"});
  cases.push_back({"bias_wrong_C", [](OpCall& c) { c["bias"].shape[0] = 4; }, SHAPE, "bias"});
  cases.push_back({"running_mean_wrong_C", [](OpCall& c) { c["running_mean"].shape[0] = 2; }, SHAPE, "running_mean"});
  cases.push_back({"running_var_wrong_C", [](OpCall& c) { c["running_var"].shape[0] = 2; }, SHAPE, "running_var"});
  cases.push_back({"save_mean_wrong_C", [](OpCall& c) { c["save_mean"].shape[0] = 2; }, SHAPE, "save_mean"});
  cases.push_back({"save_invstd_wrong_C", [](OpCall& c) { c["save_invstd"].shape[0] = 2; }, SHAPE, "save_invstd"});
  cases.push_back({"y_wrong_shape", [](OpCall& c) { c["y"].shape[3] = 4; }, SHAPE, "y"});
  cases.push_back({"running_var_without_mean", [](OpCall& c) { c.set_null("running_mean"); }, INVALID, "running_mean"});
  cases.push_back({"running_mean_without_var", [](OpCall& c) { c.set_null("running_var"); }, INVALID, "running_var"});
  cases.push_back({"y_aliases_x", [](OpCall& c) { c["y"] = c["x"]; }, INVALID, "y"});
  cases.push_back({"running_mean_aliases_weight", [](OpCall& c) { c["running_mean"] = c["weight"]; }, INVALID, "running_mean"});
  cases.push_back({"one_value_per_channel", [](OpCall& c) {
                     for (const char* n : {"x", "y"}) {
                       c[n].shape[0] = 1, c[n].shape[2] = 1, c[n].shape[3] = 1;
                     }
                   }, INVALID, "x: expected more than 1 value per channel when training"});
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true},
                                       {"x", true, -1},
                                       {"weight", false, 1},
                                       {"save_mean", true, 1},
                                       {"save_invstd", true, 1},
                                       {"dx", false, -1, true},
                                       {"dweight", false, 1, true},
                                       {"dbias", false, 1, true}});
  cases.push_back({"dy_1d", [](OpCall& c) { c["dy"].ndim = 1; }, SHAPE, "dy"});
  cases.push_back({"x_wrong_shape", [](OpCall& c) { c["x"].shape[2] = 3; }, SHAPE, "x"});
  cases.push_back({"weight_wrong_C", [](OpCall& c) { c["weight"].shape[0] = 2; }, SHAPE, "weight"});
  cases.push_back({"save_mean_wrong_C", [](OpCall& c) { c["save_mean"].shape[0] = 2; }, SHAPE, "save_mean"});
  cases.push_back({"save_invstd_wrong_C", [](OpCall& c) { c["save_invstd"].shape[0] = 4; }, SHAPE, "save_invstd"});
  cases.push_back({"dx_wrong_shape", [](OpCall& c) { c["dx"].shape[1] = 2; }, SHAPE, "dx"});
  cases.push_back({"dweight_wrong_C", [](OpCall& c) { c["dweight"].shape[0] = 2; }, SHAPE, "dweight"});
  cases.push_back({"dbias_wrong_C", [](OpCall& c) { c["dbias"].shape[0] = 2; }, SHAPE, "dbias"});
  cases.push_back({"dx_aliases_dy", [](OpCall& c) { c["dx"] = c["dy"]; }, KN_ERR_INVALID_ARGUMENT, "dx"});
  return cases;
}

class BatchNormForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(BatchNormForwardErrors, ExactStatusAndMessage) {
  check_error_case(bn_call().forward, invoke_forward, "kn_batch_norm_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(BatchNorm, BatchNormForwardErrors, ::testing::ValuesIn(forward_error_cases()), error_case_name);

class BatchNormBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(BatchNormBackwardErrors, ExactStatusAndMessage) {
  check_error_case(bn_call().backward, invoke_backward, "kn_batch_norm_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(BatchNorm, BatchNormBackwardErrors, ::testing::ValuesIn(backward_error_cases()), error_case_name);

// Bad parameters and mode errors: the exact status, a message naming the field, and
// nothing written (outputs and running stats keep their bytes).
TEST(BatchNorm, BadParamsWriteNothing) {
  HostTensor x({2, 3, 4}, KN_FLOAT32), y({2, 3, 4}, KN_FLOAT32), rm({3}, KN_FLOAT32),
      rv({3}, KN_FLOAT32), sm({3}, KN_FLOAT32), si({3}, KN_FLOAT32), x1({1, 3}, KN_FLOAT32),
      y1({1, 3}, KN_FLOAT32), dx({2, 3, 4}, KN_FLOAT32), dw({3}, KN_FLOAT32);
  Rng rng(1);
  x.fill_random(rng), x1.fill_random(rng), rm.fill_random(rng), rv.fill(2.0);
  y.fill(7), sm.fill(7), si.fill(7), y1.fill(7), dx.fill(7), dw.fill(7);
  const kn_tensor xk = x.kn(), yk = y.kn(), rmk = rm.kn(), rvk = rv.kn(), smk = sm.kn(),
                  sik = si.kn(), x1k = x1.kn(), y1k = y1.kn(), dxk = dx.kn(), dwk = dw.kn();
  const auto raw = [&] {
    return std::vector<std::vector<unsigned char>>{y.raw(), rm.raw(), rv.raw(), sm.raw(), si.raw(),
                                                   y1.raw(), dx.raw(), dw.raw()};
  };
  const auto before = raw();
  const double nan = std::nan(""), inf = INFINITY;
  struct Bad {
    kn_batch_norm_params p;
    const char* message;
  };
  for (const Bad& b : {Bad{{nan, 0.1, 1}, "p->eps: expected a finite value >= 0, got nan"},
                       Bad{{-1e-5, 0.1, 1}, "p->eps: expected a finite value >= 0"},
                       Bad{{inf, 0.1, 1}, "p->eps"},
                       Bad{{1e-5, nan, 1}, "p->momentum: expected a finite value, got nan"},
                       Bad{{1e-5, -inf, 1}, "p->momentum"},
                       Bad{{1e-5, 0.1, 2}, "p->training: expected a value in [0, 1], got 2"},
                       Bad{{1e-5, 0.1, -1}, "p->training"}}) {
    EXPECT_EQ(kn_batch_norm_forward(&b.p, &xk, nullptr, nullptr, &rmk, &rvk, &yk, &smk, &sik, nullptr),
              KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_batch_norm_forward: ") + b.message),
              std::string::npos) << kn_last_error();
    EXPECT_EQ(kn_batch_norm_backward(&b.p, &xk, &xk, nullptr, &smk, &sik, &dxk, &dwk, nullptr, nullptr),
              KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_batch_norm_backward: ") + b.message),
              std::string::npos) << kn_last_error();
  }
  EXPECT_EQ(kn_batch_norm_forward(nullptr, &xk, nullptr, nullptr, &rmk, &rvk, &yk, &smk, &sik, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kn_last_error()), "kn_batch_norm_forward: p: must not be NULL");
  EXPECT_EQ(kn_batch_norm_backward(nullptr, &xk, &xk, nullptr, &smk, &sik, &dxk, nullptr, nullptr, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  // eval without running stats
  const kn_batch_norm_params eval{1e-5, 0.1, 0}, train{1e-5, 0.1, 1};
  EXPECT_EQ(kn_batch_norm_forward(&eval, &xk, nullptr, nullptr, nullptr, nullptr, &yk, &smk, &sik, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("required in eval mode"), std::string::npos);
  // training with one value per channel, as torch refuses it
  const kn_tensor sm3 = sm.kn(), si3 = si.kn();
  EXPECT_EQ(kn_batch_norm_forward(&train, &x1k, nullptr, nullptr, &rmk, &rvk, &y1k, &sm3, &si3, nullptr),
            KN_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kn_last_error()),
            "kn_batch_norm_forward: x: expected more than 1 value per channel when training, got "
            "input size (1, 3)");
  EXPECT_EQ(raw(), before) << "a failing call wrote an output";
  // ... which eval accepts
  KN_EXPECT_OK(kn_batch_norm_forward(&eval, &x1k, nullptr, nullptr, &rmk, &rvk, &y1k, &sm3, &si3, nullptr));
}

}  // namespace
}  // namespace kntest
