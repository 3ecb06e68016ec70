// kn_mse_loss_forward / kn_mse_loss_backward through the C ABI, for every
// reduction, against the reference (reference.hpp), with the shared
// machinery of tensor_util.hpp.
#include <gtest/gtest.h>

#include "reference.hpp"
#include "tensor_util.hpp"
#include "kernels/mse_loss.h"

namespace kntest {
namespace {

const char* reduction_str(kn_reduction r) {
  return r == KN_REDUCTION_NONE ? "none" : r == KN_REDUCTION_MEAN ? "mean" : "sum";
}

// MseLossTester().shape({4, 5}).reduction(KN_REDUCTION_MEAN).transpose("input")
//     .dtype(KN_FLOAT64).test_forward();
// Operands: input, target, out (forward); dout, dinput, dtarget (backward).
class MseLossTester : public TesterBase<MseLossTester> {
 public:
  MseLossTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  MseLossTester& reduction(kn_reduction r) { reduction_ = r; return *this; }
  MseLossTester& grads(bool dinput, bool dtarget) { need_dinput_ = dinput, need_dtarget_ = dtarget; return *this; }
  // forward: out is input itself (NONE); backward: dinput is input and
  // dtarget is target (exact aliases, element-wise in place).
  MseLossTester& in_place(bool v = true) { in_place_ = v; return *this; }
  // backward: dinput is dout itself (NONE).
  MseLossTester& dinput_is_dout(bool v = true) { dinput_is_dout_ = v; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << "mse_loss shape=" << shape_str(shape_) << " reduction=" << reduction_str(reduction_)
      << " grads(dinput,dtarget)=" << need_dinput_ << need_dtarget_ << (in_place_ ? " in-place" : "")
      << (dinput_is_dout_ ? " dinput-is-dout" : "") << (null_exec_ ? " ex=NULL" : "") << " "
      << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor input = make("input", shape_), target = make("target", shape_);
    input.fill_random(rng), target.fill_random(rng);
    const ref::Vec want = ref::mse_loss_forward(reduction_, input.values(), target.values());
    const ref::Vec mag = ref::mse_loss_forward(reduction_, abs_of(input.values()), negated(abs_of(target.values())));
    const auto input_raw = input.raw(), target_raw = target.raw();
    const bool alias = in_place_ && reduction_ == KN_REDUCTION_NONE;
    HostTensor out;
    if (!alias) out = make_output("out", out_shape());
    HostTensor& o = alias ? input : out;
    const kn_tensor ik = input.kn(), tk = target.kn(), ok = o.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_mse_loss_forward(reduction_, &ik, &tk, &ok, exec_ptr(ex)));
    EXPECT_TRUE(all_close("out", o.values(), want, mag, out_rtol()));
    EXPECT_TRUE(o.outside_untouched("out"));
    if (!alias) {
      EXPECT_EQ(input.raw(), input_raw) << "input was modified";
    }
    EXPECT_EQ(target.raw(), target_raw) << "target was modified";
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor input = make("input", shape_), target = make("target", shape_), dout = make("dout", out_shape());
    input.fill_random(rng), target.fill_random(rng), dout.fill_random(rng);
    const ref::MseGrads want = ref::mse_loss_backward(reduction_, dout.values(), input.values(), target.values());
    const ref::MseGrads mag = ref::mse_loss_backward(reduction_, abs_of(dout.values()), abs_of(input.values()),
                                                     negated(abs_of(target.values())));
    const auto input_raw = input.raw(), target_raw = target.raw(), dout_raw = dout.raw();
    HostTensor dinput, dtarget;
    if (!in_place_ && !dinput_is_dout_) dinput = make_output("dinput", shape_);
    if (!in_place_) dtarget = make_output("dtarget", shape_);
    HostTensor& di = in_place_ ? input : dinput_is_dout_ ? dout : dinput;
    HostTensor& dt = in_place_ ? target : dtarget;
    const kn_tensor gk = dout.kn(), ik = input.kn(), tk = target.kn(), dik = di.kn(), dtk = dt.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_mse_loss_backward(reduction_, &gk, &ik, &tk, need_dinput_ ? &dik : nullptr,
                                      need_dtarget_ ? &dtk : nullptr, exec_ptr(ex)));
    if (need_dinput_) {
      EXPECT_TRUE(all_close("dinput", di.values(), want.dinput, mag.dinput, rtol(2)));
      EXPECT_TRUE(di.outside_untouched("dinput"));
    } else if (!in_place_ && !dinput_is_dout_) {
      for (double v : dinput.values()) ASSERT_TRUE(std::isnan(v)) << "dinput was written but not requested";
    }
    if (need_dtarget_) {
      EXPECT_TRUE(all_close("dtarget", dt.values(), want.dtarget, mag.dinput, rtol(2)));
      EXPECT_TRUE(dt.outside_untouched("dtarget"));
    } else if (!in_place_) {
      for (double v : dtarget.values()) ASSERT_TRUE(std::isnan(v)) << "dtarget was written but not requested";
    }
    if (!in_place_) {
      EXPECT_EQ(input.raw(), input_raw) << "input was modified";
      EXPECT_EQ(target.raw(), target_raw) << "target was modified";
    }
    if (!dinput_is_dout_) {
      EXPECT_EQ(dout.raw(), dout_raw) << "dout was modified";
    }
  }

  // Central differences of L = sum(dout * mse_loss(input, target)).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    HostTensor input = make("input", shape_), target = make("target", shape_),
               dout = make("dout", out_shape()), out = make_output("out", out_shape()),
               dinput = make_output("dinput", shape_), dtarget = make_output("dtarget", shape_);
    input.fill_random(rng), target.fill_random(rng), dout.fill_random(rng);
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor ik = input.kn(), tk = target.kn(), ok = out.kn();
      EXPECT_EQ(kn_mse_loss_forward(reduction_, &ik, &tk, &ok, exec_ptr(ex)), KN_OK) << kn_last_error();
      return dot(dout.values(), out.values());
    };
    const kn_tensor gk = dout.kn(), ik = input.kn(), tk = target.kn(), dik = dinput.kn(), dtk = dtarget.kn();
    KN_ASSERT_OK(kn_mse_loss_backward(reduction_, &gk, &ik, &tk, &dik, &dtk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dinput vs finite differences", dinput.values(), numeric_gradient(input, loss), {}, 1e-7, 1e-7));
    EXPECT_TRUE(all_close("dtarget vs finite differences", dtarget.values(), numeric_gradient(target, loss), {}, 1e-7, 1e-7));
  }

  // The reductions are documented deterministic for any thread count: 1 and
  // 2 threads give bitwise-equal results, forward and backward.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor input = make("input", shape_), target = make("target", shape_), dout = make("dout", out_shape());
    input.fill_random(rng), target.fill_random(rng), dout.fill_random(rng);
    ref::Vec out_of[2], dinput_of[2];
    for (int k = 0; k < 2; ++k) {
      HostTensor out = make_output("out", out_shape()), dinput = make_output("dinput", shape_),
                 dtarget = make_output("dtarget", shape_);
      const kn_tensor ik = input.kn(), tk = target.kn(), ok = out.kn(), gk = dout.kn(), dik = dinput.kn(),
                      dtk = dtarget.kn();
      const kn_exec ex = make_exec(k + 1);
      KN_ASSERT_OK(kn_mse_loss_forward(reduction_, &ik, &tk, &ok, &ex));
      KN_ASSERT_OK(kn_mse_loss_backward(reduction_, &gk, &ik, &tk, &dik, &dtk, &ex));
      out_of[k] = out.values(), dinput_of[k] = dinput.values();
    }
    const ref::Vec want = ref::mse_loss_forward(reduction_, input.values(), target.values());
    const ref::Vec mag = ref::mse_loss_forward(reduction_, abs_of(input.values()), negated(abs_of(target.values())));
    EXPECT_TRUE(all_close("out(2 threads) vs reference", out_of[1], want, mag, out_rtol()));
    EXPECT_TRUE(all_equal("out(1) vs out(2)", out_of[0], out_of[1]));
    EXPECT_TRUE(all_equal("dinput(1) vs dinput(2)", dinput_of[0], dinput_of[1]));
  }

 private:
  Shape out_shape() const { return reduction_ == KN_REDUCTION_NONE ? shape_ : Shape{}; }
  // Relative to the magnitude sum((|input| + |target|)^2): a few roundings
  // in the dtype, plus the double accumulation of numel terms.
  double out_rtol() const {
    const int64_t terms = reduction_ == KN_REDUCTION_NONE ? 1 : shape_numel(shape_);
    return rtol(1) + 4.0 * static_cast<double>(terms) * 0x1p-53;
  }

  Shape shape_ = {3, 5};
  kn_reduction reduction_ = KN_REDUCTION_MEAN;
  bool need_dinput_ = true, need_dtarget_ = true, in_place_ = false, dinput_is_dout_ = false;
};

// ------------------------------------------------------------ cases x reductions x dtypes

using Case = TesterCase<MseLossTester>;

std::vector<Case> mse_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"contiguous_2d", [](MseLossTester&) {}},
      {"scalar_0d", [](MseLossTester& t) { t.shape({}); }},
      {"vector_1d", [](MseLossTester& t) { t.shape({23}); }},
      {"max_dims_8d", [](MseLossTester& t) { t.shape({2, 1, 2, 3, 1, 2, 2, 2}); }},
      {"empty", [](MseLossTester& t) { t.shape({0, 5}); }},
      {"transposed_input", [T](MseLossTester& t) { t.shape({4, 3, 5}).layout("input", T); }},
      {"transposed_outputs", [T](MseLossTester& t) {
         t.shape({4, 3, 5}).layout("out", T).layout("dinput", T).layout("dtarget", T);
       }},
      {"sliced_everything", [S](MseLossTester& t) {
         t.shape({4, 6}).layout("input", S).layout("target", S.s(3)).layout("out", S)
             .layout("dout", S).layout("dinput", S).layout("dtarget", S);
       }},
      {"reversed_inputs", [R](MseLossTester& t) { t.shape({5, 4}).layout("input", R).layout("target", R).layout("dout", R); }},
      {"reversed_outputs", [R](MseLossTester& t) { t.shape({5, 4}).layout("out", R).layout("dinput", R).layout("dtarget", R); }},
      {"mixed_layouts", [T, S, R](MseLossTester& t) {
         t.shape({3, 4, 5}).layout("input", T.s(2)).layout("target", R).layout("dout", S.r())
             .layout("dinput", T).layout("dtarget", S);
       }},
      {"broadcast_target", [](MseLossTester& t) { t.shape({4, 5}).broadcast("target", 1u); }},
      {"broadcast_input_and_dout", [](MseLossTester& t) { t.shape({4, 5}).broadcast("input", 2u).broadcast("dout", 1u); }},
      {"only_dinput", [](MseLossTester& t) { t.grads(true, false).layout("dinput", Layout::transpose()); }},
      {"only_dtarget", [](MseLossTester& t) { t.grads(false, true).layout("dtarget", Layout::reverse()); }},
      {"no_grads", [](MseLossTester& t) { t.grads(false, false); }},
      {"in_place", [T](MseLossTester& t) { t.shape({5, 6}).layout("input", T).in_place(); }},
      {"in_place_only_dinput", [](MseLossTester& t) { t.shape({5, 6}).in_place().grads(true, false); }},
      {"threads_2_large", [](MseLossTester& t) { t.shape({400, 300}).threads(2); }},
      {"exec_null", [](MseLossTester& t) { t.null_exec(); }},
  };
}

class MseLossCases : public ::testing::TestWithParam<std::tuple<Case, kn_reduction, int32_t>> {
 protected:
  MseLossTester tester() const {
    MseLossTester t;
    t.reduction(std::get<1>(GetParam())).dtype(std::get<2>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(MseLossCases, Forward) { tester().test_forward(); }
TEST_P(MseLossCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(
    MseLoss, MseLossCases,
    ::testing::Combine(::testing::ValuesIn(mse_cases()),
                       ::testing::Values(KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM),
                       ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
    [](const ::testing::TestParamInfo<MseLossCases::ParamType>& p) {
      return std::get<0>(p.param).name + "_" + reduction_str(std::get<1>(p.param)) + "_" +
             dtype_str(std::get<2>(p.param));
    });

// backward with dinput aliasing dout (NONE: same shape), in place.
TEST(MseLoss, BackwardDinputIsDout) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    MseLossTester().reduction(KN_REDUCTION_NONE).shape({4, 7}).dtype(dtype).dinput_is_dout().test_backward();
    MseLossTester().reduction(KN_REDUCTION_NONE).shape({4, 7}).dtype(dtype).layout("dout", Layout::transpose())
        .dinput_is_dout().grads(true, false).test_backward();
  }
}

class MseLossGradient : public ::testing::TestWithParam<kn_reduction> {};
TEST_P(MseLossGradient, Float64) {
  const Layout T = Layout::transpose();
  MseLossTester().reduction(GetParam()).shape({3, 4}).dtype(KN_FLOAT64).test_gradient();
  MseLossTester().reduction(GetParam()).shape({2, 3, 2}).dtype(KN_FLOAT64).layout("input", T.s(2))
      .layout("target", T.r()).layout("dout", T).test_gradient();
  MseLossTester().reduction(GetParam()).shape({}).dtype(KN_FLOAT64).test_gradient();
}
INSTANTIATE_TEST_SUITE_P(MseLoss, MseLossGradient,
                         ::testing::Values(KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM),
                         [](const ::testing::TestParamInfo<kn_reduction>& p) {
                           return std::string(reduction_str(p.param));
                         });

// Empty input: MEAN is NaN (as torch), SUM is 0 -- checked exactly.
TEST(MseLoss, EmptyReductions) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    HostTensor input({0, 3}, dtype), target({0, 3}, dtype), mean({}, dtype), sum({}, dtype);
    sum.fill(std::nan(""));
    const kn_tensor ik = input.kn(), tk = target.kn(), mk = mean.kn(), sk = sum.kn();
    KN_ASSERT_OK(kn_mse_loss_forward(KN_REDUCTION_MEAN, &ik, &tk, &mk, nullptr));
    KN_ASSERT_OK(kn_mse_loss_forward(KN_REDUCTION_SUM, &ik, &tk, &sk, nullptr));
    EXPECT_TRUE(std::isnan(mean.get(0))) << dtype_str(dtype);
    EXPECT_EQ(sum.get(0), 0.0) << dtype_str(dtype);
  }
}

TEST(MseLoss, OneAndTwoThreadsAgree) {
  // 150000 elements: five reduction blocks of 32768, split over two threads.
  for (kn_reduction r : {KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM}) {
    MseLossTester().reduction(r).shape({500, 300}).dtype(KN_FLOAT32).test_threads_agree();
    MseLossTester().reduction(r).shape({500, 300}).dtype(KN_FLOAT64).layout("input", Layout::transpose())
        .test_threads_agree();
  }
}

// Random shapes (ndim 0..4, sizes 0..6), layouts, reductions and dtypes.
class MseLossRandom : public ::testing::TestWithParam<int> {};
TEST_P(MseLossRandom, ForwardAndBackward) {
  Rng rng(3000 + static_cast<uint64_t>(GetParam()));
  Shape shape(static_cast<size_t>(rng.integer(0, 4)));
  for (int64_t& d : shape) d = rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 6);
  const int nd = static_cast<int>(shape.size());
  const auto reduction = static_cast<kn_reduction>(rng.integer(0, 2));
  const int out_nd = reduction == KN_REDUCTION_NONE ? nd : 0;
  MseLossTester t;
  t.shape(shape).reduction(reduction).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
      .threads(static_cast<int32_t>(rng.integer(0, 2))).seed(static_cast<uint64_t>(GetParam()))
      .grads(rng.integer(0, 3) != 0, rng.integer(0, 3) != 0)
      .layout("input", random_layout(rng, nd, true)).layout("target", random_layout(rng, nd, true))
      .layout("dout", random_layout(rng, out_nd, true)).layout("out", random_layout(rng, out_nd, false))
      .layout("dinput", random_layout(rng, nd, false)).layout("dtarget", random_layout(rng, nd, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(MseLoss, MseLossRandom, ::testing::Range(0, 24));

// ------------------------------------------------------------ validation

// A valid float32 call with reduction NONE on (3, 4) tensors.
struct MseCall {
  HostTensor input{{3, 4}, KN_FLOAT32}, target{{3, 4}, KN_FLOAT32}, out{{3, 4}, KN_FLOAT32},
      dout{{3, 4}, KN_FLOAT32}, dinput{{3, 4}, KN_FLOAT32}, dtarget{{3, 4}, KN_FLOAT32};
  OpCall forward, backward;
  MseCall() {
    const kn_tensor ik = input.kn(), tk = target.kn(), ok = out.kn(), gk = dout.kn(), dik = dinput.kn(),
                    dtk = dtarget.kn();
    forward.add("input", &ik), forward.add("target", &tk), forward.add("out", &ok);
    backward.add("dout", &gk), backward.add("input", &ik), backward.add("target", &tk);
    backward.add("dinput", &dik), backward.add("dtarget", &dtk);
    forward.reduction = backward.reduction = KN_REDUCTION_NONE;
  }
};
MseCall& mse_call() {
  static MseCall call;
  return call;
}

kn_status invoke_forward(const OpCall& c) {
  return kn_mse_loss_forward(static_cast<kn_reduction>(c.reduction), c.arg("input"), c.arg("target"),
                             c.arg("out"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_mse_loss_backward(static_cast<kn_reduction>(c.reduction), c.arg("dout"), c.arg("input"),
                              c.arg("target"), c.arg("dinput"), c.arg("dtarget"), c.exec());
}

// Cases both directions share: the reduction enum and the input/target shapes.
void add_common_cases(std::vector<ErrorCase>& cases, const char* reduced) {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  cases.push_back({"reduction_negative", [](OpCall& c) { c.reduction = -1; }, INVALID, "reduction"});
  cases.push_back({"reduction_too_large", [](OpCall& c) { c.reduction = 3; }, INVALID, "reduction"});
  cases.push_back({"target_shape_mismatch", [](OpCall& c) { c["target"].shape[1] = 3; }, SHAPE, "target"});
  cases.push_back({"target_ndim_mismatch", [](OpCall& c) { c["target"].ndim = 1; }, SHAPE, "target"});
  const std::string r = reduced;
  // NONE wants `reduced` of input's shape; MEAN and SUM want it 0-d.
  cases.push_back({r + "_shape_mismatch_none", [r](OpCall& c) { c[r].shape[0] = 2; }, SHAPE, r});
  cases.push_back({r + "_0d_for_none", [r](OpCall& c) { c[r].ndim = 0; }, SHAPE, r});
  cases.push_back({r + "_not_0d_for_mean", [](OpCall& c) { c.reduction = KN_REDUCTION_MEAN; }, SHAPE, r});
  cases.push_back({r + "_1d_for_sum", [r](OpCall& c) {
                     c.reduction = KN_REDUCTION_SUM;
                     c[r].ndim = 1, c[r].shape[0] = 1;
                   }, SHAPE, r});
}

std::vector<ErrorCase> forward_error_cases() {
  auto cases = descriptor_error_cases({{"input", true, -1, false, true}, {"target", true, -1}, {"out", true, -1, true}});
  add_common_cases(cases, "out");
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  auto cases = descriptor_error_cases({{"dout", true, -1, false, true},
                                       {"input", true, -1},
                                       {"target", true, -1},
                                       {"dinput", false, -1, true},
                                       {"dtarget", false, -1, true}});
  add_common_cases(cases, "dout");
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  cases.push_back({"dinput_shape_mismatch", [](OpCall& c) { c["dinput"].shape[0] = 2; }, SHAPE, "dinput"});
  cases.push_back({"dtarget_shape_mismatch", [](OpCall& c) { c["dtarget"].ndim = 1; }, SHAPE, "dtarget"});
  return cases;
}

class MseLossForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(MseLossForwardErrors, ExactStatusAndMessage) {
  check_error_case(mse_call().forward, invoke_forward, "kn_mse_loss_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(MseLoss, MseLossForwardErrors, ::testing::ValuesIn(forward_error_cases()), error_case_name);

class MseLossBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(MseLossBackwardErrors, ExactStatusAndMessage) {
  check_error_case(mse_call().backward, invoke_backward, "kn_mse_loss_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(MseLoss, MseLossBackwardErrors, ::testing::ValuesIn(backward_error_cases()), error_case_name);

}  // namespace
}  // namespace kntest
