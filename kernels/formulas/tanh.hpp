// The formulas of tanh, shared by the CPU kernel (kernels/cpu/tanh.cpp) and
// the CUDA kernel (kernels/cuda/tanh.cu), so both compute the same formulas
// in the same order. T is float or double; float is computed in float, as
// torch does. On the CPU, float tanh is the vectorisable kn::fast_tanhf
// (kernels/internal/fast_math.hpp, max errors there) and double uses std::;
// CUDA uses its own device math for both.
//
//   forward:  y  = tanh(x)
//   backward: dx = dy (1 - y^2), from the forward's output y
#pragma once

#include <cmath>

#include "kernels/internal/math.hpp"  // tanh_t (vectorisable float on the CPU)

namespace kn::act {

template <typename T>
KN_HD T tanh(T x) { return tanh_t(x); }
template <typename T>
KN_HD T tanh_grad(T dy, T y) { return dy * (T(1) - y * y); }

}  // namespace kn::act
