// kn_rnn_forward / kn_rnn_backward / kn_rnn_reserve_cols /
// kn_rnn_backward_workspace_size through the C ABI (kernels/rnn.h), against
// a naive double-precision reference of torch.nn.RNN / LSTM / GRU written
// here from the header's formulas, with the shared machinery of
// tensor_util.hpp. Gradients are checked against central finite differences
// of that reference (not against a second hand-written backward).
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>
#include <set>

#include "tensor_util.hpp"
#include "kernels/rnn.h"

namespace kntest {
namespace {

using Vec = std::vector<double>;

const char* mode_str(int32_t mode) {
  switch (mode) {
    case KN_RNN_TANH: return "rnn_tanh";
    case KN_RNN_RELU: return "rnn_relu";
    case KN_LSTM: return "lstm";
    case KN_GRU: return "gru";
  }
  return "bad_mode";
}

// ------------------------------------------------------------ reference

// One call's shapes: padded (T, N, I) or packed (rows, I) with batch_sizes.
struct RnnConfig {
  int32_t mode = KN_LSTM;
  bool reverse = false;
  int64_t T = 3, N = 2, I = 3, H = 3, P = 0;
  std::vector<int64_t> batch_sizes;  // packed when not empty

  bool packed() const { return !batch_sizes.empty(); }
  bool lstm() const { return mode == KN_LSTM; }
  int64_t gates() const { return mode == KN_LSTM ? 4 : mode == KN_GRU ? 3 : 1; }
  int64_t GH() const { return gates() * H; }
  int64_t Hout() const { return P > 0 ? P : H; }
  int64_t steps() const { return packed() ? static_cast<int64_t>(batch_sizes.size()) : T; }
  int64_t seqs() const { return packed() ? batch_sizes[0] : N; }
  int64_t rows() const {
    return packed() ? std::accumulate(batch_sizes.begin(), batch_sizes.end(), int64_t(0)) : T * N;
  }
  int64_t batch_at(int64_t t) const { return packed() ? batch_sizes[static_cast<size_t>(t)] : N; }
  // The row of (step t, sequence n) in x / y: padded t N + n, packed the
  // rows of the earlier steps + n.
  int64_t row(int64_t t, int64_t n) const {
    if (!packed()) return t * N + n;
    int64_t r = 0;
    for (int64_t s = 0; s < t; ++s) r += batch_sizes[static_cast<size_t>(s)];
    return r + n;
  }
  // Steps of sequence n (they are steps 0 .. length-1: the sizes do not increase).
  int64_t length(int64_t n) const {
    int64_t len = 0;
    for (int64_t t = 0; t < steps(); ++t) len += batch_at(t) > n;
    return len;
  }
  Shape seq_shape(int64_t features) const {
    return packed() ? Shape{rows(), features} : Shape{T, seqs(), features};
  }
  // The header's reserve columns (kernels/ops/rnn.hpp documents the layout;
  // this is its sum, written independently).
  int64_t reserve_cols() const {
    switch (mode) {
      case KN_LSTM: return 4 * H + Hout() + H + (P > 0 ? H : 0);  // gates h' c' [m]
      case KN_GRU: return 3 * H + 3 * H + H;                     // gates gates_h h'
      default: return H + H;                                     // gates h'
    }
  }
  std::string describe() const {
    std::ostringstream o;
    o << mode_str(mode) << (reverse ? " reverse" : "") << " I=" << I << " H=" << H;
    if (P) o << " P=" << P;
    if (packed()) {
      o << " packed batch_sizes=" << shape_str(batch_sizes);
    } else {
      o << " T=" << T << " N=" << N;
    }
    return o.str();
  }
};

// Every parameter as a dense row-major vector; NULL ones are zeros (which is
// what the header says NULL means for h0, c0 and the biases).
struct RnnParams {
  Vec x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr;
};
struct RnnState {
  Vec y, h_n, c_n;
};

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// torch.nn.RNN / LSTM / GRU for one layer and one direction, one sequence
// at a time, one step at a time, in double.
RnnState reference_forward(const RnnConfig& s, const RnnParams& p) {
  const int64_t I = s.I, H = s.H, Hout = s.Hout(), GH = s.GH(), N = s.seqs();
  RnnState out;
  out.y.assign(static_cast<size_t>(s.rows() * Hout), 0.0);
  out.h_n.assign(static_cast<size_t>(N * Hout), 0.0);
  out.c_n.assign(static_cast<size_t>(N * H), 0.0);
  Vec h(Hout), c(H), gx(GH), gh(GH), m(H), hnew(Hout);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t j = 0; j < Hout; ++j) h[j] = p.h0[n * Hout + j];
    for (int64_t j = 0; j < H; ++j) c[j] = p.c0[n * H + j];
    const int64_t len = s.length(n);
    for (int64_t k = 0; k < len; ++k) {
      const int64_t t = s.reverse ? len - 1 - k : k;
      const double* x = p.x.data() + s.row(t, n) * I;  // (I may be 0)
      for (int64_t j = 0; j < GH; ++j) {
        double ax = p.b_ih[j], ah = p.b_hh[j];
        for (int64_t i = 0; i < I; ++i) ax += p.w_ih[j * I + i] * x[i];
        for (int64_t i = 0; i < Hout; ++i) ah += p.w_hh[j * Hout + i] * h[i];
        gx[j] = ax, gh[j] = ah;
      }
      switch (s.mode) {
        case KN_RNN_TANH:
        case KN_RNN_RELU:
          for (int64_t j = 0; j < H; ++j) {
            const double a = gx[j] + gh[j];
            hnew[j] = s.mode == KN_RNN_TANH ? std::tanh(a) : std::max(a, 0.0);
          }
          break;
        case KN_LSTM:
          for (int64_t j = 0; j < H; ++j) {
            const double ig = sigmoid(gx[j] + gh[j]), fg = sigmoid(gx[H + j] + gh[H + j]),
                         gg = std::tanh(gx[2 * H + j] + gh[2 * H + j]),
                         og = sigmoid(gx[3 * H + j] + gh[3 * H + j]);
            c[j] = fg * c[j] + ig * gg;
            m[j] = og * std::tanh(c[j]);
          }
          for (int64_t j = 0; j < Hout; ++j) {
            if (s.P == 0) {
              hnew[j] = m[j];
              continue;
            }
            double v = 0;
            for (int64_t i = 0; i < H; ++i) v += p.w_hr[j * H + i] * m[i];
            hnew[j] = v;
          }
          break;
        case KN_GRU:
          for (int64_t j = 0; j < H; ++j) {
            const double r = sigmoid(gx[j] + gh[j]), z = sigmoid(gx[H + j] + gh[H + j]);
            const double nn = std::tanh(gx[2 * H + j] + r * gh[2 * H + j]);
            hnew[j] = (1 - z) * nn + z * h[j];
          }
          break;
      }
      h = hnew;
      for (int64_t j = 0; j < Hout; ++j) out.y[s.row(t, n) * Hout + j] = h[j];
    }
    for (int64_t j = 0; j < Hout; ++j) out.h_n[n * Hout + j] = h[j];
    for (int64_t j = 0; j < H; ++j) out.c_n[n * H + j] = c[j];
  }
  return out;
}

// ------------------------------------------------------------ sequence tensors

// A sequence tensor (x, y, dy, dx): logical (T, N, F) padded or (rows, F)
// packed, in any Layout, and optionally
//   batch_first: a padded (N, T, F) buffer seen as (T, N, F), as torch's
//                batch_first=True input is;
//   half 0 / 1:  columns [0, F) / [F, 2F) of a buffer twice as wide, as the
//                two directions of a bidirectional layer write one output.
class SeqTensor {
 public:
  SeqTensor() = default;
  SeqTensor(const Shape& shape, int32_t dtype, Layout layout, bool batch_first, int half)
      : shape_(shape), bf_(batch_first && shape.size() == 3), half_(half) {
    Shape b = shape;
    if (bf_) std::swap(b[0], b[1]);
    if (half_ >= 0) b.back() *= 2;
    buf_ = HostTensor(b, dtype, layout);
  }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_numel(shape_); }
  double get(int64_t i) const { return buf_.get(buffer_index(i)); }
  void set(int64_t i, double v) { buf_.set(buffer_index(i), v); }
  Vec values() const {
    Vec v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
  // The whole buffer (the other half too), and remember it for outside_untouched.
  void fill(double v) { buf_.fill(v), before_ = buf_.values(); }
  void fill_random(Rng& rng) { buf_.fill_random(rng), before_ = buf_.values(); }
  std::vector<unsigned char> raw() const { return buf_.raw(); }

  kn_tensor kn() const {
    kn_tensor t = buf_.kn();
    const int last = t.ndim - 1;
    if (half_ >= 0) {
      t.shape[last] = shape_.back();
      if (half_ > 0)
        t.data = static_cast<char*>(t.data) +
                 shape_.back() * t.strides[last] * (buf_.dtype() == KN_FLOAT32 ? 4 : 8);
    }
    if (bf_) std::swap(t.shape[0], t.shape[1]), std::swap(t.strides[0], t.strides[1]);
    return t;
  }
  // Nothing written outside the buffer's view, nor in the other half.
  ::testing::AssertionResult outside_untouched(const std::string& name) const {
    ::testing::AssertionResult r = buf_.outside_untouched(name);
    if (!r || half_ < 0) return r;
    std::vector<char> mine(before_.size(), 0);
    for (int64_t i = 0; i < numel(); ++i) mine[buffer_index(i)] = 1;
    const Vec now = buf_.values();
    for (size_t k = 0; k < now.size(); ++k)
      if (!mine[k] && !same_value(now[k], before_[k]))
        return ::testing::AssertionFailure() << name << ": element " << k
                                             << " of the other half of the buffer was written";
    return r;
  }
  std::string describe() const {
    return shape_str(shape_) + (bf_ ? " batch-first" : "") +
           (half_ >= 0 ? " half " + std::to_string(half_) + " of a wider buffer" : "") + " " +
           buf_.layout().name();
  }

 private:
  int64_t buffer_index(int64_t i) const {
    const size_t nd = shape_.size();
    int64_t c[3] = {0, 0, 0};
    for (size_t d = nd; d-- > 0;) c[d] = i % shape_[d], i /= shape_[d];
    if (bf_) std::swap(c[0], c[1]);
    if (half_ > 0) c[nd - 1] += shape_.back();
    int64_t k = 0;
    for (size_t d = 0; d < nd; ++d) k = k * buf_.shape()[d] + c[d];
    return k;
  }
  Shape shape_;
  bool bf_ = false;
  int half_ = -1;
  HostTensor buf_;
  Vec before_;
};

// ------------------------------------------------------------ tester

// RnnTester().mode(KN_LSTM).steps(4).batch(3).input(5).hidden(4).proj(2)
//     .reverse().packed({3, 2, 2, 1}).bias(false).no_h0()
//     .layout("w_ih", Layout::transpose()).dtype(KN_FLOAT64).test_backward();
// Operands (layout names): x h0 c0 w_ih w_hh b_ih b_hh w_hr y h_n c_n (forward);
// dy dh_n dc_n dx dh0 dc0 dw_ih dw_hh db_ih db_hh dw_hr (backward). The
// sequence operands x y dy dx may also be batch_first() or half_of_wider().
class RnnTester : public TesterBase<RnnTester> {
 public:
  using TesterBase<RnnTester>::reverse;  // reverse("x"): a reversed layout
  RnnTester& mode(int32_t m) { c_.mode = m; return *this; }
  RnnTester& steps(int64_t T) { c_.T = T; return *this; }
  RnnTester& batch(int64_t N) { c_.N = N; return *this; }
  RnnTester& input(int64_t I) { c_.I = I; return *this; }
  RnnTester& hidden(int64_t H) { c_.H = H; return *this; }
  RnnTester& proj(int64_t P) { c_.P = P; return *this; }
  RnnTester& reverse() { c_.reverse = true; return *this; }  // the direction
  RnnTester& direction(bool rev) { c_.reverse = rev; return *this; }
  // Packed x with these batch sizes (steps() and batch() then do not apply).
  RnnTester& packed(std::vector<int64_t> bs) { c_.batch_sizes = std::move(bs); return *this; }
  RnnTester& bias(bool b) { bias_ = b; return *this; }
  // h0 (and c0) NULL: zeros.
  RnnTester& no_h0(bool v = true) { no_h0_ = v; return *this; }
  // Which of dy, dh_n, dc_n backward gets (the others NULL = zeros).
  RnnTester& grads_in(bool dy, bool dh_n, bool dc_n) { gdy_ = dy, gdhn_ = dh_n, gdcn_ = dc_n; return *this; }
  // An optional output passed as NULL: h_n, c_n, dx, dh0, dc0, dw_ih, ...
  RnnTester& skip(const std::string& output) { skip_.insert(output); return *this; }
  // Pass x = NULL when dw_ih is skipped (and dy is given), w_ih = NULL when dx is.
  RnnTester& omit_unneeded_inputs(bool v = true) { omit_ = v; return *this; }
  RnnTester& batch_first(bool v = true) { bf_ = v; return *this; }
  RnnTester& half_of_wider(const std::string& operand, int half) { half_[operand] = half; return *this; }

  const RnnConfig& config() const { return c_; }
  std::string describe() const {
    std::ostringstream o;
    o << "rnn " << c_.describe() << (bias_ ? "" : " no-bias") << (no_h0_ ? " no-h0" : "")
      << " grads_in(dy,dh_n,dc_n)=" << gdy_ << gdhn_ << gdcn_ << (bf_ ? " batch-first" : "")
      << (omit_ ? " omit-inputs" : "") << (null_exec_ ? " ex=NULL" : "");
    for (const auto& s : skip_) o << " " << s << "=NULL";
    for (const auto& h : half_) o << " " << h.first << "=half" << h.second;
    o << " " << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Problem p = make_problem();
    const auto before = input_bytes(p, false);
    run_forward(p, threads_);
    const RnnState want = reference_forward(c_, reference_params(p));
    const double tol = rtol(forward_terms());
    EXPECT_TRUE(all_close("y", p.y.values(), want.y, plus_one(want.y), tol));
    EXPECT_TRUE(p.y.outside_untouched("y"));
    if (!skip_.count("h_n")) {
      EXPECT_TRUE(all_close("h_n", p.h_n.values(), want.h_n, plus_one(want.h_n), tol));
      EXPECT_TRUE(p.h_n.outside_untouched("h_n"));
    }
    if (c_.lstm() && !skip_.count("c_n")) {
      EXPECT_TRUE(all_close("c_n", p.c_n.values(), want.c_n, plus_one(want.c_n), tol));
      EXPECT_TRUE(p.c_n.outside_untouched("c_n"));
    }
    EXPECT_TRUE(p.reserve.outside_untouched("reserve"));
    EXPECT_EQ(input_bytes(p, false), before) << "an input was modified";
  }

  // Every requested gradient against central differences of the double
  // reference on L = sum(y gy) + sum(h_n ghn) + sum(c_n gcn), where gy, ghn,
  // gcn are dy, dh_n, dc_n (zeros where passed as NULL).
  void test_backward() const {
    SCOPED_TRACE(describe());
    Problem p = make_problem();
    run_forward(p, threads_);
    const auto before = input_bytes(p, true);
    run_backward(p, threads_, skip_);
    EXPECT_EQ(input_bytes(p, true), before) << "an input (x, weights, reserve, dy, dh_n, dc_n) was modified";

    // Dense float64 copies of the parameters the reference differentiates.
    const RnnParams base = reference_params(p);
    auto dense = [](const Vec& v) {
      HostTensor t({static_cast<int64_t>(v.size())}, KN_FLOAT64);
      t.set_values(v);
      return t;
    };
    HostTensor X = dense(base.x), H0 = dense(base.h0), C0 = dense(base.c0), Wih = dense(base.w_ih),
               Whh = dense(base.w_hh), Bih = dense(base.b_ih), Bhh = dense(base.b_hh),
               Whr = dense(base.w_hr);
    const Vec gy = gdy_ ? p.dy.values() : Vec(static_cast<size_t>(c_.rows() * c_.Hout()), 0.0);
    const Vec ghn = gdhn_ ? p.dh_n.values() : Vec(static_cast<size_t>(c_.seqs() * c_.Hout()), 0.0);
    const Vec gcn = gdcn_ && c_.lstm() ? p.dc_n.values() : Vec(static_cast<size_t>(c_.seqs() * c_.H), 0.0);
    auto loss = [&]() {
      const RnnState s = reference_forward(
          c_, {X.values(), H0.values(), C0.values(), Wih.values(), Whh.values(), Bih.values(),
               Bhh.values(), Whr.values()});
      return dot(s.y, gy) + dot(s.h_n, ghn) + dot(s.c_n, gcn);
    };
    // float64: the differences are accurate to ~1e-9; float32 results carry
    // the float rounding of every step.
    const bool f64 = dtype_ == KN_FLOAT64;
    const double tol = f64 ? 1e-7 : 60.0 * static_cast<double>(forward_terms()) * unit_roundoff(dtype_);
    auto check = [&](const char* name, const Vec& got, HostTensor& param, auto& out) {
      if (skip_.count(name)) return;
      SCOPED_TRACE(name);
      EXPECT_TRUE(all_close(std::string(name) + " vs finite differences", got,
                            numeric_gradient(param, loss), {}, tol, tol));
      EXPECT_TRUE(out.outside_untouched(name));
    };
    check("dx", p.dx.values(), X, p.dx);
    check("dh0", p.dh0.values(), H0, p.dh0);
    if (c_.lstm()) check("dc0", p.dc0.values(), C0, p.dc0);
    check("dw_ih", p.dw_ih.values(), Wih, p.dw_ih);
    check("dw_hh", p.dw_hh.values(), Whh, p.dw_hh);
    check("db_ih", p.db_ih.values(), Bih, p.db_ih);
    check("db_hh", p.db_hh.values(), Bhh, p.db_hh);
    if (c_.P > 0) check("dw_hr", p.dw_hr.values(), Whr, p.dw_hr);
  }

  // Optional outputs: y does not depend on whether h_n / c_n are requested,
  // and no gradient depends on which others are requested, nor on x / w_ih
  // being passed when they are not needed (bitwise: the same computation).
  void test_optional_outputs() const {
    SCOPED_TRACE(describe());
    Problem full = make_problem();
    run_forward(full, threads_);
    for (const char* out : {"h_n", "c_n"}) {
      if (!c_.lstm() && std::string(out) == "c_n") continue;
      Problem p = make_problem();
      run_forward(p, threads_, {out});
      EXPECT_TRUE(all_equal(std::string("y with ") + out + " = NULL", p.y.values(), full.y.values()));
      EXPECT_TRUE(all_equal(std::string("reserve with ") + out + " = NULL", p.reserve.values(),
                            full.reserve.values()));
    }
    run_backward(full, threads_, {});
    const auto all = grad_values(full);
    const std::vector<std::string> names = grad_names();
    for (const std::string& skipped : names) {
      for (bool omit : {false, true}) {
        SCOPED_TRACE(skipped + " = NULL" + (omit ? ", unneeded inputs NULL" : ""));
        Problem p = make_problem();
        run_forward(p, threads_);
        run_backward(p, threads_, {skipped}, omit);
        const auto got = grad_values(p);
        for (size_t k = 0; k < names.size(); ++k) {
          if (names[k] == skipped) {
            for (double v : got[k]) ASSERT_TRUE(std::isnan(v)) << names[k] << " was written although NULL";
            continue;
          }
          EXPECT_TRUE(all_equal(names[k], got[k], all[k]));
        }
      }
    }
    // Only one output requested at a time.
    for (const std::string& only : names) {
      SCOPED_TRACE("only " + only);
      std::set<std::string> skip(names.begin(), names.end());
      skip.erase(only);
      Problem p = make_problem();
      run_forward(p, threads_);
      run_backward(p, threads_, skip, true);
      const auto got = grad_values(p);
      for (size_t k = 0; k < names.size(); ++k)
        if (names[k] == only) {
          EXPECT_TRUE(all_equal(only, got[k], all[k]));
        }
    }
  }

  // 1 and 2 threads agree within rounding (the GEMM splits differ); the same
  // thread count twice gives the same bits.
  void test_threads() const {
    SCOPED_TRACE(describe());
    std::vector<Vec> res[3];
    const int32_t counts[3] = {1, 2, 2};
    for (int k = 0; k < 3; ++k) {
      Problem p = make_problem();
      run_forward(p, counts[k]);
      run_backward(p, counts[k], {});
      res[k] = {p.y.values(), p.h_n.values(), p.c_n.values()};
      for (Vec& g : grad_values(p)) res[k].push_back(std::move(g));
    }
    // A second 1-thread run.
    Problem p = make_problem();
    run_forward(p, 1);
    run_backward(p, 1, {});
    std::vector<Vec> again = {p.y.values(), p.h_n.values(), p.c_n.values()};
    for (Vec& g : grad_values(p)) again.push_back(std::move(g));
    const double tol = rtol(forward_terms() * std::max<int64_t>(1, c_.seqs()));
    for (size_t i = 0; i < res[0].size(); ++i) {
      const std::string what = "result " + std::to_string(i);
      EXPECT_TRUE(all_equal(what + " (1 thread, twice)", again[i], res[0][i]));
      EXPECT_TRUE(all_equal(what + " (2 threads, twice)", res[1][i], res[2][i]));
      EXPECT_TRUE(all_close(what + " (1 vs 2 threads)", res[1][i], res[0][i], plus_one(res[0][i]), tol));
    }
  }

 private:
  struct Problem {
    SeqTensor x, y, dy, dx;
    HostTensor h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, h_n, c_n, reserve, dh_n, dc_n, dh0, dc0,
        dw_ih, dw_hh, db_ih, db_hh, dw_hr;
  };

  static Vec plus_one(const Vec& v) {
    Vec m(v.size());
    for (size_t i = 0; i < v.size(); ++i) m[i] = 1.0 + std::fabs(v[i]);
    return m;
  }
  // Products and activations behind one y element over the whole sequence.
  int64_t forward_terms() const { return c_.steps() * (c_.I + c_.Hout() + 4) + c_.H + 1; }

  kn_rnn_params params() const {
    kn_rnn_params p;
    std::memset(&p, 0, sizeof p);
    p.mode = c_.mode;
    p.reverse = c_.reverse ? 1 : 0;
    p.hidden_size = c_.H;
    p.proj_size = c_.P;
    p.batch_sizes = c_.packed() ? c_.batch_sizes.data() : nullptr;
    p.num_steps = c_.packed() ? c_.steps() : 0;
    return p;
  }
  SeqTensor seq(const std::string& name, int64_t features) const {
    auto it = half_.find(name);
    return SeqTensor(c_.seq_shape(features), dtype_, layout_of(name), bf_,
                     it == half_.end() ? -1 : it->second);
  }

  Problem make_problem() const {
    Rng rng(seed_);
    const int64_t N = c_.seqs(), H = c_.H, Hout = c_.Hout(), GH = c_.GH(), I = c_.I;
    const double k = 1.0 / std::sqrt(static_cast<double>(H));  // torch's init range
    Problem p;
    p.x = seq("x", I), p.x.fill_random(rng);
    p.h0 = make("h0", {N, Hout}), p.h0.fill_random(rng);
    p.c0 = make("c0", {N, H}), p.c0.fill_random(rng);
    p.w_ih = make("w_ih", {GH, I}), p.w_ih.fill_random(rng, -k, k);
    p.w_hh = make("w_hh", {GH, Hout}), p.w_hh.fill_random(rng, -k, k);
    p.b_ih = make("b_ih", {GH}), p.b_ih.fill_random(rng, -k, k);
    p.b_hh = make("b_hh", {GH}), p.b_hh.fill_random(rng, -k, k);
    p.w_hr = make("w_hr", {c_.P, H}), p.w_hr.fill_random(rng, -k, k);
    p.dy = seq("dy", Hout), p.dy.fill_random(rng);
    p.dh_n = make("dh_n", {N, Hout}), p.dh_n.fill_random(rng);
    p.dc_n = make("dc_n", {N, H}), p.dc_n.fill_random(rng);
    p.y = seq("y", Hout), p.y.fill(std::nan(""));
    p.dx = seq("dx", I), p.dx.fill(std::nan(""));
    p.h_n = make_output("h_n", {N, Hout});
    p.c_n = make_output("c_n", {N, H});
    p.reserve = HostTensor({c_.rows(), c_.reserve_cols()}, dtype_);  // contiguous
    p.reserve.fill(std::nan(""));
    p.dh0 = make_output("dh0", {N, Hout});
    p.dc0 = make_output("dc0", {N, H});
    p.dw_ih = make_output("dw_ih", {GH, I});
    p.dw_hh = make_output("dw_hh", {GH, Hout});
    p.db_ih = make_output("db_ih", {GH});
    p.db_hh = make_output("db_hh", {GH});
    p.dw_hr = make_output("dw_hr", {c_.P, H});
    return p;
  }

  // What the reference sees: the tensors' values, zeros for NULL ones.
  RnnParams reference_params(const Problem& p) const {
    auto zeros = [](const HostTensor& t) { return Vec(static_cast<size_t>(t.numel()), 0.0); };
    return {p.x.values(),
            no_h0_ ? zeros(p.h0) : p.h0.values(),
            no_h0_ || !c_.lstm() ? zeros(p.c0) : p.c0.values(),
            p.w_ih.values(),
            p.w_hh.values(),
            bias_ ? p.b_ih.values() : zeros(p.b_ih),
            bias_ ? p.b_hh.values() : zeros(p.b_hh),
            p.w_hr.values()};
  }

  std::vector<std::vector<unsigned char>> input_bytes(const Problem& p, bool backward) const {
    std::vector<std::vector<unsigned char>> v = {p.x.raw(), p.h0.raw(), p.c0.raw(), p.w_ih.raw(),
                                                 p.w_hh.raw(), p.b_ih.raw(), p.b_hh.raw(), p.w_hr.raw()};
    if (backward)
      for (auto b : {p.reserve.raw(), p.dy.raw(), p.dh_n.raw(), p.dc_n.raw()}) v.push_back(b);
    return v;
  }

  void run_forward(Problem& p, int32_t threads, const std::set<std::string>& skip = {}) const {
    std::set<std::string> s = skip;
    s.insert(skip_.begin(), skip_.end());
    const kn_rnn_params prm = params();
    const kn_tensor x = p.x.kn(), h0 = p.h0.kn(), c0 = p.c0.kn(), w_ih = p.w_ih.kn(),
                    w_hh = p.w_hh.kn(), b_ih = p.b_ih.kn(), b_hh = p.b_hh.kn(), w_hr = p.w_hr.kn(),
                    y = p.y.kn(), h_n = p.h_n.kn(), c_n = p.c_n.kn(), res = p.reserve.kn();
    const bool lstm = c_.lstm();
    const kn_exec ex = make_exec(threads);
    KN_ASSERT_OK(kn_rnn_forward(&prm, &x, no_h0_ ? nullptr : &h0, lstm && !no_h0_ ? &c0 : nullptr,
                                &w_ih, &w_hh, bias_ ? &b_ih : nullptr, bias_ ? &b_hh : nullptr,
                                c_.P > 0 ? &w_hr : nullptr, &y, s.count("h_n") ? nullptr : &h_n,
                                lstm && !s.count("c_n") ? &c_n : nullptr, &res, exec_ptr(ex)));
  }

  void run_backward(Problem& p, int32_t threads, const std::set<std::string>& skip,
                    bool omit = false) const {
    std::set<std::string> s = skip;
    s.insert(skip_.begin(), skip_.end());
    omit = omit || omit_;
    const kn_rnn_params prm = params();
    const kn_tensor x = p.x.kn(), w_ih = p.w_ih.kn(), w_hh = p.w_hh.kn(), w_hr = p.w_hr.kn(),
                    res = p.reserve.kn(), dy = p.dy.kn(), dh_n = p.dh_n.kn(), dc_n = p.dc_n.kn(),
                    dx = p.dx.kn(), dh0 = p.dh0.kn(), dc0 = p.dc0.kn(), dw_ih = p.dw_ih.kn(),
                    dw_hh = p.dw_hh.kn(), db_ih = p.db_ih.kn(), db_hh = p.db_hh.kn(),
                    dw_hr = p.dw_hr.kn();
    const bool lstm = c_.lstm(), proj = c_.P > 0;
    auto out = [&](const char* name, const kn_tensor& t) { return s.count(name) ? nullptr : &t; };
    // x carries the sequence's shape when dy is NULL.
    const bool pass_x = !omit || !s.count("dw_ih") || !gdy_;
    const bool pass_w_ih = !omit || !s.count("dx");
    const kn_exec ex = make_exec(threads);
    KN_ASSERT_OK(kn_rnn_backward(
        &prm, pass_x ? &x : nullptr, pass_w_ih ? &w_ih : nullptr, &w_hh, proj ? &w_hr : nullptr,
        &res, gdy_ ? &dy : nullptr, gdhn_ ? &dh_n : nullptr, lstm && gdcn_ ? &dc_n : nullptr,
        out("dx", dx), out("dh0", dh0), lstm ? out("dc0", dc0) : nullptr, out("dw_ih", dw_ih),
        out("dw_hh", dw_hh), out("db_ih", db_ih), out("db_hh", db_hh),
        proj ? out("dw_hr", dw_hr) : nullptr, exec_ptr(ex)));
  }

  std::vector<std::string> grad_names() const {
    std::vector<std::string> n = {"dx", "dh0", "dw_ih", "dw_hh", "db_ih", "db_hh"};
    if (c_.lstm()) n.push_back("dc0");
    if (c_.P > 0) n.push_back("dw_hr");
    return n;
  }
  std::vector<Vec> grad_values(const Problem& p) const {
    std::vector<Vec> v = {p.dx.values(), p.dh0.values(), p.dw_ih.values(),
                          p.dw_hh.values(), p.db_ih.values(), p.db_hh.values()};
    if (c_.lstm()) v.push_back(p.dc0.values());
    if (c_.P > 0) v.push_back(p.dw_hr.values());
    return v;
  }

  RnnConfig c_;
  bool bias_ = true, no_h0_ = false, gdy_ = true, gdhn_ = true, gdcn_ = true, omit_ = false, bf_ = false;
  std::set<std::string> skip_;
  std::map<std::string, int> half_;
};

// ------------------------------------------------------------ modes x directions x packing

const int32_t kModes[] = {KN_RNN_TANH, KN_RNN_RELU, KN_LSTM, KN_GRU};

// mode, reverse, packed, bias, h0 given, dtype
using ModeParam = std::tuple<int32_t, bool, bool, bool, bool, int32_t>;

class RnnModes : public ::testing::TestWithParam<ModeParam> {
 protected:
  RnnTester tester() const {
    const auto& [mode, rev, packed, bias, h0, dtype] = GetParam();
    RnnTester t;
    t.mode(mode).direction(rev).steps(4).batch(3).input(3).hidden(3).bias(bias).no_h0(!h0).dtype(dtype);
    if (packed) t.packed({3, 2, 2, 1});
    return t;
  }
};

std::string mode_param_name(const ::testing::TestParamInfo<ModeParam>& info) {
  const auto& [mode, rev, packed, bias, h0, dtype] = info.param;
  return std::string(mode_str(mode)) + (rev ? "_reverse" : "_forward") + (packed ? "_packed" : "_padded") +
         (bias ? "_bias" : "_nobias") + (h0 ? "_h0" : "_noh0") + "_" + dtype_str(dtype);
}

TEST_P(RnnModes, Forward) { tester().test_forward(); }
TEST_P(RnnModes, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(
    Rnn, RnnModes,
    ::testing::Combine(::testing::ValuesIn(kModes), ::testing::Bool(), ::testing::Bool(),
                       ::testing::Bool(), ::testing::Bool(), ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
    mode_param_name);

// ------------------------------------------------------------ LSTM projection

// proj size, reverse, packed, dtype
using ProjParam = std::tuple<int64_t, bool, bool, int32_t>;
class RnnProj : public ::testing::TestWithParam<ProjParam> {
 protected:
  RnnTester tester() const {
    const auto& [P, rev, packed, dtype] = GetParam();
    RnnTester t;
    t.mode(KN_LSTM).proj(P).direction(rev).steps(3).batch(3).input(3).hidden(4).dtype(dtype);
    if (packed) t.packed({3, 3, 1});
    return t;
  }
};
std::string proj_param_name(const ::testing::TestParamInfo<ProjParam>& info) {
  const auto& [P, rev, packed, dtype] = info.param;
  return "P" + std::to_string(P) + (rev ? "_reverse" : "_forward") + (packed ? "_packed" : "_padded") + "_" +
         dtype_str(dtype);
}
TEST_P(RnnProj, Forward) { tester().test_forward(); }
TEST_P(RnnProj, Backward) { tester().test_backward(); }
TEST_P(RnnProj, BackwardNoH0NoBias) { tester().no_h0().bias(false).test_backward(); }
INSTANTIATE_TEST_SUITE_P(Rnn, RnnProj,
                         ::testing::Combine(::testing::Values(1, 3), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         proj_param_name);

// ------------------------------------------------------------ layouts

using Scenario = TesterCase<RnnTester>;

std::vector<Scenario> layout_scenarios() {
  const Layout T = Layout::transpose(), S2 = Layout::sliced(2), S3 = Layout::sliced(3),
               R = Layout::reverse();
  return {
      {"contiguous", [](RnnTester&) {}},
      {"transposed_x", [](RnnTester& t) { t.transpose("x"); }},
      {"sliced_x", [](RnnTester& t) { t.slice("x"); }},
      {"reversed_x", [](RnnTester& t) { t.reverse("x"); }},
      {"broadcast_x_dim0", [](RnnTester& t) { t.broadcast("x", 1u); }},
      {"x_half_of_wider", [](RnnTester& t) { t.half_of_wider("x", 1); }},
      {"batch_first", [](RnnTester& t) { t.batch_first(); }},
      {"batch_first_sliced", [S2](RnnTester& t) { t.batch_first().layout("x", S2).layout("y", S2); }},
      // The two directions of a bidirectional layer write the halves of one output.
      {"y_first_half", [](RnnTester& t) { t.half_of_wider("y", 0).half_of_wider("dx", 0); }},
      {"y_second_half_reverse", [](RnnTester& t) { t.reverse().half_of_wider("y", 1).half_of_wider("dy", 1); }},
      {"transposed_weights", [T](RnnTester& t) { t.layout("w_ih", T).layout("w_hh", T).layout("w_hr", T); }},
      {"sliced_weights", [S2, S3](RnnTester& t) { t.layout("w_ih", S2).layout("w_hh", S3).layout("w_hr", S2); }},
      {"reversed_weights", [R, T](RnnTester& t) { t.layout("w_ih", R).layout("w_hh", T.r()).layout("w_hr", R); }},
      {"strided_biases", [S2, R](RnnTester& t) { t.layout("b_ih", S2.r()).layout("b_hh", R); }},
      {"broadcast_biases", [](RnnTester& t) { t.broadcast("b_ih", 1u).broadcast("b_hh", 1u); }},
      {"strided_state", [T, S2, R](RnnTester& t) {
         t.layout("h0", T).layout("c0", R).layout("h_n", S2).layout("c_n", T.r());
       }},
      {"broadcast_h0", [](RnnTester& t) { t.broadcast("h0", 1u).broadcast("c0", 3u); }},
      {"transposed_dy", [](RnnTester& t) { t.transpose("dy"); }},
      {"sliced_dy", [S3](RnnTester& t) { t.layout("dy", S3); }},
      {"reversed_dy", [R](RnnTester& t) { t.layout("dy", R); }},
      {"broadcast_dy", [](RnnTester& t) { t.broadcast("dy", 2u); }},
      {"strided_dstate", [T, S2](RnnTester& t) { t.layout("dh_n", T).layout("dc_n", S2.r()); }},
      {"transposed_outputs", [T](RnnTester& t) {
         for (const char* o : {"y", "h_n", "c_n", "dx", "dh0", "dc0", "dw_ih", "dw_hh", "dw_hr"}) t.layout(o, T);
       }},
      {"sliced_outputs", [S2](RnnTester& t) {
         for (const char* o : {"y", "h_n", "c_n", "dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh", "dw_hr"})
           t.layout(o, S2);
       }},
      {"reversed_outputs", [R](RnnTester& t) {
         for (const char* o : {"y", "h_n", "c_n", "dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh", "dw_hr"})
           t.layout(o, R);
       }},
      {"everything_strided", [T, S2, R](RnnTester& t) {
         t.layout("x", T.s(2)).layout("w_ih", R.s(2)).layout("w_hh", T).layout("w_hr", S2.r())
             .layout("b_ih", R).layout("h0", T.r()).layout("c0", S2).layout("dy", T.r())
             .layout("dh_n", R).layout("y", T.s(2)).layout("dx", S2.r()).layout("dw_ih", T)
             .layout("dw_hh", S2).layout("db_hh", R).layout("dh0", T).layout("dc0", R);
       }},
      {"threads_2", [](RnnTester& t) { t.threads(2); }},
      {"exec_null", [](RnnTester& t) { t.null_exec(); }},
  };
}

// Two base calls: an LSTM with projection (padded) and a GRU (packed).
using LayoutParam = std::tuple<Scenario, bool, int32_t>;
class RnnLayouts : public ::testing::TestWithParam<LayoutParam> {
 protected:
  RnnTester tester() const {
    RnnTester t;
    if (std::get<1>(GetParam()))
      t.mode(KN_GRU).packed({3, 3, 2, 1}).input(4).hidden(3);
    else
      t.mode(KN_LSTM).steps(3).batch(2).input(4).hidden(4).proj(2);
    t.dtype(std::get<2>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};
TEST_P(RnnLayouts, Forward) { tester().test_forward(); }
TEST_P(RnnLayouts, Backward) { tester().test_backward(); }
INSTANTIATE_TEST_SUITE_P(Rnn, RnnLayouts,
                         ::testing::Combine(::testing::ValuesIn(layout_scenarios()), ::testing::Bool(),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         [](const ::testing::TestParamInfo<LayoutParam>& p) {
                           return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_gru_packed" : "_lstm_proj") +
                                  "_" + dtype_str(std::get<2>(p.param));
                         });

// ------------------------------------------------------------ sizes

struct Sizes {
  std::string name;
  int64_t T, N, I, H;
  std::vector<int64_t> batch_sizes;  // packed when not empty
};
void PrintTo(const Sizes& s, std::ostream* os) { *os << s.name; }

using SizeParam = std::tuple<Sizes, int32_t, int32_t>;  // sizes, mode, dtype
class RnnSizes : public ::testing::TestWithParam<SizeParam> {
 protected:
  RnnTester tester() const {
    const Sizes& s = std::get<0>(GetParam());
    RnnTester t;
    t.mode(std::get<1>(GetParam())).steps(s.T).batch(s.N).input(s.I).hidden(s.H).dtype(std::get<2>(GetParam()));
    if (!s.batch_sizes.empty()) t.packed(s.batch_sizes);
    return t;
  }
};
// T = 0: y empty, h_n = h0, c_n = c0, dh0 = dh_n, the weight gradients 0
// (outputs start as NaN, so "not written" fails).
TEST_P(RnnSizes, Forward) {
  tester().test_forward();
  tester().reverse().no_h0().test_forward();
}
TEST_P(RnnSizes, Backward) {
  tester().test_backward();
  tester().reverse().bias(false).grads_in(true, false, true).test_backward();
}
INSTANTIATE_TEST_SUITE_P(
    Rnn, RnnSizes,
    ::testing::Combine(::testing::Values(Sizes{"T1", 1, 3, 2, 3, {}}, Sizes{"T0", 0, 3, 2, 3, {}},
                                         Sizes{"N1", 4, 1, 2, 3, {}}, Sizes{"N0", 3, 0, 2, 3, {}},
                                         Sizes{"I1_H1", 3, 2, 1, 1, {}}, Sizes{"I0", 2, 2, 0, 3, {}},
                                         // H over the gate kernels' block of 16, not a multiple of it
                                         Sizes{"H19", 2, 2, 2, 19, {}},
                                         Sizes{"packed_equal_sizes", 0, 0, 2, 3, {3, 3, 3}},
                                         Sizes{"packed_repeated", 0, 0, 2, 3, {4, 4, 2, 2, 2, 1}},
                                         Sizes{"packed_one_step", 0, 0, 2, 3, {5}},
                                         Sizes{"packed_one_sequence", 0, 0, 2, 3, {1, 1, 1, 1}},
                                         Sizes{"packed_one_row", 0, 0, 3, 2, {1}}),
                       ::testing::ValuesIn(kModes), ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
    [](const ::testing::TestParamInfo<SizeParam>& p) {
      return std::get<0>(p.param).name + "_" + mode_str(std::get<1>(p.param)) + "_" +
             dtype_str(std::get<2>(p.param));
    });

// ------------------------------------------------------------ dy, dh_n, dc_n given or NULL

struct GradsIn {
  const char* name;
  bool dy, dh_n, dc_n;
};
void PrintTo(const GradsIn& g, std::ostream* os) { *os << g.name; }
class RnnGradInputs : public ::testing::TestWithParam<std::tuple<GradsIn, int32_t>> {};
TEST_P(RnnGradInputs, Float64) {
  const GradsIn g = std::get<0>(GetParam());
  RnnTester t;
  t.mode(std::get<1>(GetParam())).steps(3).batch(2).input(2).hidden(3).grads_in(g.dy, g.dh_n, g.dc_n)
      .dtype(KN_FLOAT64);
  if (std::get<1>(GetParam()) == KN_LSTM) t.proj(2);
  t.test_backward();
  t.packed({2, 1, 1}).reverse().test_backward();
}
INSTANTIATE_TEST_SUITE_P(Rnn, RnnGradInputs,
                         ::testing::Combine(::testing::Values(GradsIn{"all", true, true, true},
                                                              GradsIn{"no_dy", false, true, true},
                                                              GradsIn{"no_dh_n", true, false, true},
                                                              GradsIn{"no_dc_n", true, true, false},
                                                              GradsIn{"only_dy", true, false, false},
                                                              GradsIn{"only_dh_n", false, true, false},
                                                              GradsIn{"only_dc_n", false, false, true},
                                                              GradsIn{"none", false, false, false}),
                                            ::testing::ValuesIn(kModes)),
                         [](const ::testing::TestParamInfo<std::tuple<GradsIn, int32_t>>& p) {
                           return std::string(std::get<0>(p.param).name) + "_" + mode_str(std::get<1>(p.param));
                         });

// ------------------------------------------------------------ optional outputs

class RnnOptionalOutputs : public ::testing::TestWithParam<std::tuple<int32_t, bool>> {};
TEST_P(RnnOptionalOutputs, OthersUnchanged) {
  RnnTester t;
  t.mode(std::get<0>(GetParam())).steps(3).batch(3).input(3).hidden(4).dtype(KN_FLOAT64);
  if (std::get<0>(GetParam()) == KN_LSTM) t.proj(2);
  if (std::get<1>(GetParam())) t.packed({3, 2, 1});
  t.test_optional_outputs();
}
INSTANTIATE_TEST_SUITE_P(Rnn, RnnOptionalOutputs,
                         ::testing::Combine(::testing::ValuesIn(kModes), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<int32_t, bool>>& p) {
                           return std::string(mode_str(std::get<0>(p.param))) +
                                  (std::get<1>(p.param) ? "_packed" : "_padded");
                         });

TEST(Rnn, BackwardWithOnlyDyCarryingTheShape) {
  // x = NULL (no dw_ih), the layout from dy; w_ih = NULL (no dx).
  RnnTester().mode(KN_LSTM).proj(2).hidden(3).skip("dw_ih").skip("dx").omit_unneeded_inputs()
      .dtype(KN_FLOAT64).test_backward();
  RnnTester().mode(KN_GRU).packed({3, 1}).skip("dw_ih").omit_unneeded_inputs().dtype(KN_FLOAT64)
      .test_backward();
}

// ------------------------------------------------------------ random sweep

class RnnRandom : public ::testing::TestWithParam<int> {};
TEST_P(RnnRandom, ForwardAndBackward) {
  Rng rng(2000 + static_cast<uint64_t>(GetParam()));
  RnnTester t;
  const int32_t mode = kModes[rng.integer(0, 3)];
  const int64_t H = rng.integer(1, 5);
  t.mode(mode).hidden(H).input(rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 5)).direction(rng.coin())
      .bias(rng.coin()).no_h0(rng.coin()).grads_in(rng.coin(), rng.coin(), rng.coin())
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()));
  if (mode == KN_LSTM && H > 1 && rng.coin()) t.proj(rng.integer(1, H - 1));
  if (rng.coin()) {
    std::vector<int64_t> bs(static_cast<size_t>(rng.integer(1, 5)));
    int64_t b = rng.integer(1, 4);
    for (auto& v : bs) v = b = rng.integer(1, b);
    t.packed(bs);
  } else {
    t.steps(rng.integer(0, 4)).batch(rng.integer(1, 3)).batch_first(rng.coin());
  }
  for (const char* in : {"x", "h0", "c0", "w_ih", "w_hh", "w_hr", "dy", "dh_n", "dc_n"})
    t.layout(in, random_layout(rng, in[0] == 'x' || (in[0] == 'd' && in[1] == 'y') ? 3 : 2, true));
  for (const char* in : {"b_ih", "b_hh"}) t.layout(in, random_layout(rng, 1, true));
  for (const char* out : {"y", "dx"}) t.layout(out, random_layout(rng, 3, false));
  for (const char* out : {"h_n", "c_n", "dh0", "dc0", "dw_ih", "dw_hh", "dw_hr"})
    t.layout(out, random_layout(rng, 2, false));
  for (const char* out : {"db_ih", "db_hh"}) t.layout(out, random_layout(rng, 1, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(Rnn, RnnRandom, ::testing::Range(0, 24));

// ------------------------------------------------------------ threads, larger shapes

TEST(Rnn, OneAndTwoThreadsAgree) {
  // From 2^20 multiply-adds per step the steps run on a team of threads, each
  // owning blocks of 32 hidden units (kernels/cpu/rnn.cpp, StepTeam): units
  // split 32 / 64 (H = 96), gate columns off the packed panels (GRU H = 80),
  // a projection (its own split of P), packed reverse with rows joining late.
  RnnTester().mode(KN_LSTM).steps(5).batch(64).input(48).hidden(96).dtype(KN_FLOAT32).test_threads();
  RnnTester().mode(KN_LSTM).steps(4).batch(40).input(24).hidden(70).proj(33).reverse()
      .dtype(KN_FLOAT64).test_threads();
  RnnTester().mode(KN_GRU).packed({64, 64, 50, 17, 3}).input(32).hidden(80).dtype(KN_FLOAT32)
      .transpose("x").test_threads();
  RnnTester().mode(KN_RNN_RELU).steps(6).batch(50).input(40).hidden(200).dtype(KN_FLOAT64)
      .test_threads();
  RnnTester().mode(KN_LSTM).packed({64, 60, 41, 41, 7}).input(16).hidden(128).proj(64).reverse()
      .dtype(KN_FLOAT32).test_threads();
  RnnTester().mode(KN_GRU).steps(3).batch(64).input(8).hidden(160).dtype(KN_FLOAT64).test_threads();
}

TEST(Rnn, LargerShapesAgainstReference) {
  RnnTester().mode(KN_LSTM).steps(5).batch(33).input(40).hidden(70).proj(20).threads(2)
      .dtype(KN_FLOAT32).layout("w_ih", Layout::transpose()).test_forward();
  RnnTester().mode(KN_GRU).packed({37, 30, 30, 2}).input(21).hidden(45).threads(2).reverse()
      .dtype(KN_FLOAT64).test_forward();
  // On a team of two threads (2^20 multiply-adds per step and more).
  RnnTester().mode(KN_LSTM).packed({64, 60, 41, 41, 7}).input(16).hidden(128).proj(64).reverse()
      .threads(2).dtype(KN_FLOAT32).test_forward();
  RnnTester().mode(KN_LSTM).steps(3).batch(64).input(8).hidden(96).threads(2).dtype(KN_FLOAT64)
      .test_forward();
  RnnTester().mode(KN_GRU).steps(3).batch(64).input(8).hidden(80).threads(2).dtype(KN_FLOAT32)
      .no_h0().test_forward();
  // Gradients at a size where each gate kernel handles two blocks of 16 and
  // a remainder, against finite differences.
  RnnTester().mode(KN_LSTM).steps(2).batch(2).input(2).hidden(37).proj(5).dtype(KN_FLOAT64)
      .threads(2).test_backward();
}

// Both directions of a bidirectional layer into one (T, N, 2 H) output,
// through the strides: each call writes its half and nothing else.
TEST(Rnn, BidirectionalHalvesOfOneOutput) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    RnnConfig c;
    c.mode = KN_GRU, c.T = 4, c.N = 3, c.I = 3, c.H = 4;
    Rng rng(77);
    HostTensor x({c.T, c.N, c.I}, dtype), w_ih({c.GH(), c.I}, dtype), w_hh({c.GH(), c.H}, dtype),
        out({c.T, c.N, 2 * c.H}, dtype), res({c.rows(), c.reserve_cols()}, dtype);
    x.fill_random(rng), w_ih.fill_random(rng, -0.5, 0.5), w_hh.fill_random(rng, -0.5, 0.5);
    out.fill(std::nan(""));
    RnnState want[2];
    for (int dir = 0; dir < 2; ++dir) {
      c.reverse = dir == 1;
      const kn_rnn_params p{c.mode, dir, c.H, 0, nullptr, 0};
      kn_tensor y = out.kn();
      y.shape[2] = c.H;
      y.data = static_cast<char*>(y.data) + dir * c.H * (dtype == KN_FLOAT32 ? 4 : 8);
      const kn_tensor xk = x.kn(), wi = w_ih.kn(), wh = w_hh.kn(), rk = res.kn();
      KN_ASSERT_OK(kn_rnn_forward(&p, &xk, nullptr, nullptr, &wi, &wh, nullptr, nullptr, nullptr, &y,
                                  nullptr, nullptr, &rk, nullptr));
      const Vec zeros_g(static_cast<size_t>(c.GH()), 0.0);
      want[dir] = reference_forward(c, {x.values(), Vec(static_cast<size_t>(c.N * c.H), 0.0),
                                        Vec(static_cast<size_t>(c.N * c.H), 0.0), w_ih.values(),
                                        w_hh.values(), zeros_g, zeros_g, {}});
      // After the forward direction the second half is still NaN.
      if (dir == 0)
        for (int64_t i = 0; i < out.numel(); ++i)
          if ((i % (2 * c.H)) >= c.H) {
            ASSERT_TRUE(std::isnan(out.get(i))) << "wrote into the other half";
          }
    }
    const Vec got = out.values();
    for (int64_t r = 0; r < c.rows(); ++r)
      for (int64_t j = 0; j < c.H; ++j)
        for (int dir = 0; dir < 2; ++dir)
          EXPECT_NEAR(got[r * 2 * c.H + dir * c.H + j], want[dir].y[r * c.H + j], 1e-5)
              << dtype_str(dtype) << " row " << r << " unit " << j << " direction " << dir;
    EXPECT_TRUE(out.outside_untouched("y"));
  }
}

TEST(Rnn, PackedReverseStartsEachSequenceAtItsOwnEnd) {
  // A packed reverse direction starts each sequence at its own last step:
  // it differs from running forward over the padded, time-flipped input.
  RnnConfig c;
  c.mode = KN_RNN_TANH, c.I = 2, c.H = 2, c.reverse = true, c.batch_sizes = {2, 1};
  Rng rng(5);
  HostTensor x({3, 2}, KN_FLOAT64), w_ih({2, 2}, KN_FLOAT64), w_hh({2, 2}, KN_FLOAT64),
      y({3, 2}, KN_FLOAT64), h_n({2, 2}, KN_FLOAT64), res({3, c.reserve_cols()}, KN_FLOAT64);
  x.fill_random(rng), w_ih.fill_random(rng), w_hh.fill_random(rng);
  const kn_rnn_params p{KN_RNN_TANH, 1, 2, 0, c.batch_sizes.data(), 2};
  const kn_tensor xk = x.kn(), wi = w_ih.kn(), wh = w_hh.kn(), yk = y.kn(), hk = h_n.kn(), rk = res.kn();
  KN_ASSERT_OK(kn_rnn_forward(&p, &xk, nullptr, nullptr, &wi, &wh, nullptr, nullptr, nullptr, &yk, &hk,
                              nullptr, &rk, nullptr));
  // Sequence 1 has one step (row 1): its y and h_n are tanh(W_ih x) from a zero state.
  for (int64_t j = 0; j < 2; ++j) {
    const double a = w_ih.get(j * 2) * x.get(2) + w_ih.get(j * 2 + 1) * x.get(3);
    EXPECT_NEAR(y.get(1 * 2 + j), std::tanh(a), 1e-14);
    EXPECT_NEAR(h_n.get(1 * 2 + j), std::tanh(a), 1e-14);
  }
  // Sequence 0's h_n is its state after its first step (row 0), which came last.
  for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(h_n.get(j), y.get(j));
}

// ------------------------------------------------------------ reserve and workspace sizes

TEST(Rnn, ReserveColsPerMode) {
  struct Case {
    int32_t mode;
    int64_t H, P, cols;
  };
  // The layout of kernels/ops/rnn.hpp: gates G H | GRU's h parts 3 H | h' Hout | LSTM c' H | m H (P > 0).
  for (const Case& c : {Case{KN_RNN_TANH, 5, 0, 10}, Case{KN_RNN_RELU, 1, 0, 2}, Case{KN_LSTM, 5, 0, 30},
                        Case{KN_LSTM, 5, 2, 4 * 5 + 2 + 5 + 5}, Case{KN_GRU, 5, 0, 35},
                        Case{KN_LSTM, 1, 0, 6}, Case{KN_GRU, INT32_MAX, 0, int64_t(7) * INT32_MAX}}) {
    const kn_rnn_params p{c.mode, 0, c.H, c.P, nullptr, 0};
    int64_t cols = -1;
    KN_EXPECT_OK(kn_rnn_reserve_cols(&p, &cols));
    EXPECT_EQ(cols, c.cols) << mode_str(c.mode) << " H=" << c.H << " P=" << c.P;
    const kn_rnn_params rev{c.mode, 1, c.H, c.P, nullptr, 0};  // the direction does not matter
    KN_EXPECT_OK(kn_rnn_reserve_cols(&rev, &cols));
    EXPECT_EQ(cols, c.cols);
  }
}

TEST(Rnn, BackwardWorkspaceSizePerMode) {
  struct Case {
    int32_t mode;
    int64_t H, P, rows, N, elements;
  };
  const int64_t H = 6, r = 10, N = 3;
  // dgates rows GH | GRU dgates_h rows GH | P: dh_all rows P | dh N Hout | LSTM dc N H | P: dm N H
  for (const Case& c : {Case{KN_RNN_TANH, H, 0, r, N, r * H + N * H},
                        Case{KN_RNN_RELU, H, 0, r, N, r * H + N * H},
                        Case{KN_LSTM, H, 0, r, N, r * 4 * H + N * H + N * H},
                        Case{KN_LSTM, H, 2, r, N, r * 4 * H + r * 2 + N * 2 + N * H + N * H},
                        Case{KN_GRU, H, 0, r, N, 2 * r * 3 * H + N * H},
                        Case{KN_GRU, H, 0, 0, 0, 0}}) {
    for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
      const kn_rnn_params p{c.mode, 0, c.H, c.P, nullptr, 0};
      size_t bytes = 12345;
      KN_EXPECT_OK(kn_rnn_backward_workspace_size(&p, c.rows, c.N, dtype, &bytes));
      EXPECT_EQ(bytes, static_cast<size_t>(c.elements) * (dtype == KN_FLOAT32 ? 4 : 8))
          << mode_str(c.mode) << " P=" << c.P << " " << dtype_str(dtype);
    }
  }
  // A huge but representable size.
  const kn_rnn_params big{KN_RNN_TANH, 0, INT32_MAX, 0, nullptr, 0};
  size_t bytes = 0;
  KN_EXPECT_OK(kn_rnn_backward_workspace_size(&big, int64_t(1) << 20, 0, KN_FLOAT64, &bytes));
  EXPECT_EQ(bytes, static_cast<size_t>((int64_t(1) << 20) * INT32_MAX * 8));
}

// Each failing call leaves its out pointer alone and names the argument.
TEST(Rnn, ReserveColsAndWorkspaceErrors) {
  const kn_rnn_params ok{KN_LSTM, 0, 4, 2, nullptr, 0};
  auto expect = [](kn_status s, kn_status want, const std::string& fragment) {
    EXPECT_EQ(s, want) << kn_status_string(s) << " " << kn_last_error();
    const std::string m = kn_last_error();
    EXPECT_NE(m.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  };
  int64_t cols = -7;
  size_t bytes = 77;
  const std::string RC = "kn_rnn_reserve_cols: ", WS = "kn_rnn_backward_workspace_size: ";
  expect(kn_rnn_reserve_cols(nullptr, &cols), KN_ERR_INVALID_ARGUMENT, RC + "p: must not be NULL");
  expect(kn_rnn_reserve_cols(&ok, nullptr), KN_ERR_INVALID_ARGUMENT, RC + "cols");
  expect(kn_rnn_backward_workspace_size(nullptr, 3, 2, KN_FLOAT32, &bytes), KN_ERR_INVALID_ARGUMENT, WS + "p");
  expect(kn_rnn_backward_workspace_size(&ok, 3, 2, KN_FLOAT32, nullptr), KN_ERR_INVALID_ARGUMENT, WS + "bytes");
  expect(kn_rnn_backward_workspace_size(&ok, 3, 2, KN_INT32, &bytes), KN_ERR_UNSUPPORTED, WS + "dtype");
  expect(kn_rnn_backward_workspace_size(&ok, 3, 2, 99, &bytes), KN_ERR_UNSUPPORTED, WS + "dtype");
  expect(kn_rnn_backward_workspace_size(&ok, -1, 2, KN_FLOAT32, &bytes), KN_ERR_INVALID_ARGUMENT, WS + "rows, N");
  expect(kn_rnn_backward_workspace_size(&ok, 3, -2, KN_FLOAT32, &bytes), KN_ERR_INVALID_ARGUMENT, WS + "rows, N");
  expect(kn_rnn_backward_workspace_size(&ok, INT64_MAX, 0, KN_FLOAT32, &bytes), KN_ERR_INVALID_ARGUMENT, WS + "rows");
  expect(kn_rnn_backward_workspace_size(&ok, INT64_MAX / 2, INT64_MAX / 2, KN_FLOAT64, &bytes),
         KN_ERR_INVALID_ARGUMENT, WS + "rows");
  const kn_rnn_params wide{KN_GRU, 0, INT32_MAX, 0, nullptr, 0};
  expect(kn_rnn_backward_workspace_size(&wide, int64_t(1) << 30, 0, KN_FLOAT32, &bytes),
         KN_ERR_INVALID_ARGUMENT, WS + "rows");
  struct Bad {
    kn_rnn_params p;
    const char* field;
  };
  for (const Bad& b : {Bad{{4, 0, 4, 0, nullptr, 0}, "p->mode"}, Bad{{-1, 0, 4, 0, nullptr, 0}, "p->mode"},
                       Bad{{KN_GRU, 2, 4, 0, nullptr, 0}, "p->reverse"},
                       Bad{{KN_GRU, -1, 4, 0, nullptr, 0}, "p->reverse"},
                       Bad{{KN_GRU, 0, 0, 0, nullptr, 0}, "p->hidden_size"},
                       Bad{{KN_GRU, 0, -3, 0, nullptr, 0}, "p->hidden_size"},
                       Bad{{KN_GRU, 0, int64_t(INT32_MAX) + 1, 0, nullptr, 0}, "p->hidden_size"},
                       Bad{{KN_GRU, 0, 4, 2, nullptr, 0}, "p->proj_size"},
                       Bad{{KN_RNN_TANH, 0, 4, 1, nullptr, 0}, "p->proj_size"},
                       Bad{{KN_LSTM, 0, 4, 4, nullptr, 0}, "p->proj_size"},
                       Bad{{KN_LSTM, 0, 4, -1, nullptr, 0}, "p->proj_size"}}) {
    SCOPED_TRACE(b.field);
    expect(kn_rnn_reserve_cols(&b.p, &cols), KN_ERR_INVALID_ARGUMENT, RC + b.field);
    expect(kn_rnn_backward_workspace_size(&b.p, 3, 2, KN_FLOAT32, &bytes), KN_ERR_INVALID_ARGUMENT, WS + b.field);
  }
  EXPECT_EQ(cols, -7) << "a failing call wrote *cols";
  EXPECT_EQ(bytes, 77u) << "a failing call wrote *bytes";
}

// ------------------------------------------------------------ validation

// A valid float32 call whose arguments the tables mutate: every argument
// present (an LSTM with projection: T=3, N=2, I=4, H=3, P=2), or a GRU
// (no c0/c_n/w_hr), padded or packed (batch_sizes {2, 2, 1}).
struct RnnCall {
  RnnConfig c;
  kn_rnn_params p{};
  HostTensor x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y, h_n, c_n, reserve, dy, dh_n, dc_n, dx, dh0,
      dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr;
  // Spare buffers the mutations point at: a reserve with one more column
  // (a row stride other than cols that stays inside memory), state and
  // projection tensors for a call that must not have them.
  HostTensor wide_reserve, spare_c, spare_w_hr;
  OpCall forward, backward;

  RnnCall(int32_t mode, bool packed) {
    c.mode = mode, c.T = 3, c.N = 2, c.I = 4, c.H = 3, c.P = mode == KN_LSTM ? 2 : 0;
    if (packed) c.batch_sizes = {2, 2, 1};
    p = {c.mode, 0, c.H, c.P, packed ? c.batch_sizes.data() : nullptr, packed ? 3 : 0};
    const int32_t F = KN_FLOAT32;
    const int64_t N = c.seqs(), H = c.H, Hout = c.Hout(), GH = c.GH(), P = c.P;
    x = HostTensor(c.seq_shape(c.I), F), y = HostTensor(c.seq_shape(Hout), F);
    dy = HostTensor(c.seq_shape(Hout), F), dx = HostTensor(c.seq_shape(c.I), F);
    h0 = HostTensor({N, Hout}, F), c0 = HostTensor({N, H}, F), h_n = HostTensor({N, Hout}, F),
    c_n = HostTensor({N, H}, F);
    w_ih = HostTensor({GH, c.I}, F), w_hh = HostTensor({GH, Hout}, F), b_ih = HostTensor({GH}, F),
    b_hh = HostTensor({GH}, F), w_hr = HostTensor({P, H}, F);
    reserve = HostTensor({c.rows(), c.reserve_cols()}, F);
    wide_reserve = HostTensor({c.rows(), c.reserve_cols() + 1}, F);
    dh_n = HostTensor({N, Hout}, F), dc_n = HostTensor({N, H}, F), dh0 = HostTensor({N, Hout}, F),
    dc0 = HostTensor({N, H}, F);
    dw_ih = HostTensor({GH, c.I}, F), dw_hh = HostTensor({GH, Hout}, F), db_ih = HostTensor({GH}, F),
    db_hh = HostTensor({GH}, F), dw_hr = HostTensor({P, H}, F);
    spare_c = HostTensor({N, H}, F), spare_w_hr = HostTensor({2, H}, F);
    Rng rng(3);
    for (HostTensor* t : {&x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr, &dy, &dh_n, &dc_n})
      t->fill_random(rng, -0.5, 0.5);
    const bool lstm = mode == KN_LSTM;
    auto k = [](const HostTensor& t) { return t.kn(); };
    auto opt = [](bool present, const kn_tensor& t) { return present ? &t : nullptr; };
    const kn_tensor X = k(x), H0 = k(h0), C0 = k(c0), WIH = k(w_ih), WHH = k(w_hh), BIH = k(b_ih),
                    BHH = k(b_hh), WHR = k(w_hr), Y = k(y), HN = k(h_n), CN = k(c_n), R = k(reserve),
                    DY = k(dy), DHN = k(dh_n), DCN = k(dc_n), DX = k(dx), DH0 = k(dh0), DC0 = k(dc0),
                    DWIH = k(dw_ih), DWHH = k(dw_hh), DBIH = k(db_ih), DBHH = k(db_hh), DWHR = k(dw_hr);
    forward.add("x", &X), forward.add("h0", &H0), forward.add("c0", opt(lstm, C0));
    forward.add("w_ih", &WIH), forward.add("w_hh", &WHH), forward.add("b_ih", &BIH);
    forward.add("b_hh", &BHH), forward.add("w_hr", opt(P > 0, WHR)), forward.add("y", &Y);
    forward.add("h_n", &HN), forward.add("c_n", opt(lstm, CN)), forward.add("reserve", &R);
    backward.add("x", &X), backward.add("w_ih", &WIH), backward.add("w_hh", &WHH);
    backward.add("w_hr", opt(P > 0, WHR)), backward.add("reserve", &R), backward.add("dy", &DY);
    backward.add("dh_n", &DHN), backward.add("dc_n", opt(lstm, DCN)), backward.add("dx", &DX);
    backward.add("dh0", &DH0), backward.add("dc0", opt(lstm, DC0)), backward.add("dw_ih", &DWIH);
    backward.add("dw_hh", &DWHH), backward.add("db_ih", &DBIH), backward.add("db_hh", &DBHH);
    backward.add("dw_hr", opt(P > 0, DWHR));
  }

  // Every byte of every buffer (a failing call must change none).
  std::vector<std::vector<unsigned char>> snapshot() const {
    std::vector<std::vector<unsigned char>> v;
    for (const HostTensor* t : {&x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr, &y, &h_n, &c_n, &reserve,
                                &dy, &dh_n, &dc_n, &dx, &dh0, &dc0, &dw_ih, &dw_hh, &db_ih, &db_hh,
                                &dw_hr, &wide_reserve, &spare_c, &spare_w_hr})
      v.push_back(t->raw());
    return v;
  }
};
RnnCall& lstm_call() {
  static RnnCall call(KN_LSTM, false);
  return call;
}
RnnCall& packed_call() {
  static RnnCall call(KN_LSTM, true);
  return call;
}
RnnCall& gru_call() {
  static RnnCall call(KN_GRU, false);
  return call;
}

// Gives an argument the valid call leaves NULL.
void give(OpCall& c, const std::string& name, const kn_tensor& t) {
  c[name] = t;
  c.is_null[c.index(name)] = false;
}

// The bad params of a parameter case. OpCall::reduction (unused by this
// op) marks the mutated call: the invokers pass `bad` for it, the valid
// params for the valid call.
struct BadParams {
  kn_rnn_params p{};
  bool null = false;
};

kn_status call_forward(const kn_rnn_params* p, const OpCall& c) {
  return kn_rnn_forward(p, c.arg("x"), c.arg("h0"), c.arg("c0"), c.arg("w_ih"), c.arg("w_hh"), c.arg("b_ih"),
                        c.arg("b_hh"), c.arg("w_hr"), c.arg("y"), c.arg("h_n"), c.arg("c_n"), c.arg("reserve"),
                        c.exec());
}
kn_status call_backward(const kn_rnn_params* p, const OpCall& c) {
  return kn_rnn_backward(p, c.arg("x"), c.arg("w_ih"), c.arg("w_hh"), c.arg("w_hr"), c.arg("reserve"),
                         c.arg("dy"), c.arg("dh_n"), c.arg("dc_n"), c.arg("dx"), c.arg("dh0"), c.arg("dc0"),
                         c.arg("dw_ih"), c.arg("dw_hh"), c.arg("db_ih"), c.arg("db_hh"), c.arg("dw_hr"),
                         c.exec());
}

// The invoker of `call`'s forward or backward: a failing call must leave
// every buffer as it was.
Invoke invoker(const RnnCall& call, bool backward, const BadParams* bad = nullptr) {
  return [&call, backward, bad](const OpCall& c) {
    const kn_rnn_params* p = &call.p;
    if (bad && c.reduction) p = bad->null ? nullptr : &bad->p;
    const auto before = call.snapshot();
    const kn_status s = backward ? call_backward(p, c) : call_forward(p, c);
    if (s != KN_OK) {
      EXPECT_TRUE(call.snapshot() == before) << "a failing call wrote into a buffer";
    }
    return s;
  };
}

// Cases on a named valid call.
struct RnnErrorCase {
  ErrorCase e;
  RnnCall& (*call)();
};
void PrintTo(const RnnErrorCase& c, std::ostream* os) { *os << c.e.name; }
std::string rnn_case_name(const ::testing::TestParamInfo<RnnErrorCase>& info) { return info.param.e.name; }

std::vector<RnnErrorCase> on(RnnCall& (*call)(), const std::vector<ErrorCase>& cases) {
  std::vector<RnnErrorCase> out;
  for (const ErrorCase& e : cases) out.push_back({e, call});
  return out;
}

std::vector<RnnErrorCase> forward_error_cases() {
  // In capi/rnn.cpp's order.
  std::vector<RnnErrorCase> cases = on(lstm_call, descriptor_error_cases({{"x", true, -1, false, true},
                                                                          {"h0", false, 2},
                                                                          {"c0", false, 2},
                                                                          {"w_ih", true, 2},
                                                                          {"w_hh", true, 2},
                                                                          {"b_ih", false, 1},
                                                                          {"b_hh", false, 1},
                                                                          {"w_hr", false, 2},
                                                                          {"y", true, -1, true},
                                                                          {"h_n", false, 2, true},
                                                                          {"c_n", false, 2, true},
                                                                          {"reserve", true, 2, true}}));
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto add = [&](RnnCall& (*call)(), ErrorCase e) { cases.push_back({std::move(e), call}); };
  // h0 / c0 / weights / outputs of the wrong shape.
  add(lstm_call, {"h0_hidden_size_instead_of_proj", [](OpCall& c) { c["h0"].shape[1] = 3; }, SHAPE, "h0"});
  add(gru_call, {"h0_wrong_hidden_size", [](OpCall& c) { c["h0"].shape[1] = 2; }, SHAPE, "h0"});
  add(lstm_call, {"h0_wrong_batch", [](OpCall& c) { c["h0"].shape[0] = 1; }, SHAPE, "h0"});
  add(lstm_call, {"c0_proj_size_instead_of_hidden", [](OpCall& c) { c["c0"].shape[1] = 2; }, SHAPE, "c0"});
  add(lstm_call, {"c0_wrong_batch", [](OpCall& c) { c["c0"].shape[0] = 3; }, SHAPE, "c0"});
  add(lstm_call, {"w_ih_input_size_mismatch", [](OpCall& c) { c["w_ih"].shape[1] = 3; }, SHAPE, "w_ih"});
  add(lstm_call, {"w_ih_three_gates_for_lstm", [](OpCall& c) { c["w_ih"].shape[0] = 9; }, SHAPE, "w_ih"});
  add(lstm_call, {"w_hh_hidden_instead_of_proj", [](OpCall& c) { c["w_hh"].shape[1] = 3; }, SHAPE, "w_hh"});
  add(gru_call, {"w_hh_four_gates_for_gru", [](OpCall& c) { c["w_hh"].shape[0] = 12; }, SHAPE, "w_hh"});
  add(lstm_call, {"b_ih_size", [](OpCall& c) { c["b_ih"].shape[0] = 11; }, SHAPE, "b_ih"});
  add(gru_call, {"b_hh_size", [](OpCall& c) { c["b_hh"].shape[0] = 3; }, SHAPE, "b_hh"});
  add(lstm_call, {"w_hr_transposed_shape", [](OpCall& c) {
                    std::swap(c["w_hr"].shape[0], c["w_hr"].shape[1]);
                    std::swap(c["w_hr"].strides[0], c["w_hr"].strides[1]);
                  }, SHAPE, "w_hr"});
  add(lstm_call, {"w_hr_missing_with_proj", [](OpCall& c) { c.set_null("w_hr"); }, INVALID, "w_hr"});
  add(gru_call, {"w_hr_given_without_proj", [](OpCall& c) { give(c, "w_hr", gru_call().spare_w_hr.kn()); },
                 INVALID, "w_hr"});
  add(gru_call, {"c0_given_for_gru", [](OpCall& c) { give(c, "c0", gru_call().spare_c.kn()); }, INVALID,
                 "c0, c_n"});
  add(gru_call, {"c_n_given_for_gru", [](OpCall& c) { give(c, "c_n", gru_call().spare_c.kn()); }, INVALID,
                 "c0, c_n"});
  add(lstm_call, {"y_wrong_steps", [](OpCall& c) { c["y"].shape[0] = 2; }, SHAPE, "y"});
  add(lstm_call, {"y_wrong_batch", [](OpCall& c) { c["y"].shape[1] = 1; }, SHAPE, "y"});
  // (Outputs get a narrower shape or a spare buffer: a wider view of the
  // valid buffer would overlap itself, which is checked first.)
  add(lstm_call, {"y_wrong_hidden", [](OpCall& c) { c["y"].shape[2] = 1; }, SHAPE, "y"});
  add(lstm_call, {"y_packed_shape_for_padded_x", [](OpCall& c) {
                    c["y"].ndim = 2, c["y"].shape[0] = 6, c["y"].shape[1] = 2;
                    c["y"].strides[0] = 2, c["y"].strides[1] = 1;
                  }, SHAPE, "y"});
  add(packed_call, {"y_packed_wrong_rows", [](OpCall& c) { c["y"].shape[0] = 4; }, SHAPE, "y"});
  add(lstm_call, {"h_n_hidden_instead_of_proj", [](OpCall& c) { c["h_n"] = lstm_call().spare_c.kn(); }, SHAPE,
                  "h_n"});
  add(lstm_call, {"c_n_wrong_shape", [](OpCall& c) { c["c_n"].shape[0] = 1; }, SHAPE, "c_n"});
  add(lstm_call, {"reserve_wrong_rows", [](OpCall& c) { c["reserve"].shape[0] = 5; }, SHAPE, "reserve"});
  add(lstm_call, {"reserve_wrong_cols", [](OpCall& c) { c["reserve"].shape[1] -= 1; }, SHAPE, "reserve"});
  add(packed_call, {"reserve_padded_rows_for_packed", [](OpCall& c) { c["reserve"].shape[0] = 6; }, SHAPE,
                    "reserve"});
  add(lstm_call, {"reserve_transposed", [](OpCall& c) {
                    kn_tensor& r = c["reserve"];
                    r.strides[0] = 1, r.strides[1] = r.shape[0];
                  }, INVALID, "reserve"});
  add(lstm_call, {"reserve_row_stride_not_cols", [](OpCall& c) { c["reserve"] = lstm_call().wide_reserve.kn(), c["reserve"].shape[1] -= 1; },
                  INVALID, "reserve"});
  add(lstm_call, {"x_padded_with_ndim_2", [](OpCall& c) { c["x"].ndim = 2; }, SHAPE, "x"});
  add(packed_call, {"x_packed_with_ndim_3", [](OpCall& c) {
                      kn_tensor& x = c["x"];
                      x.shape[2] = 1, x.strides[2] = 1, x.ndim = 3;
                    }, SHAPE, "x"});
  return cases;
}

std::vector<RnnErrorCase> backward_error_cases() {
  std::vector<RnnErrorCase> cases = on(lstm_call, descriptor_error_cases({{"w_hh", true, 2, false, true},
                                                                          {"x", false, -1},
                                                                          {"dy", false, -1},
                                                                          {"w_ih", false, 2},
                                                                          {"w_hr", false, 2},
                                                                          {"reserve", true, 2},
                                                                          {"dh_n", false, 2},
                                                                          {"dc_n", false, 2},
                                                                          {"dx", false, -1, true},
                                                                          {"dh0", false, 2, true},
                                                                          {"dc0", false, 2, true},
                                                                          {"dw_ih", false, 2, true},
                                                                          {"dw_hh", false, 2, true},
                                                                          {"db_ih", false, 1, true},
                                                                          {"db_hh", false, 1, true},
                                                                          {"dw_hr", false, 2, true}}));
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto add = [&](RnnCall& (*call)(), ErrorCase e) { cases.push_back({std::move(e), call}); };
  add(lstm_call, {"x_null_with_dw_ih", [](OpCall& c) { c.set_null("x"); }, INVALID, "x"});
  add(lstm_call, {"w_ih_null_with_dx", [](OpCall& c) { c.set_null("w_ih"); }, INVALID, "w_ih"});
  add(lstm_call, {"x_and_dy_null", [](OpCall& c) {
                    c.set_null("x"), c.set_null("dy"), c.set_null("dw_ih");
                  }, INVALID, "x, dy"});
  add(lstm_call, {"dy_carries_the_shape_with_ndim_2", [](OpCall& c) {
                    c.set_null("x"), c.set_null("dw_ih");
                    c["dy"].ndim = 2;
                  }, SHAPE, "dy"});
  add(lstm_call, {"w_hh_hidden_instead_of_proj", [](OpCall& c) { c["w_hh"].shape[1] = 3; }, SHAPE, "w_hh"});
  add(lstm_call, {"w_ih_input_size_mismatch", [](OpCall& c) { c["w_ih"].shape[1] = 5; }, SHAPE, "w_ih"});
  add(lstm_call, {"w_ih_gates", [](OpCall& c) { c["w_ih"].shape[0] = 3; }, SHAPE, "w_ih"});
  add(lstm_call, {"w_hr_missing_with_proj", [](OpCall& c) { c.set_null("w_hr"); }, INVALID, "w_hr"});
  add(lstm_call, {"w_hr_wrong_shape", [](OpCall& c) { c["w_hr"].shape[0] = 1; }, SHAPE, "w_hr"});
  add(gru_call, {"w_hr_given_without_proj", [](OpCall& c) { give(c, "w_hr", gru_call().spare_w_hr.kn()); },
                 INVALID, "w_hr"});
  add(gru_call, {"dw_hr_requested_without_proj", [](OpCall& c) { give(c, "dw_hr", gru_call().spare_w_hr.kn()); },
                 INVALID, "dw_hr"});
  add(gru_call, {"dc_n_given_for_gru", [](OpCall& c) { give(c, "dc_n", gru_call().spare_c.kn()); }, INVALID,
                 "dc_n, dc0"});
  add(gru_call, {"dc0_requested_for_gru", [](OpCall& c) { give(c, "dc0", gru_call().spare_c.kn()); }, INVALID,
                 "dc_n, dc0"});
  add(lstm_call, {"reserve_wrong_cols", [](OpCall& c) { c["reserve"].shape[1] -= 1; }, SHAPE, "reserve"});
  add(packed_call, {"reserve_wrong_rows", [](OpCall& c) { c["reserve"].shape[0] = 4; }, SHAPE, "reserve"});
  add(lstm_call, {"reserve_transposed", [](OpCall& c) {
                    kn_tensor& r = c["reserve"];
                    r.strides[0] = 1, r.strides[1] = r.shape[0];
                  }, INVALID, "reserve"});
  add(lstm_call, {"reserve_row_stride_not_cols", [](OpCall& c) { c["reserve"] = lstm_call().wide_reserve.kn(), c["reserve"].shape[1] -= 1; },
                  INVALID, "reserve"});
  add(lstm_call, {"dy_wrong_steps", [](OpCall& c) { c["dy"].shape[0] = 2; }, SHAPE, "dy"});
  add(lstm_call, {"dy_hidden_instead_of_proj", [](OpCall& c) { c["dy"].shape[2] = 3; }, SHAPE, "dy"});
  add(packed_call, {"dy_wrong_rows", [](OpCall& c) { c["dy"].shape[0] = 6; }, SHAPE, "dy"});
  add(lstm_call, {"dh_n_hidden_instead_of_proj", [](OpCall& c) { c["dh_n"].shape[1] = 3; }, SHAPE, "dh_n"});
  add(lstm_call, {"dc_n_wrong_shape", [](OpCall& c) { c["dc_n"].shape[1] = 2; }, SHAPE, "dc_n"});
  add(lstm_call, {"dx_wrong_input_size", [](OpCall& c) { c["dx"].shape[2] = 3; }, SHAPE, "dx"});
  add(lstm_call, {"dh0_hidden_instead_of_proj", [](OpCall& c) { c["dh0"] = lstm_call().spare_c.kn(); }, SHAPE,
                  "dh0"});
  add(lstm_call, {"dc0_wrong_shape", [](OpCall& c) { c["dc0"].shape[0] = 1; }, SHAPE, "dc0"});
  add(lstm_call, {"dw_ih_wrong_shape", [](OpCall& c) { c["dw_ih"].shape[1] = 3; }, SHAPE, "dw_ih"});
  add(lstm_call, {"dw_hh_wrong_shape", [](OpCall& c) { c["dw_hh"].shape[1] = 1; }, SHAPE, "dw_hh"});
  add(lstm_call, {"db_ih_wrong_shape", [](OpCall& c) { c["db_ih"].shape[0] = 3; }, SHAPE, "db_ih"});
  add(lstm_call, {"db_hh_wrong_shape", [](OpCall& c) { c["db_hh"].shape[0] = 13; }, SHAPE, "db_hh"});
  add(lstm_call, {"dw_hr_wrong_shape", [](OpCall& c) { c["dw_hr"].shape[1] = 2; }, SHAPE, "dw_hr"});
  add(lstm_call, {"x_padded_with_ndim_2", [](OpCall& c) { c["x"].ndim = 2; }, SHAPE, "x"});
  add(packed_call, {"x_packed_with_ndim_3", [](OpCall& c) {
                      kn_tensor& x = c["x"];
                      x.shape[2] = 1, x.strides[2] = 1, x.ndim = 3;
                    }, SHAPE, "x"});
  return cases;
}

class RnnForwardErrors : public ::testing::TestWithParam<RnnErrorCase> {};
TEST_P(RnnForwardErrors, ExactStatusAndMessage) {
  const RnnCall& call = GetParam().call();
  check_error_case(call.forward, invoker(call, false), "kn_rnn_forward", GetParam().e);
}
INSTANTIATE_TEST_SUITE_P(Rnn, RnnForwardErrors, ::testing::ValuesIn(forward_error_cases()), rnn_case_name);

class RnnBackwardErrors : public ::testing::TestWithParam<RnnErrorCase> {};
TEST_P(RnnBackwardErrors, ExactStatusAndMessage) {
  const RnnCall& call = GetParam().call();
  check_error_case(call.backward, invoker(call, true), "kn_rnn_backward", GetParam().e);
}
INSTANTIATE_TEST_SUITE_P(Rnn, RnnBackwardErrors, ::testing::ValuesIn(backward_error_cases()), rnn_case_name);

// Parameter errors: one field of the valid params changed, for the forward
// and the backward. batch_sizes always points at valid memory of num_steps
// entries (the caller's duty), so only the library's checks are tested.
struct ParamCase {
  std::string name;
  bool packed;  // on the packed call (else the padded LSTM)
  // Changes p; `bs` is the batch_sizes array p points at afterwards when it
  // is not NULL (sized to num_steps).
  std::function<void(kn_rnn_params&, std::vector<int64_t>& bs)> mutate;
  kn_status status;
  std::string arg;  // "<op>: <arg>" is in the message
  bool null_p = false;
};
void PrintTo(const ParamCase& c, std::ostream* os) { *os << c.name; }

std::vector<ParamCase> param_cases() {
  using P = kn_rnn_params;
  using B = std::vector<int64_t>;
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT, SHAPE = KN_ERR_SHAPE_MISMATCH;
  return {
      {"p_null", false, [](P&, B&) {}, INVALID, "p: must not be NULL", true},
      {"mode_4", false, [](P& p, B&) { p.mode = 4; }, INVALID, "p->mode"},
      {"mode_minus_1", false, [](P& p, B&) { p.mode = -1; }, INVALID, "p->mode"},
      {"mode_int32_min", false, [](P& p, B&) { p.mode = INT32_MIN; }, INVALID, "p->mode"},
      {"reverse_2", false, [](P& p, B&) { p.reverse = 2; }, INVALID, "p->reverse"},
      {"reverse_minus_1", false, [](P& p, B&) { p.reverse = -1; }, INVALID, "p->reverse"},
      {"hidden_size_0", false, [](P& p, B&) { p.hidden_size = 0; }, INVALID, "p->hidden_size"},
      {"hidden_size_negative", false, [](P& p, B&) { p.hidden_size = -3; }, INVALID, "p->hidden_size"},
      {"hidden_size_over_int32", false, [](P& p, B&) { p.hidden_size = int64_t(1) << 31; }, INVALID,
       "p->hidden_size"},
      {"proj_size_for_gru", false, [](P& p, B&) { p.mode = KN_GRU; }, INVALID, "p->proj_size"},
      {"proj_size_for_rnn", false, [](P& p, B&) { p.mode = KN_RNN_RELU; }, INVALID, "p->proj_size"},
      {"proj_size_equal_hidden", false, [](P& p, B&) { p.proj_size = p.hidden_size; }, INVALID, "p->proj_size"},
      {"proj_size_over_hidden", false, [](P& p, B&) { p.proj_size = 7; }, INVALID, "p->proj_size"},
      {"proj_size_negative", false, [](P& p, B&) { p.proj_size = -1; }, INVALID, "p->proj_size"},
      // batch_sizes given for a 3-d x: x must then be packed (2-d).
      {"batch_sizes_with_padded_x", false, [](P& p, B& bs) { bs = {2, 2, 2}, p.batch_sizes = bs.data(), p.num_steps = 3; },
       SHAPE, "x"},
      {"num_steps_0", true, [](P& p, B& bs) { bs.clear(), p.num_steps = 0; }, INVALID, "p->num_steps"},
      {"num_steps_negative", true, [](P& p, B& bs) { bs.clear(), p.num_steps = -1; }, INVALID, "p->num_steps"},
      {"num_steps_over_total_rows", true, [](P& p, B& bs) { bs.assign(6, 1), p.num_steps = 6; }, INVALID,
       "p->num_steps"},
      {"batch_size_0", true, [](P&, B& bs) { bs = {2, 0, 3}; }, INVALID, "p->batch_sizes[1]"},
      {"batch_size_negative", true, [](P&, B& bs) { bs = {2, 2, -1}; }, INVALID, "p->batch_sizes[2]"},
      {"batch_sizes_increasing", true, [](P&, B& bs) { bs = {1, 2, 2}; }, INVALID, "p->batch_sizes[1]"},
      {"batch_sizes_sum_too_small", true, [](P&, B& bs) { bs = {2, 1, 1}; }, INVALID, "p->batch_sizes"},
      {"batch_sizes_sum_too_large", true, [](P&, B& bs) { bs = {2, 2, 2}; }, INVALID, "p->batch_sizes[2]"},
      {"batch_size_over_total", true, [](P& p, B& bs) { bs = {6}, p.num_steps = 1; }, INVALID,
       "p->batch_sizes[0]"},
      {"batch_sizes_fewer_steps", true, [](P& p, B& bs) { bs = {2, 2}, p.num_steps = 2; }, INVALID,
       "p->batch_sizes"},
  };
}

class RnnParamErrors : public ::testing::TestWithParam<ParamCase> {};
TEST_P(RnnParamErrors, ExactStatusAndMessage) {
  const ParamCase& pc = GetParam();
  const RnnCall& call = pc.packed ? packed_call() : lstm_call();
  BadParams bad;
  bad.p = call.p;
  bad.null = pc.null_p;
  std::vector<int64_t> bs = call.c.batch_sizes;
  pc.mutate(bad.p, bs);
  if (bad.p.batch_sizes) bad.p.batch_sizes = bs.empty() ? nullptr : bs.data();
  if (bad.p.batch_sizes == nullptr && pc.packed) {  // num_steps <= 0: a valid pointer still
    bs.assign(1, 1);
    bad.p.batch_sizes = bs.data();
  }
  const ErrorCase e{pc.name, [](OpCall& c) { c.reduction = 1; }, pc.status, pc.arg};
  {
    SCOPED_TRACE("forward");
    check_error_case(call.forward, invoker(call, false, &bad), "kn_rnn_forward", e);
  }
  {
    SCOPED_TRACE("backward");
    check_error_case(call.backward, invoker(call, true, &bad), "kn_rnn_backward", e);
  }
}
INSTANTIATE_TEST_SUITE_P(Rnn, RnnParamErrors, ::testing::ValuesIn(param_cases()),
                         [](const ::testing::TestParamInfo<ParamCase>& p) { return p.param.name; });

// A padded call ignores num_steps (only batch_sizes says "packed").
TEST(Rnn, PaddedCallIgnoresNumSteps) {
  RnnCall& call = lstm_call();
  kn_rnn_params p = call.p;
  p.num_steps = -5;
  KN_EXPECT_OK(call_forward(&p, call.forward));
  KN_EXPECT_OK(call_backward(&p, call.backward));
}

// Empty tensors may have data == NULL: T = 0 passes the state through.
TEST(Rnn, EmptySequenceWithNullData) {
  const kn_rnn_params p{KN_LSTM, 0, 2, 0, nullptr, 0};
  HostTensor w_ih({8, 3}, KN_FLOAT64), w_hh({8, 2}, KN_FLOAT64), h0({2, 2}, KN_FLOAT64), c0({2, 2}, KN_FLOAT64),
      h_n({2, 2}, KN_FLOAT64), c_n({2, 2}, KN_FLOAT64), dh_n({2, 2}, KN_FLOAT64), dh0({2, 2}, KN_FLOAT64),
      dw_hh({8, 2}, KN_FLOAT64);
  Rng rng(11);
  for (HostTensor* t : {&w_ih, &w_hh, &h0, &c0, &dh_n}) t->fill_random(rng);
  for (HostTensor* t : {&h_n, &c_n, &dh0, &dw_hh}) t->fill(std::nan(""));
  kn_tensor x = HostTensor({0, 2, 3}, KN_FLOAT64).kn(), y = HostTensor({0, 2, 2}, KN_FLOAT64).kn(),
            res = HostTensor({0, 12}, KN_FLOAT64).kn();
  x.data = y.data = res.data = nullptr;
  const kn_tensor wi = w_ih.kn(), wh = w_hh.kn(), h0k = h0.kn(), c0k = c0.kn(), hn = h_n.kn(), cn = c_n.kn(),
                  dhn = dh_n.kn(), dh0k = dh0.kn(), dwhh = dw_hh.kn();
  KN_EXPECT_OK(kn_rnn_forward(&p, &x, &h0k, &c0k, &wi, &wh, nullptr, nullptr, nullptr, &y, &hn, &cn, &res, nullptr));
  EXPECT_TRUE(all_equal("h_n = h0", h_n.values(), h0.values()));
  EXPECT_TRUE(all_equal("c_n = c0", c_n.values(), c0.values()));
  KN_EXPECT_OK(kn_rnn_backward(&p, &x, &wi, &wh, nullptr, &res, nullptr, &dhn, nullptr, nullptr, &dh0k, nullptr,
                               nullptr, &dwhh, nullptr, nullptr, nullptr, nullptr));
  EXPECT_TRUE(all_equal("dh0 = dh_n", dh0.values(), dh_n.values()));
  EXPECT_TRUE(all_equal("dw_hh = 0", dw_hh.values(), Vec(16, 0.0)));
}

// Fuzz findings (tests/fuzz/ops/rnn.cpp): an empty x with a huge T (N = 0,
// or I = 0), or T = 0 with a huge N and every (N, .) tensor NULL, made the
// validation build per-step arrays of 2^40 entries, or the CPU backward a
// scratch of N rows: KN_ERR_OUT_OF_MEMORY, or 32 GB and minutes for 2^31.
TEST(Rnn, EmptySequencesWithHugeSizes) {
  const int64_t huge = int64_t(1) << 40;
  const kn_rnn_params p{KN_LSTM, 1, 2, 0, nullptr, 0};
  HostTensor w_ih({8, 3}, KN_FLOAT32), w_hh({8, 2}, KN_FLOAT32), dw_ih({8, 3}, KN_FLOAT32),
      dw_hh({8, 2}, KN_FLOAT32), db({8}, KN_FLOAT32);
  Rng rng(13);
  w_ih.fill_random(rng), w_hh.fill_random(rng);
  const kn_tensor wi = w_ih.kn(), wh = w_hh.kn(), dwi = dw_ih.kn(), dwh = dw_hh.kn(), dbk = db.kn();
  auto empty = [](const Shape& s) {
    kn_tensor t = HostTensor(Shape(s.size(), 1), KN_FLOAT32).kn();
    for (size_t d = 0; d < s.size(); ++d) t.shape[d] = s[d], t.strides[d] = 0;
    t.data = nullptr;
    return t;
  };
  for (const Shape& xs : {Shape{huge, 0, 3}, Shape{0, huge, 3}}) {
    SCOPED_TRACE(shape_str(xs));
    const kn_tensor x = empty(xs), y = empty({xs[0], xs[1], 2}), res = empty({0, 12});
    KN_EXPECT_OK(kn_rnn_forward(&p, &x, nullptr, nullptr, &wi, &wh, nullptr, nullptr, nullptr, &y, nullptr,
                                nullptr, &res, nullptr));
    dw_ih.fill(std::nan("")), dw_hh.fill(std::nan("")), db.fill(std::nan(""));
    KN_EXPECT_OK(kn_rnn_backward(&p, &x, &wi, &wh, nullptr, &res, &y, nullptr, nullptr, &x, nullptr, nullptr, &dwi,
                                 &dwh, &dbk, nullptr, nullptr, nullptr));
    EXPECT_TRUE(all_equal("dw_ih", dw_ih.values(), Vec(24, 0.0)));
    EXPECT_TRUE(all_equal("dw_hh", dw_hh.values(), Vec(16, 0.0)));
    EXPECT_TRUE(all_equal("db_ih", db.values(), Vec(8, 0.0)));
  }
  // I = 0: x (2^40, 1, 0) is empty, but y would need 2^40 rows: a shape
  // error, found before anything of the size of T is built.
  HostTensor y3({3, 1, 2}, KN_FLOAT32), res3({3, 12}, KN_FLOAT32), wi0({8, 0}, KN_FLOAT32);
  const kn_tensor x = empty({huge, 1, 0}), y = y3.kn(), res = res3.kn();
  const kn_tensor w0 = wi0.kn();
  EXPECT_EQ(kn_rnn_forward(&p, &x, nullptr, nullptr, &w0, &wh, nullptr, nullptr, nullptr, &y, nullptr, nullptr,
                           &res, nullptr), KN_ERR_SHAPE_MISMATCH) << kn_last_error();
  EXPECT_NE(std::string(kn_last_error()).find("kn_rnn_forward: y"), std::string::npos) << kn_last_error();
  // I = 0 with T N beyond int64 (T N I = 0 fits): refused, no overflow (UBSan).
  const kn_tensor xo = empty({INT64_MAX / 2, 3, 0});
  EXPECT_EQ(kn_rnn_forward(&p, &xo, nullptr, nullptr, &w0, &wh, nullptr, nullptr, nullptr, &y, nullptr, nullptr,
                           &res, nullptr), KN_ERR_INVALID_ARGUMENT) << kn_last_error();
  EXPECT_NE(std::string(kn_last_error()).find("kn_rnn_forward: x: T x N"), std::string::npos) << kn_last_error();
  EXPECT_EQ(kn_rnn_backward(&p, &xo, &w0, &wh, nullptr, &res, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                            nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), KN_ERR_INVALID_ARGUMENT)
      << kn_last_error();
  EXPECT_NE(std::string(kn_last_error()).find("kn_rnn_backward: x: T x N"), std::string::npos) << kn_last_error();
}

}  // namespace
}  // namespace kntest
