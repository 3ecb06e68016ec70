// The fuzz entries of kn_@@op@@_forward / kn_@@op@@_backward
// (tests/fuzz/elementwise_entry.hpp; make fuzz ENTRY=kn_@@op@@_forward).
#include "elementwise_entry.hpp"
#include "kernels/@@op@@.h"

namespace {

@@fuzz_params_decl@@
kn_status forward(fz::Call& c) { return kn_@@op@@_forward(@@fuzz_args@@c.t(0), c.t(1), c.exec()); }
kn_status backward(fz::Call& c) {
  return kn_@@op@@_backward(@@fuzz_args@@c.t(0), c.t(1), c.t(2), c.exec());
}

KN_FUZZ_ELEMENTWISE(@@op@@, "@@saved@@", kParams, @@nparams@@, forward, backward);

}  // namespace
