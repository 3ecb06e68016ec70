// The fuzz entries of kn_hardswish_forward / kn_hardswish_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_hardswish_forward).
#include "elementwise_entry.hpp"
#include "kernels/hardswish.h"

namespace {

constexpr const fz::ScalarSpec* kParams = nullptr;

kn_status forward(fz::Call& c) { return kn_hardswish_forward(c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_hardswish_backward(c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(hardswish, "x", kParams, 0, forward, backward);

}  // namespace
