// The fuzz entries of an element-wise op written with the scaffold
// (tests/fuzz/ops/<op>.cpp): valid calls of every layout the harness makes,
// in place a quarter of the time, the op's scalar parameters at valid values
// or (mutated) NaN, inf and out of their domain -- which the op must refuse.
//
//   constexpr fz::ScalarSpec kParams[] = {{"beta", 1.0, fz::ScalarSpec::Float, fz::ScalarSpec::Nonzero}};
//   kn_status forward(fz::Call& c) { return kn_softplus_forward(c.dp[0], ..., c.t(0), c.t(1), c.exec()); }
//   kn_status backward(fz::Call& c) { ... c.t(0), c.t(1), c.t(2), c.exec()); }
//   KN_FUZZ_ELEMENTWISE(softplus, "x", kParams, 1, forward, backward)
#pragma once

#include <cmath>
#include <string>

#include "harness.hpp"

namespace fz {

struct ScalarSpec {
  enum Type { Float, Int, Bool };
  enum Rule { Any, Positive, Nonnegative, Nonzero };
  const char* name;
  double value;  // the default
  Type type;
  Rule rule;
};

inline bool scalar_valid(const ScalarSpec& s, double v) {
  if (s.type == ScalarSpec::Bool) return v == 0 || v == 1;
  if (!std::isfinite(v)) return false;
  switch (s.rule) {
    case ScalarSpec::Positive: return v > 0;
    case ScalarSpec::Nonnegative: return v >= 0;
    case ScalarSpec::Nonzero: return v != 0;
    default: return true;
  }
}

// Valid parameter values: the default, or it scaled, where that stays valid.
template <const ScalarSpec* P, int N>
void gen_params(Call& c) {
  for (int i = 0; i < N; ++i) {
    const ScalarSpec& s = P[i];
    static const double scale[] = {1, 1, 0.5, 2, -1, 3};
    double v = s.type == ScalarSpec::Bool ? double(c.src->coin(1, 2)) : s.value * c.src->pick(scale);
    if (s.type == ScalarSpec::Int) v = std::round(v);
    c.dp[i] = scalar_valid(s, v) ? v : s.value;
  }
}
template <const ScalarSpec* P, int N>
void gen_forward(Call& c) {
  gen_params<P, N>(c);
  gen_elementwise_forward(c);
}
template <const ScalarSpec* P, int N>
void gen_backward(Call& c) {
  gen_params<P, N>(c);
  gen_elementwise_backward(c);
}
// One parameter set to a value the op must refuse.
template <const ScalarSpec* P, int N>
void mutate_params(Call& c) {
  if (N == 0) return;
  const int i = static_cast<int>(c.src->below(N));
  const ScalarSpec& s = P[i];
  switch (s.type) {
    case ScalarSpec::Bool: { static const double v[] = {2, -1, 1e9}; c.dp[i] = c.src->pick(v); break; }
    case ScalarSpec::Int: c.dp[i] = s.rule == ScalarSpec::Any ? c.dp[i] : (s.rule == ScalarSpec::Positive ? 0 : -1); break;
    default:
      if (s.rule != ScalarSpec::Any && c.src->coin(1, 2))
        c.dp[i] = s.rule == ScalarSpec::Nonnegative ? -0.5 : (s.rule == ScalarSpec::Positive ? -1.0 : 0.0);
      else
        c.dp[i] = bad_finite(c);
  }
  c.mutations.push_back(std::string(s.name) + " mutated");
}
template <const ScalarSpec* P, int N>
void finish_params(Call& c) {
  for (int i = 0; i < N; ++i)
    if (!scalar_valid(P[i], c.dp[i])) c.must_fail("param-range", P[i].name);
}
template <const ScalarSpec* P, int N>
std::string describe_params(const Call& c) {
  std::string s;
  for (int i = 0; i < N; ++i) s += std::string(i ? " " : "") + P[i].name + "=" + std::to_string(c.dp[i]);
  return s;
}

}  // namespace fz

#define KN_FUZZ_ELEMENTWISE(op, saved, params, n, forward, backward)                                  \
  [[maybe_unused]] static const int kn_fuzz_registered_##op##_forward = ::fz::register_entry(          \
      {"kn_" #op "_forward",                                                                          \
       {{"x", ::fz::Role::In, ::fz::Kind::Float, -1, false},                                          \
        {"y", ::fz::Role::Out, ::fz::Kind::Float, -1, false}},                                        \
       ::fz::gen_forward<params, n>, forward, ::fz::mutate_params<params, n>,                        \
       ::fz::finish_params<params, n>, nullptr, ::fz::describe_params<params, n>, {{1, 0}}, 0});      \
  [[maybe_unused]] static const int kn_fuzz_registered_##op##_backward = ::fz::register_entry(         \
      {"kn_" #op "_backward",                                                                         \
       {{"dy", ::fz::Role::In, ::fz::Kind::Float, -1, false},                                         \
        {saved, ::fz::Role::In, ::fz::Kind::Float, -1, false},                                        \
        {"dx", ::fz::Role::Out, ::fz::Kind::Float, -1, false}},                                       \
       ::fz::gen_backward<params, n>, backward, ::fz::mutate_params<params, n>,                      \
       ::fz::finish_params<params, n>, nullptr, ::fz::describe_params<params, n>, {{2, 0}, {2, 1}}, 0})
