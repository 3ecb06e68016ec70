// The fuzz entries of kn_silu_forward / kn_silu_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_silu_forward).
#include "elementwise_entry.hpp"
#include "kernels/silu.h"

namespace {

constexpr const fz::ScalarSpec* kParams = nullptr;

kn_status forward(fz::Call& c) { return kn_silu_forward(c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_silu_backward(c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(silu, "x", kParams, 0, forward, backward);

}  // namespace
