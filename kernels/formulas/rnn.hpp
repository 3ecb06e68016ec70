// The per-element gate formulas of the recurrent layers, shared by the CPU
// kernel (kernels/cpu/rnn.cpp) and the CUDA kernel (kernels/cuda/rnn.cu), so
// both compute the same maths in the same order. T is float or double; float
// is computed in float, as torch does. Gate order and formulas are torch's
// (kernels/rnn.h). One call = one hidden unit j of one batch row.
//
// Forward, from the pre-activations (x and h parts summed, biases included):
//   RNN   h = tanh(a) | relu(a)
//   LSTM  i, f, o = sigmoid(.), g = tanh(.);  c = f c' + i g;  m = o tanh(c)
//   GRU   r = sigmoid(ar), z = sigmoid(az), n = tanh(an_x + r an_h);
//         h = (1 - z) n + z h'            (' = the previous step)
// Backward, from the saved activations (what the reserve keeps), gives the
// gradients of the pre-activations and of the previous state.
#pragma once

#include <cmath>

#include "kernels/formulas/sigmoid.hpp"
#include "kernels/internal/math.hpp"

namespace kn::rnn {

// relu that keeps NaN (as torch.relu): a comparison with NaN is false.
template <typename T>
KN_HD T relu(T a) { return a < T(0) ? T(0) : a; }

// ----------------------------------------------------------------- RNN
template <typename T>
KN_HD T rnn_forward(T a, bool tanh_mode) { return tanh_mode ? tanh_t(a) : relu(a); }
// da from dh and the forward's output h.
template <typename T>
KN_HD T rnn_backward(T dh, T h, bool tanh_mode) {
  return tanh_mode ? dh * (T(1) - h * h) : (h > T(0) ? dh : T(0));
}

// ----------------------------------------------------------------- LSTM
// In: the pre-activations i f g o and c' (c_prev); out: the activations in
// place, c and m = o tanh(c).
template <typename T>
KN_HD void lstm_forward(T& i, T& f, T& g, T& o, T c_prev, T& c, T& m) {
  i = act::sigmoid(i);
  f = act::sigmoid(f);
  g = tanh_t(g);
  o = act::sigmoid(o);
  c = f * c_prev + i * g;
  m = o * tanh_t(c);
}
// In: the activations, c', dm (the gradient of m = o tanh(c)) and dc (of c,
// from the next step). Out: the pre-activation gradients and dc'.
template <typename T>
KN_HD void lstm_backward(T i, T f, T g, T o, T c_prev, T dm, T dc, T& di, T& df, T& dg, T& d_o,
                         T& dc_prev) {
  const T c = f * c_prev + i * g;  // recomputed, as the forward computed it
  const T tc = tanh_t(c);
  const T dct = dc + dm * o * (T(1) - tc * tc);
  d_o = dm * tc * o * (T(1) - o);
  di = dct * g * i * (T(1) - i);
  dg = dct * i * (T(1) - g * g);
  df = dct * c_prev * f * (T(1) - f);
  dc_prev = dct * f;
}

// ----------------------------------------------------------------- GRU
// In: the x parts xr xz xn (W_i. x + b_i.), the h parts hr hz hn
// (W_h. h' + b_h.) and h'. Out: r z n in place of xr xz xn, and h.
template <typename T>
KN_HD void gru_forward(T& xr, T& xz, T& xn, T hr, T hz, T hn, T h_prev, T& h) {
  const T r = act::sigmoid(xr + hr), z = act::sigmoid(xz + hz);
  const T n = tanh_t(xn + r * hn);
  h = (T(1) - z) * n + z * h_prev;
  xr = r, xz = z, xn = n;
}
// In: r z n, hn (W_hn h' + b_hn), h' and dh. Out: the gradients of the x
// parts' pre-activations (dxr dxz dxn), of the h parts' (dhr = dxr,
// dhz = dxz, dhn) and the direct part of dh' (z dh; the rest is
// W_h^T of the h parts' gradients).
template <typename T>
KN_HD void gru_backward(T r, T z, T n, T hn, T h_prev, T dh, T& dxr, T& dxz, T& dxn, T& dhn,
                        T& dh_prev_direct) {
  const T dn = dh * (T(1) - z) * (T(1) - n * n);
  const T dz = dh * (h_prev - n) * z * (T(1) - z);
  const T dr = dn * hn * r * (T(1) - r);
  dxr = dr, dxz = dz, dxn = dn;
  dhn = dn * r;
  dh_prev_direct = dh * z;
}

}  // namespace kn::rnn
