// kn_gelu_* through the C ABI against naive double-precision references, in
// both forms (approximate = KN_GELU_NONE, KN_GELU_TANH): the activation suite
// of activation_tester.hpp (layouts, size 0, in place, threads, finite
// differences, special values, every validation error), and gelu's own
// checks below. Run alone: make check OP=gelu
#include "activation_tester.hpp"

KN_ACTIVATION_TESTS(Gelu, Act::GeluNone, Act::GeluTanh)

namespace kntest {
namespace {

TEST(Gelu, ScalarArgumentErrors) {
  HostTensor x({3, 4}, KN_FLOAT64), y({3, 4}, KN_FLOAT64), dy({3, 4}, KN_FLOAT64);
  y.fill(std::nan(""));
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn();
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT;
  for (int bad : {-1, 2, 99}) {
    const auto a = static_cast<kn_gelu_approximate>(bad);
    expect_error(kn_gelu_forward(a, &xk, &yk, nullptr), INVALID, "kn_gelu_forward: approximate", y);
    expect_error(kn_gelu_backward(a, &dyk, &xk, &yk, nullptr), INVALID, "kn_gelu_backward: approximate", y);
  }
}

}  // namespace
}  // namespace kntest
