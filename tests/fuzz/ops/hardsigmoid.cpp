// The fuzz entries of kn_hardsigmoid_forward / kn_hardsigmoid_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_hardsigmoid_forward).
#include "elementwise_entry.hpp"
#include "kernels/hardsigmoid.h"

namespace {

constexpr const fz::ScalarSpec* kParams = nullptr;

kn_status forward(fz::Call& c) { return kn_hardsigmoid_forward(c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_hardsigmoid_backward(c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(hardsigmoid, "x", kParams, 0, forward, backward);

}  // namespace
