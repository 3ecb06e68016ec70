// The fuzz entries of kn_hardtanh_forward / kn_hardtanh_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_hardtanh_forward).
#include <utility>

#include "elementwise_entry.hpp"
#include "kernels/hardtanh.h"

namespace {

constexpr fz::ScalarSpec kParams[] = {
    {"min_val", -1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Any},
    {"max_val", 1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Any},
};

// The generic scalar generator draws each parameter alone and does not know
// hardtanh's rule between them (min_val <= max_val, refused otherwise: tested in
// test_hardtanh.cpp), so a finite pair in the wrong order is passed sorted. A NaN
// compares false and stays, and must be refused.
void sorted(const fz::Call& c, double& lo, double& hi) {
  lo = static_cast<double>(c.dp[0]), hi = static_cast<double>(c.dp[1]);
  if (lo > hi) std::swap(lo, hi);
}
kn_status forward(fz::Call& c) {
  double lo, hi;
  sorted(c, lo, hi);
  return kn_hardtanh_forward(lo, hi, c.t(0), c.t(1), c.exec());
}
kn_status backward(fz::Call& c) {
  double lo, hi;
  sorted(c, lo, hi);
  return kn_hardtanh_backward(lo, hi, c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(hardtanh, "y", kParams, 2, forward, backward);

}  // namespace
