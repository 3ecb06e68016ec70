// The operands of the normalisation ops' fuzz entries (layer_norm.cpp,
// group_norm.cpp), made after the op has drawn its shapes: x (and dy, dx) of
// shape x, weight, bias, dweight, dbias of shape param, mean, rstd of shape
// stat; the optional ones present with the odds below, one float dtype for all.
#pragma once

#include <cstdint>
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

}  // namespace fz_norm
