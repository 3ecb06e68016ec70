// The fuzz entries of kn_hardtanh_forward / kn_hardtanh_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_hardtanh_forward).
#include "elementwise_entry.hpp"
#include "kernels/hardtanh.h"

namespace {

constexpr fz::ScalarSpec kParams[] = {
    {"min_val", -1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Any},
    {"max_val", 1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Any},
};

kn_status forward(fz::Call& c) { return kn_hardtanh_forward(static_cast<double>(c.dp[0]), static_cast<double>(c.dp[1]), c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_hardtanh_backward(static_cast<double>(c.dp[0]), static_cast<double>(c.dp[1]), c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(hardtanh, "y", kParams, 2, forward, backward);

}  // namespace
