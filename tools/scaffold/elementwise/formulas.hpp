// The formulas of @@op@@, shared by the CPU kernel (kernels/cpu/@@op@@.cpp)
// and the CUDA kernel (kernels/cuda/@@op@@.cu): one struct, T = float or double.
//
//   forward:  y  = @@op@@(x@@doc_params@@)
//   backward: dx = dy * dy/dx, from @@saved_doc@@
//
// Write both in T (float math for float, as torch). Use the vectorisable
// math of kernels/internal/math.hpp -- exp_t, expm1_t, log_t, log1p_t, tanh_t,
// erf_t -- never std::exp/std::log on floats (a libm call per element: ~10x
// slower). Prefer selects (c ? a : b, both arms computed) to branches: the
// loops then vectorise (make check says whether they did). At NaN and +-inf,
// do what torch does (the Python tests compare them).
#pragma once

#include "kernels/internal/math.hpp"

// Until the TODO line below is deleted the C entry points refuse to run
// (KN_ERR_UNSUPPORTED), so every test says what is missing instead of failing
// on numbers.
#define KN_@@OP@@_FORMULAS_TODO "write forward() and backward() in kernels/formulas/@@op@@.hpp"  // TODO: delete

namespace kn::formulas {

template <typename T>
struct @@Op@@ {
  // A direction computing exp/log/erf or a division per element is "heavy": say
  // so and its CPU loop prefetches its inputs (2.6-3x at 16M on an Intel Xeon);
  // a light one (a select, a product) must not (1.5x slower there). See Work in
  // kernels/internal/elementwise.hpp. Absent: light.
  // static constexpr bool kHeavyForward = true, kHeavyBackward = true;
@@formula_members@@
  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    return x;  // TODO(@@op@@): y = @@op@@(x@@doc_params@@)
  }

  // FORMULA backward: dx from dy and @@saved_doc@@.
  KN_HD T backward(T dy, T @@saved@@) const {
    return dy;  // TODO(@@op@@): dx = dy * d@@op@@/dx
  }
};

}  // namespace kn::formulas
