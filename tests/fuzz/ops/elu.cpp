// The fuzz entries of kn_elu_forward / kn_elu_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_elu_forward).
#include "elementwise_entry.hpp"
#include "kernels/elu.h"

namespace {

constexpr fz::ScalarSpec kParams[] = {
    {"alpha", 1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Any},
};

kn_status forward(fz::Call& c) { return kn_elu_forward(static_cast<double>(c.dp[0]), c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_elu_backward(static_cast<double>(c.dp[0]), c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(elu, "x", kParams, 1, forward, backward);

}  // namespace
