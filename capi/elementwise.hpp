// Validation shared by the element-wise C entry points (capi/<op>.cpp of
// relu-like ops): the tensor rules and the checks of scalar parameters.
//
//   kn::capi::unary_forward(v, x, y, run)            x, y one shape; y may be x
//   kn::capi::unary_backward(v, dy, a, "x", dx, run) dy, a, dx one shape; dx may be dy or a
//   kn::capi::check_scalar(v, "beta", beta, Scalar::Nonzero)
//
// Scalar parameters are plain C doubles, int64s or int32 flags. A double is
// always required to be finite (NaN or inf in a parameter is a caller's bug,
// never a meaningful setting); Scalar::* adds the op's own domain. Where torch
// accepts a value that makes no sense for the formula (softplus with beta = 0
// divides by zero), refuse it here with a message that says why: the caller
// gets KN_ERR_INVALID_ARGUMENT and a one-line reason instead of silent NaNs.
#pragma once

#include <cmath>
#include <cstdint>

#include "capi/validate.hpp"

namespace kn::capi {

// y = f(x): x, y of one shape; y may be x exactly (in place).
template <typename Run>
void unary_forward(OpValidator& v, const kn_tensor* x, const kn_tensor* y, Run&& run) {
  const kn_tensor& X = v.input(x, "x");
  v.allow_in_place();
  const kn_tensor& Y = v.output(y, "y");
  v.same_shape(X, "x", Y, "y");
  run(X, Y);
}

// dx = g(dy, a): dy, a, dx of one shape (a: the saved x or y, named a_name);
// dx may be dy (or a) exactly.
template <typename Run>
void unary_backward(OpValidator& v, const kn_tensor* dy, const kn_tensor* a, const char* a_name,
                    const kn_tensor* dx, Run&& run) {
  const kn_tensor& DY = v.input(dy, "dy");
  const kn_tensor& A = v.input(a, a_name);
  v.same_shape(DY, "dy", A, a_name);
  v.allow_in_place();
  const kn_tensor& DX = v.output(dx, "dx");
  v.same_shape(DY, "dy", DX, "dx");
  run(DY, A, DX);
}

// The domain of a scalar parameter, beyond "finite" (doubles) / any (ints).
enum class Scalar { Any, Positive, Nonnegative, Nonzero };

inline const char* scalar_rule(Scalar s) {
  switch (s) {
    case Scalar::Positive: return "> 0";
    case Scalar::Nonnegative: return ">= 0";
    case Scalar::Nonzero: return "!= 0";
    default: return "";
  }
}

inline bool scalar_ok(double value, Scalar s) {
  switch (s) {
    case Scalar::Positive: return value > 0;
    case Scalar::Nonnegative: return value >= 0;
    case Scalar::Nonzero: return value != 0;
    default: return true;
  }
}

// A double parameter: finite, and in its domain.
inline void check_scalar(OpValidator& v, const char* name, double value, Scalar s = Scalar::Any) {
  v.require(std::isfinite(value), KN_ERR_INVALID_ARGUMENT, name, ": expected a finite value, got ",
            value);
  v.require(scalar_ok(value, s), KN_ERR_INVALID_ARGUMENT, name, ": expected a value ", scalar_rule(s),
            ", got ", value);
}

// An integer parameter in its domain.
inline void check_scalar(OpValidator& v, const char* name, int64_t value, Scalar s = Scalar::Any) {
  v.require(scalar_ok(static_cast<double>(value), s), KN_ERR_INVALID_ARGUMENT, name,
            ": expected a value ", scalar_rule(s), ", got ", value);
}

// A bool parameter passed as int32: 0 or 1.
inline void check_flag(OpValidator& v, const char* name, int32_t value) {
  v.expect_range(value, name, 0, 1);
}

}  // namespace kn::capi
