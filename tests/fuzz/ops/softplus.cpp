// The fuzz entries of kn_softplus_forward / kn_softplus_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_softplus_forward).
#include "elementwise_entry.hpp"
#include "kernels/softplus.h"

namespace {

constexpr fz::ScalarSpec kParams[] = {
    {"beta", 1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Nonzero},
    {"threshold", 20.0, fz::ScalarSpec::Float, fz::ScalarSpec::Any},
};

kn_status forward(fz::Call& c) { return kn_softplus_forward(static_cast<double>(c.dp[0]), static_cast<double>(c.dp[1]), c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_softplus_backward(static_cast<double>(c.dp[0]), static_cast<double>(c.dp[1]), c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(softplus, "x", kParams, 2, forward, backward);

}  // namespace
