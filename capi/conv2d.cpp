// C entry points of Conv2d: validate, then run the CPU or CUDA kernel.
//
// Sizes: N, O, Ho, Wo from dy (backward) or x, w (forward); C, H, W from x
// (or dx); kH, kW from w (or dw). Every derived size is checked against every
// tensor that carries it, and (Ho, Wo) against the convolution formula,
// computed in 128-bit arithmetic so that huge parameters cannot overflow.
#include <cstdint>
#include <string>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/conv2d.hpp"

using kn::capi::Dim;

namespace {

// p itself: not NULL, stride >= 1, padding >= 0, dilation >= 1, groups >= 1.
// The 2^40 bounds keep the output-size formula exact in 128-bit arithmetic
// (out_size); they do not make every product in int64 safe (stride 2^40 times
// a tensor stride can overflow), so the kernels form offsets only of
// positions inside the tensors (whose byte extents validation bounds), never
// conv stride x tensor stride on its own.
const kn_conv2d_params& check_params(kn::capi::OpValidator& v, const kn_conv2d_params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  constexpr int64_t kMax = int64_t(1) << 40;
  for (int d = 0; d < 2; ++d) {
    v.require(p->stride[d] >= 1 && p->stride[d] <= kMax, KN_ERR_INVALID_ARGUMENT, "p->stride[", d,
              "]: must be in [1, 2^40], got ", p->stride[d]);
    v.require(p->padding[d] >= 0 && p->padding[d] <= kMax, KN_ERR_INVALID_ARGUMENT, "p->padding[",
              d, "]: must be in [0, 2^40], got ", p->padding[d]);
    v.require(p->dilation[d] >= 1 && p->dilation[d] <= kMax, KN_ERR_INVALID_ARGUMENT,
              "p->dilation[", d, "]: must be in [1, 2^40], got ", p->dilation[d]);
  }
  v.require(p->groups >= 1, KN_ERR_INVALID_ARGUMENT, "p->groups: must be >= 1, got ", p->groups);
  return *p;
}

// C (from `name`) must be divisible by groups.
void check_divisible(kn::capi::OpValidator& v, int64_t channels, const char* what,
                     const char* name, int64_t groups) {
  v.require(channels % groups == 0, KN_ERR_SHAPE_MISMATCH, name, ": ", what, " = ", channels,
            " is not divisible by p->groups = ", groups);
}

// The kernel extent (dim 2 or 3 of w) must be >= 1.
void check_kernel(kn::capi::OpValidator& v, const kn_tensor& w, const char* name) {
  v.require(w.shape[2] >= 1 && w.shape[3] >= 1, KN_ERR_SHAPE_MISMATCH, name,
            ": kernel size (kH, kW) must be >= 1, got ", kn::shape_string(w));
}

// Output extent along one dim, or a failure naming the tensors it came from.
int64_t out_size(kn::capi::OpValidator& v, const kn_conv2d_params& p, int d, int64_t in,
                 int64_t k, const char* in_name, const char* k_name) {
  const __int128 span = __int128(in) + 2 * __int128(p.padding[d]) -
                        __int128(p.dilation[d]) * (k - 1) - 1;
  v.require(span >= 0, KN_ERR_SHAPE_MISMATCH, k_name, ": the dilated kernel (", d == 0 ? "kH" : "kW",
            " = ", k, ", dilation ", p.dilation[d], ") is larger than the padded input (",
            d == 0 ? "H" : "W", " = ", in, " from ", in_name, " + 2 * padding ", p.padding[d],
            "): the output would be empty");
  const __int128 out = span / p.stride[d] + 1;  // <= in + 2 * 2^40 + 1: can exceed int64
  v.require(out <= INT64_MAX, KN_ERR_INVALID_ARGUMENT, in_name, ": the output size along ",
            d == 0 ? "H" : "W", " (input ", in, ", padding ", p.padding[d], ", stride ",
            p.stride[d], ") overflows int64");
  return static_cast<int64_t>(out);
}

// C = groups * (C / groups) from w's dim 1, checked for overflow.
int64_t channels_from_w(kn::capi::OpValidator& v, const kn_tensor& w, int64_t groups) {
  int64_t c;
  v.require(!__builtin_mul_overflow(w.shape[1], groups, &c), KN_ERR_INVALID_ARGUMENT,
            "p->groups: ", groups, " * C/groups ", w.shape[1], " from w overflows int64");
  return c;
}

}  // namespace

extern "C" {

kn_status kn_conv2d_forward(const kn_conv2d_params* p, const kn_tensor* x, const kn_tensor* w,
                            const kn_tensor* b, const kn_tensor* y, const kn_exec* ex) {
  return kn::capi::guard("kn_conv2d_forward", [&] {
    kn::capi::OpValidator v("kn_conv2d_forward");
    const kn_conv2d_params& P = check_params(v, p);
    const kn_tensor& X = v.input(x, "x", 4);
    const int64_t N = X.shape[0], C = X.shape[1], G = P.groups;
    check_divisible(v, C, "C", "x", G);
    const kn_tensor& W = v.input(w, "w", 4);
    v.expect_shape(W, "w", {{-1}, {C / G, "C/groups from x and p->groups"}, {-1}, {-1}});
    const int64_t O = W.shape[0];
    check_divisible(v, O, "O", "w", G);
    check_kernel(v, W, "w");
    const int64_t Ho = out_size(v, P, 0, X.shape[2], W.shape[2], "x", "w");
    const int64_t Wo = out_size(v, P, 1, X.shape[3], W.shape[3], "x", "w");
    const kn_tensor* B = v.optional_input(b, "b", 1);
    if (B) v.expect_shape(*B, "b", {{O, "O from w"}});
    const kn_tensor& Y = v.output(y, "y", 4);
    v.expect_shape(Y, "y", {{N, "N from x"}, {O, "O from w"}, {Ho, "Ho from x, w and p"},
                            {Wo, "Wo from x, w and p"}});
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::conv2d_forward(P, X, W, B, Y, ctx); },
        [&](const auto& ctx) { kn::cuda::conv2d_forward(P, X, W, B, Y, ctx); });
  });
}

kn_status kn_conv2d_backward(const kn_conv2d_params* p, const kn_tensor* dy, const kn_tensor* x,
                             const kn_tensor* w, const kn_tensor* dx, const kn_tensor* dw,
                             const kn_tensor* db, const kn_exec* ex) {
  return kn::capi::guard("kn_conv2d_backward", [&] {
    kn::capi::OpValidator v("kn_conv2d_backward");
    const kn_conv2d_params& P = check_params(v, p);
    const int64_t G = P.groups;
    const kn_tensor& DY = v.input(dy, "dy", 4);
    const int64_t N = DY.shape[0], O = DY.shape[1];
    check_divisible(v, O, "O", "dy", G);
    // x is needed only for dw, w only for dx.
    v.require(!dw || x, KN_ERR_INVALID_ARGUMENT, "x: must not be NULL when dw is requested");
    v.require(!dx || w, KN_ERR_INVALID_ARGUMENT, "w: must not be NULL when dx is requested");
    const kn_tensor* X = v.optional_input(x, "x", 4);
    if (X) {
      v.expect_shape(*X, "x", {{N, "N from dy"}, {-1}, {-1}, {-1}});
      check_divisible(v, X->shape[1], "C", "x", G);
    }
    const kn_tensor* W = v.optional_input(w, "w", 4);
    if (W) {
      if (X)
        v.expect_shape(*W, "w", {{O, "O from dy"}, {X->shape[1] / G, "C/groups from x and p->groups"},
                                 {-1}, {-1}});
      else
        v.expect_shape(*W, "w", {{O, "O from dy"}, {-1}, {-1}, {-1}});
      check_kernel(v, *W, "w");
    }
    const kn_tensor* DX = v.optional_output(dx, "dx", 4);
    if (DX) {  // W is present
      const int64_t C = channels_from_w(v, *W, G);
      if (X)
        v.expect_shape(*DX, "dx", {{N, "N from dy"}, {C, "C from x"}, {X->shape[2], "H from x"},
                                   {X->shape[3], "W from x"}});
      else
        v.expect_shape(*DX, "dx", {{N, "N from dy"}, {C, "C = groups * w.shape[1]"}, {-1}, {-1}});
    }
    const kn_tensor* DW = v.optional_output(dw, "dw", 4);
    if (DW) {  // X is present
      if (W)
        v.expect_shape(*DW, "dw", {{O, "O from dy"}, {X->shape[1] / G, "C/groups from x"},
                                   {W->shape[2], "kH from w"}, {W->shape[3], "kW from w"}});
      else
        v.expect_shape(*DW, "dw", {{O, "O from dy"}, {X->shape[1] / G, "C/groups from x"}, {-1}, {-1}});
      check_kernel(v, *DW, "dw");
    }
    const kn_tensor* DB = v.optional_output(db, "db", 1);
    if (DB) v.expect_shape(*DB, "db", {{O, "O from dy"}});
    // dy's (Ho, Wo) must follow from the input and kernel sizes, where known.
    const kn_tensor* in = X ? X : DX;
    const kn_tensor* ker = W ? W : DW;
    if (in && ker) {
      const char* in_name = X ? "x" : "dx";
      const char* k_name = W ? "w" : "dw";
      const int64_t Ho = out_size(v, P, 0, in->shape[2], ker->shape[2], in_name, k_name);
      const int64_t Wo = out_size(v, P, 1, in->shape[3], ker->shape[3], in_name, k_name);
      const std::string ho = std::string("Ho from ") + in_name + ", " + k_name + " and p";
      const std::string wo = std::string("Wo from ") + in_name + ", " + k_name + " and p";
      v.expect_shape(DY, "dy", {{-1}, {-1}, {Ho, ho.c_str()}, {Wo, wo.c_str()}});
    }
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::conv2d_backward(P, DY, X, W, DX, DW, DB, ctx); },
        [&](const auto& ctx) { kn::cuda::conv2d_backward(P, DY, X, W, DX, DW, DB, ctx); });
  });
}

}  // extern "C"
