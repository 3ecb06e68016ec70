// The fluent tester of the normalisation ops (layer_norm, group_norm; used by
// test_layer_norm.cpp and test_group_norm.cpp), through the C ABI, against a
// naive double-precision reference written from the definition: every
// element e of x belongs to one normalised row and uses one affine parameter
//   layer_norm: row = e / D, parameter = e % D      (D = the trailing dims' size)
//   group_norm: row = n G + c / (C/G), parameter = c  (x:(N, C, *))
// and the reference sums over rows and parameters plainly.
//
//   NormTester().layer(2).shape({3, 4, 5}).affine(true, false).layout("x", T).test_forward();
//   NormTester().group(4).shape({2, 8, 3, 3}).test_backward();
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tensor_util.hpp"
#include "kernels/group_norm.h"
#include "kernels/layer_norm.h"

namespace kntest {

using Vec = std::vector<double>;

class NormTester : public TesterBase<NormTester> {
 public:
  NormTester& layer(int k) { group_ = false, k_ = k; return *this; }
  NormTester& group(int64_t g) { group_ = true, g_ = g; return *this; }
  NormTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  NormTester& affine(bool weight, bool bias) { weight_ = weight, bias_ = bias; return *this; }
  NormTester& eps(double e) { eps_ = e; return *this; }
  // x drawn from offset + [-1, 1) (a large offset: |mean| >> std).
  NormTester& offset(double o) { offset_ = o; return *this; }
  NormTester& need(bool dx, bool dw, bool db) { need_dx_ = dx, need_dw_ = dw, need_db_ = db; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << (group_ ? "group_norm G=" + std::to_string(g_) : "layer_norm k=" + std::to_string(k_))
      << " x=" << shape_str(shape_) << (weight_ ? " weight" : "") << (bias_ ? " bias" : "")
      << " eps=" << eps_ << " offset=" << offset_ << " need=" << need_dx_ << need_dw_ << need_db_
      << " " << describe_common();
    return o.str();
  }

  // ---------------------------------------------------------------- geometry
  int64_t numel() const { return shape_numel(shape_); }
  Shape param_shape() const {
    if (group_) return {shape_[1]};
    return Shape(shape_.end() - k_, shape_.end());
  }
  Shape stat_shape() const {
    if (group_) return {shape_[0], g_};
    return Shape(shape_.begin(), shape_.end() - k_);
  }
  int64_t num_rows() const { return shape_numel(stat_shape()); }
  int64_t num_params() const { return shape_numel(param_shape()); }
  int64_t row_of(int64_t e) const {
    if (!group_) return e / std::max<int64_t>(1, num_params());
    const int64_t C = shape_[1], S = spatial(), n = e / std::max<int64_t>(1, C * S);
    const int64_t c = (e / std::max<int64_t>(1, S)) % std::max<int64_t>(1, C);
    return n * g_ + c / std::max<int64_t>(1, C / g_);
  }
  int64_t param_of(int64_t e) const {
    if (!group_) return e % std::max<int64_t>(1, num_params());
    return (e / std::max<int64_t>(1, spatial())) % std::max<int64_t>(1, shape_[1]);
  }
  int64_t row_len() const { return num_rows() ? numel() / num_rows() : 0; }

  // ---------------------------------------------------------------- reference
  struct Fwd {
    Vec y, mean, rstd, y_mag, mean_mag;
  };
  Fwd reference_forward(const Vec& x, const Vec& w, const Vec& b) const {
    const int64_t R = num_rows(), n = row_len();
    Fwd f{Vec(x.size()), Vec(size_t(R), 0.0), Vec(size_t(R), 0.0), Vec(x.size()), Vec(size_t(R), 0.0)};
    Vec ss(size_t(R), 0.0), max_abs(size_t(R), 0.0);  // the mean's rounding is relative to the row's max |x|
    for (size_t e = 0; e < x.size(); ++e) {
      f.mean[row_of(e)] += x[e];
      f.mean_mag[row_of(e)] += std::fabs(x[e]);
      max_abs[row_of(e)] = std::max(max_abs[row_of(e)], std::fabs(x[e]));
    }
    for (int64_t r = 0; r < R; ++r) {
      f.mean[r] = n ? f.mean[r] / double(n) : 0.0;
      f.mean_mag[r] = n ? f.mean_mag[r] / double(n) : 0.0;
    }
    for (size_t e = 0; e < x.size(); ++e) ss[row_of(e)] += (x[e] - f.mean[row_of(e)]) * (x[e] - f.mean[row_of(e)]);
    for (int64_t r = 0; r < R; ++r)
      f.rstd[r] = n ? 1.0 / std::sqrt(ss[r] / double(n) + eps_) : std::numeric_limits<double>::quiet_NaN();
    for (size_t e = 0; e < x.size(); ++e) {
      const int64_t r = row_of(e), p = param_of(e);
      const double wv = weight_ ? w[p] : 1.0, bv = bias_ ? b[p] : 0.0;
      f.y[e] = (x[e] - f.mean[r]) * f.rstd[r] * wv + bv;
      f.y_mag[e] = (std::fabs(x[e]) + max_abs[r]) * f.rstd[r] * std::fabs(wv) + std::fabs(bv);
    }
    return f;
  }

  struct Bwd {
    Vec dx, dw, db, dx_mag, dw_mag, db_mag;
  };
  // From the definition, with the given mean and rstd (as the C entry takes them).
  Bwd reference_backward(const Vec& dy, const Vec& x, const Vec& w, const Vec& mean, const Vec& rstd) const {
    const int64_t R = num_rows(), n = row_len(), P = num_params();
    Bwd b{Vec(x.size()), Vec(size_t(P), 0.0), Vec(size_t(P), 0.0), Vec(x.size()), Vec(size_t(P), 0.0),
          Vec(size_t(P), 0.0)};
    Vec sg(size_t(R), 0.0), sgx(size_t(R), 0.0), ag(size_t(R), 0.0), agx(size_t(R), 0.0);
    auto xhat = [&](size_t e) { return (x[e] - mean[row_of(e)]) * rstd[row_of(e)]; };
    auto xhat_mag = [&](size_t e) { return (std::fabs(x[e]) + std::fabs(mean[row_of(e)])) * rstd[row_of(e)]; };
    for (size_t e = 0; e < x.size(); ++e) {
      const int64_t r = row_of(e), p = param_of(e);
      const double g = dy[e] * (weight_ ? w[p] : 1.0);
      sg[r] += g, sgx[r] += g * xhat(e);
      ag[r] += std::fabs(g), agx[r] += std::fabs(g) * xhat_mag(e);
      b.dw[p] += dy[e] * xhat(e), b.db[p] += dy[e];
      b.dw_mag[p] += std::fabs(dy[e]) * xhat_mag(e), b.db_mag[p] += std::fabs(dy[e]);
    }
    for (size_t e = 0; e < x.size(); ++e) {
      const int64_t r = row_of(e), p = param_of(e);
      const double g = dy[e] * (weight_ ? w[p] : 1.0);
      b.dx[e] = rstd[r] * (g - sg[r] / double(n) - xhat(e) * sgx[r] / double(n));
      b.dx_mag[e] = rstd[r] * (std::fabs(g) + ag[r] / double(n) + xhat_mag(e) * agx[r] / double(n));
    }
    return b;
  }

  // ---------------------------------------------------------------- calls
  kn_status call_forward(const HostTensor& x, const HostTensor* w, const HostTensor* b, HostTensor& y,
                         HostTensor& mean, HostTensor& rstd, const kn_exec* ex) const {
    const kn_tensor xk = x.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn();
    kn_tensor wk{}, bk{};
    if (w) wk = w->kn();
    if (b) bk = b->kn();
    if (group_) {
      const kn_group_norm_params p{g_, eps_};
      return kn_group_norm_forward(&p, &xk, w ? &wk : nullptr, b ? &bk : nullptr, &yk, &mk, &sk, ex);
    }
    const kn_layer_norm_params p{k_, eps_};
    return kn_layer_norm_forward(&p, &xk, w ? &wk : nullptr, b ? &bk : nullptr, &yk, &mk, &sk, ex);
  }
  kn_status call_backward(const HostTensor& dy, const HostTensor& x, const HostTensor* w,
                          const HostTensor& mean, const HostTensor& rstd, HostTensor* dx,
                          HostTensor* dw, HostTensor* db, const kn_exec* ex) const {
    const kn_tensor dyk = dy.kn(), xk = x.kn(), mk = mean.kn(), sk = rstd.kn();
    kn_tensor wk{}, dxk{}, dwk{}, dbk{};
    if (w) wk = w->kn();
    if (dx) dxk = dx->kn();
    if (dw) dwk = dw->kn();
    if (db) dbk = db->kn();
    const kn_tensor *W = w ? &wk : nullptr, *DX = dx ? &dxk : nullptr, *DW = dw ? &dwk : nullptr,
                    *DB = db ? &dbk : nullptr;
    if (group_) {
      const kn_group_norm_params p{g_, eps_};
      return kn_group_norm_backward(&p, &dyk, &xk, W, &mk, &sk, DX, DW, DB, ex);
    }
    const kn_layer_norm_params p{k_, eps_};
    return kn_layer_norm_backward(&p, &dyk, &xk, W, &mk, &sk, DX, DW, DB, ex);
  }

  // ---------------------------------------------------------------- tests
  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), w = make("weight", param_shape()), b = make("bias", param_shape());
    w.fill_random(rng, -1.5, 1.5);
    b.fill_random(rng);
    const auto x_raw = x.raw(), w_raw = w.raw(), b_raw = b.raw();
    HostTensor y = make_output("y", shape_), mean = make_output("mean", stat_shape()),
               rstd = make_output("rstd", stat_shape());
    const kn_exec ex = exec();
    KN_ASSERT_OK(call_forward(x, weight_ ? &w : nullptr, bias_ ? &b : nullptr, y, mean, rstd, exec_ptr(ex)));
    const Fwd f = reference_forward(x.values(), w.values(), b.values());
    const int64_t n = row_len();
    EXPECT_TRUE(all_close("y", y.values(), f.y, f.y_mag, rtol(16)));
    EXPECT_TRUE(all_close("mean", mean.values(), f.mean, f.mean_mag, rtol(n + 4)));
    EXPECT_TRUE(all_close("rstd", rstd.values(), f.rstd, {}, rtol(n + 4)));
    EXPECT_TRUE(y.outside_untouched("y"));
    EXPECT_TRUE(mean.outside_untouched("mean"));
    EXPECT_TRUE(rstd.outside_untouched("rstd"));
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    EXPECT_EQ(w.raw(), w_raw) << "weight was modified";
    EXPECT_EQ(b.raw(), b_raw) << "bias was modified";
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), w = make("weight", param_shape()), dy = make("dy", shape_);
    w.fill_random(rng, -1.5, 1.5);
    dy.fill_random(rng);
    const Fwd f = reference_forward(x.values(), w.values(), Vec(size_t(num_params()), 0.0));
    HostTensor mean = make("mean", stat_shape()), rstd = make("rstd", stat_shape());
    mean.set_values(f.mean);
    rstd.set_values(f.rstd);
    const auto dy_raw = dy.raw(), x_raw = x.raw(), m_raw = mean.raw(), s_raw = rstd.raw();
    HostTensor dx = make_output("dx", shape_), dw = make_output("dweight", param_shape()),
               db = make_output("dbias", param_shape());
    const kn_exec ex = exec();
    KN_ASSERT_OK(call_backward(dy, x, weight_ ? &w : nullptr, mean, rstd, need_dx_ ? &dx : nullptr,
                               need_dw_ ? &dw : nullptr, need_db_ ? &db : nullptr, exec_ptr(ex)));
    const Bwd want = reference_backward(dy.values(), x.values(), w.values(), mean.values(), rstd.values());
    if (need_dx_) { EXPECT_TRUE(all_close("dx", dx.values(), want.dx, want.dx_mag, rtol(16))); }
    if (need_dw_) { EXPECT_TRUE(all_close("dweight", dw.values(), want.dw, want.dw_mag, rtol(40))); }
    if (need_db_) { EXPECT_TRUE(all_close("dbias", db.values(), want.db, want.db_mag, rtol(40))); }
    // Outputs not asked for are never touched (all NaN), asked ones only in their view.
    for (auto* t : {&dx, &dw, &db}) EXPECT_TRUE(t->outside_untouched("output"));
    if (!need_dx_) { EXPECT_TRUE(all_nan(dx.values())) << "dx written though not requested"; }
    if (!need_dw_) { EXPECT_TRUE(all_nan(dw.values())) << "dweight written though not requested"; }
    if (!need_db_) { EXPECT_TRUE(all_nan(db.values())) << "dbias written though not requested"; }
    EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    EXPECT_EQ(mean.raw(), m_raw) << "mean was modified";
    EXPECT_EQ(rstd.raw(), s_raw) << "rstd was modified";
  }

  // Central differences of L = sum(dy * y(x, w, b)) against dx, dweight, dbias (float64).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    Inputs in = make_inputs(rng);
    HostTensor &x = in.x, &w = in.w, &b = in.b, &dy = in.dy;
    HostTensor y = make_output("y", shape_), mean = make_output("mean", stat_shape()),
               rstd = make_output("rstd", stat_shape());
    const kn_exec ex = exec();
    auto loss = [&]() {
      EXPECT_EQ(call_forward(x, weight_ ? &w : nullptr, bias_ ? &b : nullptr, y, mean, rstd, exec_ptr(ex)), KN_OK)
          << kn_last_error();
      return dot(dy.values(), y.values());
    };
    loss();
    HostTensor dx = make_output("dx", shape_), dw = make_output("dweight", param_shape()),
               db = make_output("dbias", param_shape());
    KN_ASSERT_OK(call_backward(dy, x, weight_ ? &w : nullptr, mean, rstd, &dx, &dw, &db, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {}, 1e-6, 1e-6));
    if (weight_) {
      EXPECT_TRUE(all_close("dweight vs finite differences", dw.values(), numeric_gradient(w, loss), {}, 1e-6, 1e-6));
    }
    if (bias_) {
      EXPECT_TRUE(all_close("dbias vs finite differences", db.values(), numeric_gradient(b, loss), {}, 1e-6, 1e-6));
    }
  }

  // 1 and 2 threads (and `threads_`): bitwise-equal outputs.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    Inputs in = make_inputs(rng);
    HostTensor &x = in.x, &w = in.w, &b = in.b, &dy = in.dy;
    std::vector<Vec> runs[3];
    const int32_t counts[3] = {1, 2, 3};
    for (int k = 0; k < 3; ++k) {
      HostTensor y = make_output("y", shape_), mean = make_output("mean", stat_shape()),
                 rstd = make_output("rstd", stat_shape()), dx = make_output("dx", shape_),
                 dw = make_output("dweight", param_shape()), db = make_output("dbias", param_shape());
      const kn_exec ex = make_exec(counts[k]);
      KN_ASSERT_OK(call_forward(x, weight_ ? &w : nullptr, bias_ ? &b : nullptr, y, mean, rstd, &ex));
      KN_ASSERT_OK(call_backward(dy, x, weight_ ? &w : nullptr, mean, rstd, &dx, &dw, &db, &ex));
      runs[k] = {y.values(), mean.values(), rstd.values(), dx.values(), dw.values(), db.values()};
    }
    const char* names[6] = {"y", "mean", "rstd", "dx", "dweight", "dbias"};
    for (int k = 1; k < 3; ++k)
      for (int i = 0; i < 6; ++i)
        EXPECT_TRUE(all_equal(std::string(names[i]) + " 1 vs " + std::to_string(counts[k]) + " threads",
                              runs[0][i], runs[k][i]));
  }

 private:
  // x, weight, bias and dy, drawn from rng in that order.
  struct Inputs {
    HostTensor x, w, b, dy;
  };
  Inputs make_inputs(Rng& rng) const {
    Inputs in{make_x(rng), make("weight", param_shape()), make("bias", param_shape()), make("dy", shape_)};
    in.w.fill_random(rng, -1.5, 1.5);
    in.b.fill_random(rng);
    in.dy.fill_random(rng);
    return in;
  }
  int64_t spatial() const {
    int64_t s = 1;
    for (size_t d = 2; d < shape_.size(); ++d) s *= shape_[d];
    return s;
  }
  HostTensor make_x(Rng& rng) const {
    HostTensor x = make("x", shape_);
    x.fill_random(rng, offset_ - 1.0, offset_ + 1.0);
    return x;
  }
  static bool all_nan(const Vec& v) {
    for (double d : v)
      if (!std::isnan(d)) return false;
    return true;
  }

  bool group_ = false;
  int k_ = 1;
  int64_t g_ = 1;
  Shape shape_ = {3, 5};
  bool weight_ = true, bias_ = true;
  bool need_dx_ = true, need_dw_ = true, need_db_ = true;
  double eps_ = 1e-5, offset_ = 0.0;
};

// Valid float32 calls of a normalisation op, for its validation tests: x and
// dy, dx of shape x; weight, bias, dweight, dbias of shape param; mean, rstd of
// shape stat (rstd = 1), named as the C ABI's arguments in fwd and bwd.
struct NormCall {
  HostTensor x, w, b, y, mean, rstd, dy, dx, dw, db;
  OpCall fwd, bwd;
  NormCall(const Shape& xs, const Shape& param, const Shape& stat)
      : x{xs, KN_FLOAT32}, w{param, KN_FLOAT32}, b{param, KN_FLOAT32}, y{xs, KN_FLOAT32},
        mean{stat, KN_FLOAT32}, rstd{stat, KN_FLOAT32}, dy{xs, KN_FLOAT32}, dx{xs, KN_FLOAT32},
        dw{param, KN_FLOAT32}, db{param, KN_FLOAT32} {
    rstd.fill(1.0);
    const kn_tensor xk = x.kn(), wk = w.kn(), bk = b.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn(),
                    dyk = dy.kn(), dxk = dx.kn(), dwk = dw.kn(), dbk = db.kn();
    fwd.add("x", &xk), fwd.add("weight", &wk), fwd.add("bias", &bk), fwd.add("y", &yk);
    fwd.add("mean", &mk), fwd.add("rstd", &sk);
    bwd.add("dy", &dyk), bwd.add("x", &xk), bwd.add("weight", &wk), bwd.add("mean", &mk);
    bwd.add("rstd", &sk), bwd.add("dx", &dxk), bwd.add("dweight", &dwk), bwd.add("dbias", &dbk);
  }
};

}  // namespace kntest
