// C entry points of max_pool2d and avg_pool2d: validate the parameters and
// the tensors (output size as torch computes it), then run the CPU or CUDA kernel.
#include <climits>

#include "capi/boundary.hpp"
#include "capi/pool_indices.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/pool2d.hpp"

namespace {

using kn::capi::OpValidator;
using kn::capi::check_index_width;

// floor(a / b) for b > 0 (C++ division truncates toward zero).
__int128 floor_div(__int128 a, __int128 b) {
  const __int128 q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// torch's pooling_output_shape: the last window must start inside the input
// or the left padding under ceil_mode. In 128-bit arithmetic: with sizes up
// to INT64_MAX and window parameters up to INT32_MAX nothing overflows, and
// the caller checks that the result fits in int64.
__int128 pooled_size(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t d, bool ceil_mode) {
  const __int128 In = in, S = s, Pad = pad;
  __int128 out = floor_div(In + 2 * Pad - __int128(d) * (k - 1) - 1 + (ceil_mode ? S - 1 : 0), S) + 1;
  if (ceil_mode && (out - 1) * S >= In + Pad) --out;
  return out;
}

struct Window {
  int64_t k[2], s[2], pad[2], d[2];
  bool ceil_mode;
};

// Ranges of kernel_size, stride, dilation and padding, with messages naming
// the field ("p->padding").
void check_window(OpValidator& v, const Window& w) {
  auto pair = [](const int64_t* a) {
    return "(" + std::to_string(a[0]) + ", " + std::to_string(a[1]) + ")";
  };
  for (int i = 0; i < 2; ++i) {
    v.require(w.k[i] >= 1 && w.k[i] <= INT32_MAX, KN_ERR_INVALID_ARGUMENT,
              "p->kernel_size: each must be in [1, INT32_MAX], got ", pair(w.k));
    v.require(w.s[i] >= 1 && w.s[i] <= INT32_MAX, KN_ERR_INVALID_ARGUMENT,
              "p->stride: each must be in [1, INT32_MAX], got ", pair(w.s));
    v.require(w.d[i] >= 1 && w.d[i] <= INT32_MAX, KN_ERR_INVALID_ARGUMENT,
              "p->dilation: each must be in [1, INT32_MAX], got ", pair(w.d));
  }
  for (int i = 0; i < 2; ++i)
    v.require(w.pad[i] >= 0 && w.pad[i] <= w.k[i] / 2, KN_ERR_INVALID_ARGUMENT,
              "p->padding: each must be in [0, kernel_size / 2], got padding ", pair(w.pad),
              " for kernel_size ", pair(w.k));
}

// (Ho, Wo) of an (H, W) = in[0], in[1] input; fails when either is < 1.
void output_size(OpValidator& v, const Window& w, const int64_t in[2], const char* x_name,
                 int64_t out[2]) {
  for (int i = 0; i < 2; ++i) {
    const __int128 o = pooled_size(in[i], w.k[i], w.s[i], w.pad[i], w.d[i], w.ceil_mode);
    // o <= in + 2 pad + s can exceed INT64_MAX only for sizes near it.
    v.require(o <= INT64_MAX, KN_ERR_INVALID_ARGUMENT, x_name, ": input size (", in[0], ", ",
              in[1], ") with this window gives an output size that overflows int64");
    out[i] = static_cast<int64_t>(o < 0 ? 0 : o);
  }
  v.require(out[0] >= 1 && out[1] >= 1, KN_ERR_SHAPE_MISMATCH, x_name, ": input size (",
            in[0], ", ", in[1], ") is too small for the pooling window: output size (",
            out[0], ", ", out[1], ")");
}

// (Ho, Wo) of x:(N,C,H,W).
void output_size(OpValidator& v, const Window& w, const kn_tensor& x, const char* x_name,
                 int64_t out[2]) {
  output_size(v, w, x.shape + 2, x_name, out);
}

Window window_of(const kn_max_pool2d_params& p) {
  return {{p.kernel_size[0], p.kernel_size[1]},
          {p.stride[0], p.stride[1]},
          {p.padding[0], p.padding[1]},
          {p.dilation[0], p.dilation[1]},
          p.ceil_mode != 0};
}

Window window_of(const kn_avg_pool2d_params& p) {
  return {{p.kernel_size[0], p.kernel_size[1]},
          {p.stride[0], p.stride[1]},
          {p.padding[0], p.padding[1]},
          {1, 1},
          p.ceil_mode != 0};
}

template <typename Params>
const Params& checked_params(OpValidator& v, const Params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.expect_range(p->ceil_mode, "p->ceil_mode", 0, 1);
  check_window(v, window_of(*p));
  return *p;
}

const kn_avg_pool2d_params& checked_avg_params(OpValidator& v, const kn_avg_pool2d_params* p) {
  const kn_avg_pool2d_params& P = checked_params(v, p);
  v.expect_range(P.count_include_pad, "p->count_include_pad", 0, 1);
  v.expect_range(P.divisor_override, "p->divisor_override", 0, INT32_MAX);
  return P;
}

using kn::capi::Dim;

}  // namespace

extern "C" {

kn_status kn_max_pool2d_output_size(const kn_max_pool2d_params* p, int64_t height,
                                    int64_t width, int64_t* out) {
  return kn::capi::guard("kn_max_pool2d_output_size", [&] {
    OpValidator v("kn_max_pool2d_output_size");
    const kn_max_pool2d_params& P = checked_params(v, p);
    v.require(out != nullptr, KN_ERR_INVALID_ARGUMENT, "out: must not be NULL");
    v.require(height >= 0 && width >= 0, KN_ERR_INVALID_ARGUMENT,
              "height, width: must be >= 0, got (", height, ", ", width, ")");
    const int64_t in[2] = {height, width};
    int64_t o[2];
    output_size(v, window_of(P), in, "input", o);
    out[0] = o[0];
    out[1] = o[1];
  });
}

kn_status kn_max_pool2d_forward(const kn_max_pool2d_params* p, const kn_tensor* x,
                                const kn_tensor* y, const kn_tensor* indices, const kn_exec* ex) {
  return kn::capi::guard("kn_max_pool2d_forward", [&] {
    OpValidator v("kn_max_pool2d_forward");
    const kn_max_pool2d_params& P = checked_params(v, p);
    const kn_tensor& X = v.input(x, "x", 4);
    int64_t o[2];
    output_size(v, window_of(P), X, "x", o);
    const kn_tensor& Y = v.output(y, "y", 4);
    const kn_tensor& I = v.output(indices, "indices", 4, kn::capi::Kind::Index);
    const Dim n{X.shape[0], "N from x"}, c{X.shape[1], "C from x"};
    v.expect_shape(Y, "y", {n, c, {o[0], "Ho"}, {o[1], "Wo"}});
    v.expect_shape(I, "indices", {n, c, {o[0], "Ho"}, {o[1], "Wo"}});
    check_index_width(v, I, X, "x");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::max_pool2d_forward(P, X, Y, I, ctx); },
        [&](const auto& ctx) { kn::cuda::max_pool2d_forward(P, X, Y, I, ctx); });
  });
}

kn_status kn_max_pool2d_backward(const kn_max_pool2d_params* p, const kn_tensor* dy,
                                 const kn_tensor* indices, const kn_tensor* dx, const kn_exec* ex) {
  return kn::capi::guard("kn_max_pool2d_backward", [&] {
    OpValidator v("kn_max_pool2d_backward");
    const kn_max_pool2d_params& P = checked_params(v, p);
    const kn_tensor& DY = v.input(dy, "dy", 4);
    const kn_tensor& I = v.input(indices, "indices", 4, kn::capi::Kind::Index);
    const kn_tensor& DX = v.output(dx, "dx", 4);
    int64_t o[2];
    output_size(v, window_of(P), DX, "dx", o);
    const Dim n{DX.shape[0], "N from dx"}, c{DX.shape[1], "C from dx"};
    v.expect_shape(DY, "dy", {n, c, {o[0], "Ho"}, {o[1], "Wo"}});
    v.same_shape(DY, "dy", I, "indices");
    check_index_width(v, I, DX, "dx");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::max_pool2d_backward(P, DY, I, DX, ctx); },
        [&](const auto& ctx) { kn::cuda::max_pool2d_backward(P, DY, I, DX, ctx); });
  });
}

kn_status kn_avg_pool2d_forward(const kn_avg_pool2d_params* p, const kn_tensor* x,
                                const kn_tensor* y, const kn_exec* ex) {
  return kn::capi::guard("kn_avg_pool2d_forward", [&] {
    OpValidator v("kn_avg_pool2d_forward");
    const kn_avg_pool2d_params& P = checked_avg_params(v, p);
    const kn_tensor& X = v.input(x, "x", 4);
    int64_t o[2];
    output_size(v, window_of(P), X, "x", o);
    const kn_tensor& Y = v.output(y, "y", 4);
    v.expect_shape(Y, "y", {{X.shape[0], "N from x"}, {X.shape[1], "C from x"}, {o[0], "Ho"}, {o[1], "Wo"}});
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::avg_pool2d_forward(P, X, Y, ctx); },
        [&](const auto& ctx) { kn::cuda::avg_pool2d_forward(P, X, Y, ctx); });
  });
}

kn_status kn_avg_pool2d_backward(const kn_avg_pool2d_params* p, const kn_tensor* dy,
                                 const kn_tensor* dx, const kn_exec* ex) {
  return kn::capi::guard("kn_avg_pool2d_backward", [&] {
    OpValidator v("kn_avg_pool2d_backward");
    const kn_avg_pool2d_params& P = checked_avg_params(v, p);
    const kn_tensor& DY = v.input(dy, "dy", 4);
    const kn_tensor& DX = v.output(dx, "dx", 4);
    int64_t o[2];
    output_size(v, window_of(P), DX, "dx", o);
    v.expect_shape(DY, "dy", {{DX.shape[0], "N from dx"}, {DX.shape[1], "C from dx"}, {o[0], "Ho"}, {o[1], "Wo"}});
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::avg_pool2d_backward(P, DY, DX, ctx); },
        [&](const auto& ctx) { kn::cuda::avg_pool2d_backward(P, DY, DX, ctx); });
  });
}

}  // extern "C"
