// Naive double-precision reference implementations of every op, on logical
// row-major std::vector<double> values (HostTensor::values()). Written for
// obviousness, not speed: the tests compare the library against these.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/kernels.h"

namespace kntest::ref {

using Vec = std::vector<double>;

// y(N,out) = x(N,in) w(out,in)^T + b(out); b empty = no bias.
inline Vec linear_forward(const Vec& x, const Vec& w, const Vec& b, int64_t N, int64_t in,
                          int64_t out) {
  Vec y(static_cast<size_t>(N * out));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) s += x[n * in + i] * w[o * in + i];
      y[n * out + o] = s;
    }
  return y;
}

struct LinearGrads {
  Vec dx, dw, db;
};

// dx = dy w, dw = dy^T x, db = sum_n dy.
inline LinearGrads linear_backward(const Vec& dy, const Vec& x, const Vec& w, int64_t N,
                                   int64_t in, int64_t out) {
  LinearGrads g{Vec(static_cast<size_t>(N * in), 0.0), Vec(static_cast<size_t>(out * in), 0.0),
                Vec(static_cast<size_t>(out), 0.0)};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      const double d = dy[n * out + o];
      g.db[o] += d;
      for (int64_t i = 0; i < in; ++i) {
        g.dx[n * in + i] += d * w[o * in + i];
        g.dw[o * in + i] += d * x[n * in + i];
      }
    }
  return g;
}

inline Vec relu_forward(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] < 0 ? 0.0 : x[i];  // NaN stays NaN
  return y;
}

inline Vec relu_backward(const Vec& dy, const Vec& x) {
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = x[i] > 0 ? dy[i] : 0.0;
  return dx;
}

// NONE: element-wise (input - target)^2; MEAN / SUM: one value.
inline Vec mse_loss_forward(kn_reduction r, const Vec& input, const Vec& target) {
  Vec l(input.size());
  double sum = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    const double d = input[i] - target[i];
    l[i] = d * d;
    sum += l[i];
  }
  if (r == KN_REDUCTION_NONE) return l;
  if (r == KN_REDUCTION_SUM) return {sum};
  return {input.empty() ? std::numeric_limits<double>::quiet_NaN()
                        : sum / static_cast<double>(input.size())};
}

struct MseGrads {
  Vec dinput, dtarget;
};

// dout: input's size (NONE) or one value (MEAN / SUM).
inline MseGrads mse_loss_backward(kn_reduction r, const Vec& dout, const Vec& input,
                                  const Vec& target) {
  MseGrads g{Vec(input.size()), Vec(input.size())};
  const double scale =
      r == KN_REDUCTION_MEAN && !input.empty() ? 2.0 / static_cast<double>(input.size()) : 2.0;
  for (size_t i = 0; i < input.size(); ++i) {
    const double d = scale * (input[i] - target[i]) * (r == KN_REDUCTION_NONE ? dout[i] : dout[0]);
    g.dinput[i] = d;
    g.dtarget[i] = -d;
  }
  return g;
}

}  // namespace kntest::ref
