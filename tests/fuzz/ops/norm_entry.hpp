// What the normalisation ops' fuzz entries (layer_norm.cpp, group_norm.cpp)
// share. Operands, made after the op has drawn its shapes: x (and dy, dx) of
// shape x, weight, bias, dweight, dbias of shape param, mean, rstd of shape
// stat; the optional ones present with the odds below, one float dtype for all.
// Mutations of p = {<integer parameter>, eps} (dp[0]), and their common checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "harness.hpp"

namespace fz_norm {

using Shape = std::vector<int64_t>;

// x weight bias y mean rstd
inline void make_forward(fz::Call& c, const Shape& x, const Shape& param, const Shape& stat) {
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, x, dt);
  if (c.src->coin(2, 3)) fz::make(c, 1, param, dt);
  if (c.src->coin(2, 3)) fz::make(c, 2, param, dt);
  fz::make(c, 3, x, dt);
  fz::make(c, 4, stat, dt);
  fz::make(c, 5, stat, dt);
}

// dy x weight mean rstd dx dweight dbias
inline void make_backward(fz::Call& c, const Shape& x, const Shape& param, const Shape& stat) {
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, x, dt);
  fz::make(c, 1, x, dt);
  if (c.src->coin(1, 2)) fz::make(c, 2, param, dt);
  fz::make(c, 3, stat, dt);
  fz::make(c, 4, stat, dt);
  if (c.src->coin(2, 3)) fz::make(c, 5, x, dt);
  if (c.src->coin(2, 3)) fz::make(c, 6, param, dt);
  if (c.src->coin(2, 3)) fz::make(c, 7, param, dt);
}

// One mutation of p: NULL, the op's integer parameter (mutate_param(source)),
// or eps out of its rules.
template <typename F>
void mutate_params(fz::Call& c, F mutate_param) {
  fz::Source& s = *c.src;
  switch (s.below(3)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: mutate_param(s); return;
    default: {
      constexpr double kInf = std::numeric_limits<double>::infinity();
      constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
      static const double v[] = {kNan, kInf, -kInf, -1.0, -1e-300};
      c.dp[0] = s.pick(v);
      c.mutations.push_back("eps mutated");
    }
  }
}

// The checks of p that do not depend on the op: p = NULL and eps must fail.
// Returns whether the op's own checks still apply (p not NULL).
inline bool finish_params(fz::Call& c) {
  if (c.p_null) {
    c.must_fail("params-null");
    return false;
  }
  if (!(std::isfinite(c.dp[0]) && c.dp[0] >= 0)) c.must_fail("param-range", "eps");
  return true;
}

}  // namespace fz_norm
