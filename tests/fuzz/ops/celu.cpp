// The fuzz entries of kn_celu_forward / kn_celu_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_celu_forward).
#include "elementwise_entry.hpp"
#include "kernels/celu.h"

namespace {

constexpr fz::ScalarSpec kParams[] = {
    {"alpha", 1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Nonzero},
};

kn_status forward(fz::Call& c) { return kn_celu_forward(static_cast<double>(c.dp[0]), c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_celu_backward(static_cast<double>(c.dp[0]), c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(celu, "x", kParams, 1, forward, backward);

}  // namespace
