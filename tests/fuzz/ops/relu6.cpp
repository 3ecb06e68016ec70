// The fuzz entries of kn_relu6_forward / kn_relu6_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_relu6_forward).
#include "elementwise_entry.hpp"
#include "kernels/relu6.h"

namespace {

constexpr const fz::ScalarSpec* kParams = nullptr;

kn_status forward(fz::Call& c) { return kn_relu6_forward(c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_relu6_backward(c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(relu6, "y", kParams, 0, forward, backward);

}  // namespace
