// THE table: one entry per kn_* entry point that returns kn_status (grep
// 'KN_API kn_status' capi/include/kernels/kernels.h). Each entry lists its
// tensor arguments in signature order (input/output, float/index/mask, fixed
// ndim, may be NULL), builds a valid call (gen), calls the library (invoke),
// mutates and classifies its parameters (mutate_params, finish), writes the
// contents that must hold per element (fill: class targets, pool indices,
// graphs) and describes its parameters.
//
// A new operator adds one entry here (and its signature to shims.c when it
// takes an enum-typed parameter); the harness does the rest.
#include <algorithm>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <limits>

#include "harness.hpp"
#include "pool_indices.hpp"

// Enum-typed parameters go through C shims (shims.c): a C caller may pass any
// int there, and a C++ caller cannot without undefined behaviour.
extern "C" {
kn_status fz_mse_loss_forward(int32_t reduction, const kn_tensor* input, const kn_tensor* target,
                              const kn_tensor* out, const kn_exec* ex);
kn_status fz_mse_loss_backward(int32_t reduction, const kn_tensor* dout, const kn_tensor* input,
                               const kn_tensor* target, const kn_tensor* dinput,
                               const kn_tensor* dtarget, const kn_exec* ex);
kn_status fz_gelu_forward(int32_t approximate, const kn_tensor* x, const kn_tensor* y,
                          const kn_exec* ex);
kn_status fz_gelu_backward(int32_t approximate, const kn_tensor* dy, const kn_tensor* x,
                           const kn_tensor* dx, const kn_exec* ex);
}

namespace fz {
namespace {

using i128 = __int128;
using Shape = std::vector<int64_t>;
constexpr int64_t P40 = int64_t(1) << 40;

constexpr Slot in(const char* n, int nd = -1, Kind k = Kind::Float) { return {n, Role::In, k, nd, false}; }
constexpr Slot in_opt(const char* n, int nd = -1, Kind k = Kind::Float) { return {n, Role::In, k, nd, true}; }
constexpr Slot out(const char* n, int nd = -1, Kind k = Kind::Float) { return {n, Role::Out, k, nd, false}; }
constexpr Slot out_opt(const char* n, int nd = -1, Kind k = Kind::Float) { return {n, Role::Out, k, nd, true}; }

std::string d2s(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// A parameter value out of a ">= lo" range, or beyond an upper bound.
int64_t bad_low(Call& c) {
  static const int64_t v[] = {0, -1, -2, INT64_MIN, -P40};
  return c.src->pick(v);
}
int64_t bad_high(Call& c, int64_t hi) {  // > hi (hi < INT64_MAX)
  if (c.avoid(kAvoidHugeParams)) return hi + 1;
  static const int64_t v[] = {int64_t(1) << 31, P40 + 1, int64_t(1) << 62, INT64_MAX};
  int64_t x = c.src->pick(v);
  return x > hi ? x : hi + 1;
}
int32_t bad_enum(Call& c, int32_t hi) {  // outside [0, hi]
  static const int32_t v[] = {-1, -2, INT32_MIN, INT32_MAX, 1000};
  const int32_t x = c.src->pick(v);
  return x == 1000 ? hi + 1 : x;
}

// ------------------------------------------------------------ element-wise

int32_t gen_dt(Call& c) { return float_dtype(c); }

// y = f(x): slots x=0, y=1; y is x (in place) a quarter of the time.
void gen_unary_fwd(Call& c) {
  const Shape s = any_shape(c);
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  if (c.src->coin(1, 4)) make_alias(c, 1, 0);
  else make(c, 1, s, dt);
}
// dx = g(dy, a): slots dy=0, a=1, dx=2; dx is dy a quarter of the time.
void gen_unary_bwd(Call& c) {
  const Shape s = any_shape(c);
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  make(c, 1, s, dt);
  if (c.src->coin(1, 4)) make_alias(c, 2, 0);
  else make(c, 2, s, dt);
}

// ------------------------------------------------------------ linear

void gen_linear_sizes(Call& c, int64_t& N, int64_t& I, int64_t& O) {
  const bool big = c.src->coin(1, 8);
  N = small_size(c, 0, big ? 128 : 9);
  I = small_size(c, 0, big ? 128 : 17);
  O = small_size(c, 0, big ? 128 : 17);
}

void gen_linear_fwd(Call& c) {  // x w b y
  int64_t N, I, O;
  gen_linear_sizes(c, N, I, O);
  const int32_t dt = gen_dt(c);
  make(c, 0, {N, I}, dt);
  make(c, 1, {O, I}, dt);
  if (c.src->coin(2, 3)) make(c, 2, {O}, dt);
  make(c, 3, {N, O}, dt);
}

void gen_linear_bwd(Call& c) {  // dy x w dx dw db
  int64_t N, I, O;
  gen_linear_sizes(c, N, I, O);
  const int32_t dt = gen_dt(c);
  const bool dx = c.src->coin(2, 3), dw = c.src->coin(2, 3), db = c.src->coin(2, 3);
  make(c, 0, {N, O}, dt);
  if (dw || c.src->coin(1, 2)) make(c, 1, {N, I}, dt);
  if (dx || c.src->coin(1, 2)) make(c, 2, {O, I}, dt);
  if (dx) make(c, 3, {N, I}, dt);
  if (dw) make(c, 4, {O, I}, dt);
  if (db) make(c, 5, {O}, dt);
}

// ------------------------------------------------------------ mse

int32_t gen_reduction(Call& c) { return static_cast<int32_t>(c.src->below(3)); }

void mutate_reduction(Call& c, int32_t& r) {
  if (c.src->coin(1, 2) && !c.avoid(kAvoidBadEnum)) {
    r = bad_enum(c, 2);
  } else {
    r = r >= 0 && r <= 2 ? (r + 1 + static_cast<int32_t>(c.src->below(2))) % 3 : 0;
    c.either("param-changed", "reduction");
  }
}
void check_reduction(Call& c, int32_t r, const char* name) {
  if (r < KN_REDUCTION_NONE || r > KN_REDUCTION_SUM) c.must_fail("param-range", name);
}

void gen_mse_fwd(Call& c) {  // input target out
  c.i0 = gen_reduction(c);
  const Shape s = any_shape(c);
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  make(c, 1, s, dt);
  make(c, 2, c.i0 == KN_REDUCTION_NONE ? s : Shape{}, dt);
}
void gen_mse_bwd(Call& c) {  // dout input target dinput dtarget
  c.i0 = gen_reduction(c);
  const Shape s = any_shape(c);
  const int32_t dt = gen_dt(c);
  make(c, 0, c.i0 == KN_REDUCTION_NONE ? s : Shape{}, dt);
  make(c, 1, s, dt);
  make(c, 2, s, dt);
  if (c.src->coin(3, 4)) make(c, 3, s, dt);
  if (c.src->coin(1, 2)) make(c, 4, s, dt);
}
void mut_mse(Call& c) { mutate_reduction(c, c.i0); }
void fin_mse(Call& c) { check_reduction(c, c.i0, "reduction"); }
std::string desc_mse(const Call& c) { return "reduction=" + std::to_string(c.i0); }

// ------------------------------------------------------------ conv2d

// (in + 2p - d(k-1) - 1) / s + 1, or < 1 when the kernel does not fit.
i128 conv_out(i128 in, i128 k, i128 s, i128 p, i128 d) {
  const i128 span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

// Sizes of a valid convolution: x (N,C,H,W), w (O,C/G,kH,kW), y (N,O,Ho,Wo).
// g[0..] = N C H W O kH kW, and Ho Wo in g[7]/... (kept in locals).
struct ConvSizes {
  int64_t N, C, H, W, O, kH, kW, Ho, Wo;
  bool huge_x;     // x is a broadcast input with huge H/W
  bool overflow;   // the true Ho or Wo exceeds int64: the call must fail
};

ConvSizes gen_conv(Call& c, bool backward) {
  Source& s = *c.src;
  kn_conv2d_params& p = c.conv;
  ConvSizes z{};
  const int64_t G = s.coin(7, 10) ? 1 : s.range(2, 3);
  p.groups = G;
  z.N = small_size(c, 0, 3);
  // --avoid null-empty: C >= groups (C = 0 leaves im2col/col2im an empty,
  // NULL scratch vector that the kernels still offset: F5).
  z.C = G * small_size(c, c.avoid(kAvoidNullEmpty) ? 1 : 0, 3);
  z.O = G * small_size(c, 0, 3);
  z.kH = small_size(c, 1, 4), z.kW = small_size(c, 1, 4);
  for (int d = 0; d < 2; ++d) {
    p.stride[d] = small_size(c, 1, 3);
    p.padding[d] = small_size(c, 0, 2);
    p.dilation[d] = small_size(c, 1, 2);
  }
  auto fit = [&](int d, int64_t k) {  // smallest input that fits the kernel, plus some
    const int64_t need = p.dilation[d] * (k - 1) + 1 - 2 * p.padding[d];
    return std::max<int64_t>(1, need) + small_size(c, 0, 6);
  };
  z.H = fit(0, z.kH), z.W = fit(1, z.kW);
  const unsigned mode = static_cast<unsigned>(s.below(40));
  const bool huge_params = !c.avoid(kAvoidHugeParams);
  if (mode == 0 && huge_params) {
    // Padding, stride and dilation up to 2^40 on a small input: legal, tiny output.
    for (int d = 0; d < 2; ++d) {
      static const int64_t big[] = {P40, P40 - 1, int64_t(1) << 39, int64_t(1) << 30};
      p.padding[d] = s.pick(big);
      p.stride[d] = s.pick(big);
      p.dilation[d] = s.coin(1, 2) ? 1 : s.pick(big);
    }
    z.H = small_size(c, 1, 5), z.W = small_size(c, 1, 5);
    // dilation * (k - 1) must fit into H + 2 * padding - 1.
    for (int d = 0; d < 2; ++d) {
      int64_t& k = d == 0 ? z.kH : z.kW;
      const i128 room = i128(d == 0 ? z.H : z.W) + 2 * i128(p.padding[d]) - 1;
      while (k > 1 && i128(p.dilation[d]) * (k - 1) > room) --k;
    }
    c.mutations.push_back("gen:huge-params");
  } else if (mode == 1 && huge_params && !c.avoid(kAvoidNullEmpty)) {
    // groups beyond any channel count: legal when C = O = 0.
    static const int64_t big[] = {P40, int64_t(1) << 62, INT64_MAX};
    p.groups = s.pick(big);
    z.C = 0, z.O = 0;
    c.mutations.push_back("gen:huge-groups");
  } else if (mode == 2 && huge_ok(c, 1, 1)) {
    // An empty batch with huge H and W (and maybe huge padding): Ho may not fit int64.
    static const int64_t big[] = {INT64_MAX - 1, INT64_MAX, int64_t(1) << 62, P40, (int64_t(1) << 62) + 7};
    z.N = 0;
    z.H = s.pick(big);
    if (s.coin(1, 2)) z.W = s.pick(big);
    if (huge_params && s.coin(1, 2)) p.padding[0] = P40;
    c.mutations.push_back("gen:huge-empty");
  } else if (mode == 3 && !backward && huge_ok(c, 1, 1)) {
    // A broadcast input with huge H and W, a stride that keeps the output tiny.
    static const int64_t big[] = {int64_t(1) << 20, (int64_t(1) << 31) + 3, int64_t(1) << 32, P40 + 5};
    z.N = small_size(c, 1, 2);
    z.H = s.pick(big), z.W = s.coin(1, 2) ? s.pick(big) : z.W;
    p.dilation[0] = p.dilation[1] = 1;
    p.stride[0] = std::min<int64_t>(P40, std::max<int64_t>(1, z.H / 2));
    p.stride[1] = std::min<int64_t>(P40, std::max<int64_t>(1, z.W / 2));
    z.huge_x = true;
    c.mutations.push_back("gen:huge-broadcast-x");
  }
  const i128 ho = conv_out(z.H, z.kH, p.stride[0], p.padding[0], p.dilation[0]);
  const i128 wo = conv_out(z.W, z.kW, p.stride[1], p.padding[1], p.dilation[1]);
  z.overflow = ho > INT64_MAX || wo > INT64_MAX;
  z.Ho = ho > INT64_MAX ? 1 : static_cast<int64_t>(ho);
  z.Wo = wo > INT64_MAX ? 1 : static_cast<int64_t>(wo);
  c.g[5] = z.overflow;  // classified in fin_conv, on the final arguments
  return z;
}

void make4(Call& c, int slot, const Shape& s, int32_t dt) {
  // Huge sizes (only on empty tensors here): strides 0, so that no stride
  // times size leaves int64 (any stride is legal on an empty tensor).
  bool huge = false;
  for (int64_t v : s) huge = huge || v > (int64_t(1) << 24);
  if (huge) {
    make_const(c, slot, s, dt, 0);
    // Empty, not a broadcast input: a size mutation that makes it non-empty
    // must shrink it (a reduction over 2^40 broadcast elements takes hours).
    c.a[static_cast<size_t>(slot)].keep_huge = false;
  } else {
    make(c, slot, s, dt);
  }
}

void gen_conv_fwd(Call& c) {  // x w b y
  const ConvSizes z = gen_conv(c, false);
  const int32_t dt = gen_dt(c);
  if (z.huge_x) make_const(c, 0, {z.N, z.C, z.H, z.W}, dt, 0);
  else make4(c, 0, {z.N, z.C, z.H, z.W}, dt);
  make4(c, 1, {z.O, c.conv.groups > 0 ? z.C / c.conv.groups : 0, z.kH, z.kW}, dt);
  if (c.src->coin(2, 3)) make(c, 2, {z.O}, dt);
  make4(c, 3, {z.N, z.O, z.Ho, z.Wo}, dt);
}

void gen_conv_bwd(Call& c) {  // dy x w dx dw db
  const ConvSizes z = gen_conv(c, true);
  const int32_t dt = gen_dt(c);
  const bool dx = c.src->coin(2, 3), dw = c.src->coin(2, 3), db = c.src->coin(1, 2);
  const int64_t Cg = c.conv.groups > 0 ? z.C / c.conv.groups : 0;
  make4(c, 0, {z.N, z.O, z.Ho, z.Wo}, dt);
  if (dw || c.src->coin(1, 2)) make4(c, 1, {z.N, z.C, z.H, z.W}, dt);
  if (dx || c.src->coin(1, 2)) make4(c, 2, {z.O, Cg, z.kH, z.kW}, dt);
  if (dx) make4(c, 3, {z.N, z.C, z.H, z.W}, dt);
  if (dw) make4(c, 4, {z.O, Cg, z.kH, z.kW}, dt);
  if (db) make(c, 5, {z.O}, dt);
  c.g[6] = 1;  // backward
}

void mut_conv(Call& c) {
  Source& s = *c.src;
  kn_conv2d_params& p = c.conv;
  const int d = static_cast<int>(s.below(2));
  switch (s.below(6)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: p.stride[d] = s.coin(1, 2) ? bad_low(c) : bad_high(c, P40); break;
    case 2: p.padding[d] = s.coin(1, 2) ? -s.range(1, 3) : bad_high(c, P40); break;
    case 3: p.dilation[d] = s.coin(1, 2) ? bad_low(c) : bad_high(c, P40); break;
    case 4: p.groups = s.coin(1, 2) ? bad_low(c) : c.avoid(kAvoidHugeParams) ? s.range(2, 5) : bad_high(c, 1 << 20); break;
    default:  // a legal different value
      p.stride[d] = s.range(1, 4);
      break;
  }
  // A legal new value changes the output size or the divisibility: either
  // outcome (fin_conv makes an illegal one a must-fail).
  c.either("param-changed", "p");
  c.mutations.push_back("p mutated");
}

// --avoid null-empty also covers an empty (H, W) plane of x / dx: col2im and
// im2col then do arithmetic on the NULL data of an empty scratch vector (F5).
void avoid_empty_plane(Call& c, int slot) {
  Arg& x = c.a[static_cast<size_t>(slot)];
  if (!c.avoid(kAvoidNullEmpty) || !x.present || x.t.ndim != 4) return;
  for (int d = 2; d < 4; ++d)
    if (x.t.shape[d] == 0) {
      x.t.shape[d] = 1, x.t.strides[d] = 1;
      c.either("avoid-null-empty", c.e->slots[static_cast<size_t>(slot)].name);
      c.mutations.push_back(std::string("avoid:") + c.e->slots[static_cast<size_t>(slot)].name + ":shape[" + std::to_string(d) + "]=1");
    }
}

void fin_conv(Call& c) {
  avoid_empty_plane(c, c.g[6] ? 3 : 0);  // dx (backward) or x (forward)
  if (c.g[6]) avoid_empty_plane(c, 1);
  if (c.p_null) return c.must_fail("params-null");
  const kn_conv2d_params& p = c.conv;
  for (int d = 0; d < 2; ++d) {
    if (p.stride[d] < 1 || p.stride[d] > P40) c.must_fail("param-range", "p->stride");
    if (p.padding[d] < 0 || p.padding[d] > P40) c.must_fail("param-range", "p->padding");
    if (p.dilation[d] < 1 || p.dilation[d] > P40) c.must_fail("param-range", "p->dilation");
  }
  if (p.groups < 1) c.must_fail("param-range", "p->groups");
  // F4: the true Ho or Wo leaves int64. The backward checks dy's (Ho, Wo)
  // only when it knows the input (x or dx) and the kernel (w or dw).
  if (c.g[5]) {
    const bool checked = !c.g[6] || ((c.a[1].present || c.a[3].present) && (c.a[2].present || c.a[4].present));
    if (c.touched) c.either("conv-output-overflow", "after mutations");
    else if (checked) c.must_fail("conv-output-overflow", "Ho/Wo beyond INT64_MAX");
  }
}

std::string desc_conv(const Call& c) {
  if (c.p_null) return "p=NULL";
  const kn_conv2d_params& p = c.conv;
  return "p{stride=(" + fmt_i64(p.stride[0]) + "," + fmt_i64(p.stride[1]) + ") pad=(" + fmt_i64(p.padding[0]) +
         "," + fmt_i64(p.padding[1]) + ") dil=(" + fmt_i64(p.dilation[0]) + "," + fmt_i64(p.dilation[1]) +
         ") groups=" + fmt_i64(p.groups) + "}";
}

// ------------------------------------------------------------ pooling

i128 floor_div(i128 a, i128 b) {
  const i128 q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
// The header's output size (kn_max_pool2d_params).
i128 pool_out(i128 in, i128 k, i128 s, i128 p, i128 d, bool ceil) {
  i128 out = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0), s) + 1;
  if (ceil && (out - 1) * s >= in + p) --out;
  return out;
}

struct PoolSizes {
  int64_t N, C, H, W, Ho, Wo;
  bool huge_x;
};

// k, s, p (<= k/2), d, ceil_mode into the arrays, and a valid (H, W).
PoolSizes gen_pool(Call& c, int64_t* k, int64_t* st, int64_t* pad, int64_t* dil, int32_t& ceil_mode,
                   bool backward) {
  Source& s = *c.src;
  PoolSizes z{};
  z.N = small_size(c, 0, 3), z.C = small_size(c, 0, 3);
  if (s.coin(3, 4)) z.N = std::max<int64_t>(z.N, 1), z.C = std::max<int64_t>(z.C, 1);
  ceil_mode = s.coin(1, 2);
  for (int d = 0; d < 2; ++d) {
    k[d] = small_size(c, 1, 4);
    st[d] = s.coin(1, 3) ? k[d] : small_size(c, 1, 3);
    pad[d] = s.range(0, k[d] / 2);
    if (dil) dil[d] = small_size(c, 1, 2);
  }
  auto D = [&](int d) { return dil ? dil[d] : int64_t(1); };
  auto fit = [&](int d) {
    const int64_t need = D(d) * (k[d] - 1) + 1 - 2 * pad[d];
    return std::max<int64_t>(1, need) + small_size(c, 0, 7);
  };
  z.H = fit(0), z.W = fit(1);
  const unsigned mode = static_cast<unsigned>(s.below(30));
  if (mode == 0 && !c.avoid(kAvoidHugeParams)) {
    // Windows up to INT32_MAX on a small input (padding k/2 makes them fit).
    for (int d = 0; d < 2; ++d) {
      static const int64_t big[] = {INT32_MAX, INT32_MAX - 1, int64_t(1) << 30, (int64_t(1) << 20) + 1};
      k[d] = s.pick(big);
      pad[d] = k[d] / 2;
      st[d] = s.coin(1, 2) ? s.pick(big) : 1;
      if (dil) dil[d] = 1;
    }
    z.H = small_size(c, 1, 5), z.W = small_size(c, 1, 5);
    c.mutations.push_back("gen:huge-window");
  } else if (mode == 1 && !backward && huge_ok(c, 1, 1)) {
    // A broadcast input with a huge (H, W) plane, strides that keep the
    // output tiny: max_pool2d's int32 indices must refuse H*W > INT32_MAX.
    static const int64_t big[] = {int64_t(1) << 15, (int64_t(1) << 16) + 1, int64_t(1) << 17,
                                  (int64_t(1) << 20) + 3, int64_t(1) << 31};
    z.N = 1, z.C = small_size(c, 1, 2);
    z.H = s.pick(big), z.W = s.pick(big);
    for (int d = 0; d < 2; ++d) {
      k[d] = s.range(1, 2), pad[d] = 0;
      if (dil) dil[d] = 1;
      st[d] = std::min<int64_t>(INT32_MAX, std::max<int64_t>(1, ((d == 0 ? z.H : z.W) - 1) / s.range(1, 2)));
    }
    z.huge_x = true;
    c.mutations.push_back("gen:huge-broadcast-plane");
  }
  const i128 ho = pool_out(z.H, k[0], st[0], pad[0], D(0), ceil_mode != 0);
  const i128 wo = pool_out(z.W, k[1], st[1], pad[1], D(1), ceil_mode != 0);
  z.Ho = static_cast<int64_t>(ho), z.Wo = static_cast<int64_t>(wo);  // >= 1 and small by construction
  return z;
}

void check_window(Call& c, const int64_t* k, const int64_t* st, const int64_t* pad, const int64_t* dil,
                  int32_t ceil_mode) {
  for (int d = 0; d < 2; ++d) {
    if (k[d] < 1 || k[d] > INT32_MAX) c.must_fail("param-range", "p->kernel_size");
    if (st[d] < 1 || st[d] > INT32_MAX) c.must_fail("param-range", "p->stride");
    if (dil && (dil[d] < 1 || dil[d] > INT32_MAX)) c.must_fail("param-range", "p->dilation");
    if (pad[d] < 0 || (k[d] >= 1 && pad[d] > k[d] / 2)) c.must_fail("param-range", "p->padding");
  }
  if (ceil_mode != 0 && ceil_mode != 1) c.must_fail("param-range", "p->ceil_mode");
}

void mutate_window(Call& c, int64_t* k, int64_t* st, int64_t* pad, int64_t* dil, int32_t& ceil_mode) {
  Source& s = *c.src;
  const int d = static_cast<int>(s.below(2));
  switch (s.below(7)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: k[d] = s.coin(1, 2) ? bad_low(c) : bad_high(c, INT32_MAX); break;
    case 2: st[d] = s.coin(1, 2) ? bad_low(c) : bad_high(c, INT32_MAX); break;
    case 3:
      if (dil) dil[d] = s.coin(1, 2) ? bad_low(c) : bad_high(c, INT32_MAX);
      else pad[d] = k[d] / 2 + 1;
      break;
    case 4: pad[d] = s.coin(1, 2) ? -1 : k[d] / 2 + s.range(1, 3); break;
    case 5: { static const int32_t v[] = {2, -1, INT32_MIN, INT32_MAX}; ceil_mode = s.pick(v); break; }
    default:
      ceil_mode = !ceil_mode;
      break;
  }
  c.either("param-changed", "p");
  c.mutations.push_back("p mutated");
}

std::string desc_window(const int64_t* k, const int64_t* st, const int64_t* pad, const int64_t* dil,
                        int32_t ceil_mode) {
  auto pr = [](const int64_t* a) { return "(" + fmt_i64(a[0]) + "," + fmt_i64(a[1]) + ")"; };
  return "p{k=" + pr(k) + " stride=" + pr(st) + " pad=" + pr(pad) + (dil ? " dil=" + pr(dil) : "") +
         " ceil=" + std::to_string(ceil_mode);
}

// max_pool2d
void gen_maxpool_fwd(Call& c) {  // x y indices
  kn_max_pool2d_params& p = c.maxp;
  const PoolSizes z = gen_pool(c, p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode, false);
  const int32_t dt = gen_dt(c), it = index_dtype(c);
  if (z.huge_x) make_const(c, 0, {z.N, z.C, z.H, z.W}, dt, 0);
  else make(c, 0, {z.N, z.C, z.H, z.W}, dt);
  make(c, 1, {z.N, z.C, z.Ho, z.Wo}, dt);
  make(c, 2, {z.N, z.C, z.Ho, z.Wo}, it);
  c.g[0] = z.H, c.g[1] = z.W;
}
void gen_maxpool_bwd(Call& c) {  // dy indices dx
  kn_max_pool2d_params& p = c.maxp;
  const PoolSizes z = gen_pool(c, p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode, true);
  const int32_t dt = gen_dt(c), it = index_dtype(c);
  make(c, 0, {z.N, z.C, z.Ho, z.Wo}, dt);
  make(c, 1, {z.N, z.C, z.Ho, z.Wo}, it);
  make(c, 2, {z.N, z.C, z.H, z.W}, dt);
  c.g[0] = z.H, c.g[1] = z.W;
}
void mut_maxpool(Call& c) {
  kn_max_pool2d_params& p = c.maxp;
  mutate_window(c, p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode);
}
void fin_maxpool(Call& c) {
  if (c.p_null) return c.must_fail("params-null");
  kn_max_pool2d_params& p = c.maxp;
  check_window(c, p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode);
}
void fin_maxpool_fwd(Call& c) {
  fin_maxpool(c);
  // F3: int32 indices cannot hold the positions of a plane beyond INT32_MAX.
  const Arg &x = c.a[0], &idx = c.a[2];
  if (!x.present || x.t.ndim != 4 || !idx.present || idx.t.dtype != KN_INT32) return;
  if (x.t.shape[2] < 0 || x.t.shape[3] < 0 || i128(x.t.shape[2]) * x.t.shape[3] <= INT32_MAX) return;
  if (numel_of(c, 2) > 0) c.must_fail("int32-indices-overflow", "H*W > INT32_MAX");
  else c.either("int32-indices-overflow", "empty");
}
// indices: positions in [-1, H*W); a bad one (CPU: KN_ERR_INVALID_ARGUMENT, dx unspecified).
void fill_maxpool_bwd(Call& c) { fill_max_pool_indices(c, 0x5bd1e995, 7, false); }
std::string desc_maxpool(const Call& c) {
  if (c.p_null) return "p=NULL";
  const kn_max_pool2d_params& p = c.maxp;
  return desc_window(p.kernel_size, p.stride, p.padding, p.dilation, p.ceil_mode) + "}";
}

// avg_pool2d
void gen_avg_common(Call& c, PoolSizes& z, bool backward) {
  kn_avg_pool2d_params& p = c.avgp;
  int64_t dil[2] = {1, 1};
  (void)dil;
  z = gen_pool(c, p.kernel_size, p.stride, p.padding, nullptr, p.ceil_mode, backward);
  p.count_include_pad = c.src->coin(1, 2);
  p.divisor_override = c.src->coin(3, 4) ? 0 : c.src->coin(1, 4) ? INT32_MAX : c.src->range(1, 5);
}
bool avg_ceil_2x2(const kn_avg_pool2d_params& p) {
  return p.kernel_size[0] == 2 && p.kernel_size[1] == 2 && p.stride[0] == 2 && p.stride[1] == 2 &&
         p.padding[0] == 0 && p.padding[1] == 0 && p.divisor_override == 0 && p.ceil_mode == 1;
}
void gen_avgpool_fwd(Call& c) {  // x y
  PoolSizes z;
  gen_avg_common(c, z, false);
  const int32_t dt = gen_dt(c);
  if (z.huge_x) make_const(c, 0, {z.N, z.C, z.H, z.W}, dt, 0);
  else make(c, 0, {z.N, z.C, z.H, z.W}, dt);
  make(c, 1, {z.N, z.C, z.Ho, z.Wo}, dt);
}
void gen_avgpool_bwd(Call& c) {  // dy dx
  PoolSizes z;
  gen_avg_common(c, z, true);
  if (c.avoid(kAvoidAvgPoolCeil2x2) && avg_ceil_2x2(c.avgp)) {  // F1: recompute without ceil_mode
    c.avgp.ceil_mode = 0;
    z.Ho = static_cast<int64_t>(pool_out(z.H, 2, 2, 0, 1, false));
    z.Wo = static_cast<int64_t>(pool_out(z.W, 2, 2, 0, 1, false));
  }
  const int32_t dt = gen_dt(c);
  make(c, 0, {z.N, z.C, z.Ho, z.Wo}, dt);
  make(c, 1, {z.N, z.C, z.H, z.W}, dt);
}
void mut_avgpool(Call& c) {
  kn_avg_pool2d_params& p = c.avgp;
  Source& s = *c.src;
  if (s.coin(1, 4)) {
    static const int32_t v[] = {2, -1, INT32_MIN};
    static const int64_t dv[] = {-1, INT64_MIN, int64_t(INT32_MAX) + 1, INT64_MAX};
    if (s.coin(1, 2)) p.count_include_pad = s.pick(v);
    else p.divisor_override = s.pick(dv);
    c.mutations.push_back("p mutated");
    return;  // fin_avgpool: each of these is out of range
  }
  mutate_window(c, p.kernel_size, p.stride, p.padding, nullptr, p.ceil_mode);
}
void fin_avgpool(Call& c) {
  if (c.p_null) return c.must_fail("params-null");
  kn_avg_pool2d_params& p = c.avgp;
  check_window(c, p.kernel_size, p.stride, p.padding, nullptr, p.ceil_mode);
  if (p.count_include_pad != 0 && p.count_include_pad != 1) c.must_fail("param-range", "p->count_include_pad");
  if (p.divisor_override < 0 || p.divisor_override > INT32_MAX) c.must_fail("param-range", "p->divisor_override");
}
void fin_avgpool_bwd(Call& c) {
  if (c.avoid(kAvoidAvgPoolCeil2x2) && !c.p_null && avg_ceil_2x2(c.avgp)) {
    c.avgp.ceil_mode = 0;
    c.either("avoid-avgpool-ceil-2x2");
    c.mutations.push_back("avoid:ceil_mode=0");
  }
  fin_avgpool(c);
}
std::string desc_avgpool(const Call& c) {
  if (c.p_null) return "p=NULL";
  const kn_avg_pool2d_params& p = c.avgp;
  return desc_window(p.kernel_size, p.stride, p.padding, nullptr, p.ceil_mode) +
         " count_include_pad=" + std::to_string(p.count_include_pad) + " divisor=" + fmt_i64(p.divisor_override) + "}";
}

// ------------------------------------------------------------ leaky_relu, gelu, dropout scalars

void gen_leaky_fwd(Call& c) {
  static const double v[] = {0.01, 0.2, -0.5, 0.0, 1.0, 3.0, -0.0};
  c.d0 = c.src->pick(v);
  gen_unary_fwd(c);
}
void gen_leaky_bwd(Call& c) {
  static const double v[] = {0.01, 0.2, -0.5, 0.0, 1.0, 3.0};
  c.d0 = c.src->pick(v);
  c.i0 = c.d0 >= 0 && c.src->coin(1, 2);
  gen_unary_bwd(c);
}
double bad_double(Call& c) {
  static const double v[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::quiet_NaN()};
  return c.src->pick(v);
}
void mut_leaky(Call& c) {
  Source& s = *c.src;
  switch (s.below(3)) {
    case 0: c.d0 = bad_double(c); break;
    case 1: { static const int32_t v[] = {2, -1, INT32_MIN, INT32_MAX}; c.i0 = s.pick(v); break; }
    default: c.d0 = -0.25, c.i0 = 1; break;  // in-place backward with a negative slope
  }
  c.mutations.push_back("scalars mutated");
}
void fin_leaky_fwd(Call& c) {
  if (!std::isfinite(c.d0)) c.must_fail("param-range", "negative_slope");
}
void fin_leaky_bwd(Call& c) {
  fin_leaky_fwd(c);
  if (c.i0 != 0 && c.i0 != 1) c.must_fail("param-range", "self_is_result");
  if (c.i0 == 1 && !(c.d0 >= 0)) c.must_fail("param-range", "self_is_result with negative_slope < 0");
}
std::string desc_leaky_fwd(const Call& c) { return "negative_slope=" + d2s(c.d0); }
std::string desc_leaky_bwd(const Call& c) {
  return "negative_slope=" + d2s(c.d0) + " self_is_result=" + std::to_string(c.i0);
}

void gen_gelu_fwd(Call& c) { c.i0 = c.src->coin(1, 2); gen_unary_fwd(c); }
void gen_gelu_bwd(Call& c) { c.i0 = c.src->coin(1, 2); gen_unary_bwd(c); }
void mut_gelu(Call& c) {
  if (c.avoid(kAvoidBadEnum)) c.i0 = !c.i0;  // legal, same shapes
  else c.i0 = bad_enum(c, 1);
  c.mutations.push_back("approximate=" + std::to_string(c.i0));
}
void fin_gelu(Call& c) {
  if (c.i0 != KN_GELU_NONE && c.i0 != KN_GELU_TANH) c.must_fail("param-range", "approximate");
}
std::string desc_gelu(const Call& c) { return "approximate=" + std::to_string(c.i0); }

// ------------------------------------------------------------ softmax

void gen_softmax_fwd(Call& c) {  // x y
  const Shape s = any_shape(c, 1);
  c.i0 = static_cast<int32_t>(c.src->below(s.size()));
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  if (c.src->coin(1, 4)) make_alias(c, 1, 0);
  else make(c, 1, s, dt);
}
void gen_softmax_bwd(Call& c) {  // dy y dx
  const Shape s = any_shape(c, 1);
  c.i0 = static_cast<int32_t>(c.src->below(s.size()));
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  make(c, 1, s, dt);
  const unsigned r = static_cast<unsigned>(c.src->below(6));
  if (r == 0) make_alias(c, 2, 0);
  else if (r == 1) make_alias(c, 2, 1);
  else make(c, 2, s, dt);
}
void mut_softmax(Call& c) {
  static const int32_t v[] = {-1, INT32_MIN, INT32_MAX, 8, 9};
  c.i0 = c.src->coin(2, 3) ? c.src->pick(v) : c.i0 < 8 ? c.i0 + 1 : 0;
  c.mutations.push_back("dim=" + std::to_string(c.i0));
}
void fin_softmax(Call& c, int slot) {  // dim in [0, ndim) of x (forward) / y (backward)
  const Arg& t = c.a[static_cast<size_t>(slot)];
  if (!t.present || t.t.ndim < 1 || t.t.ndim > KN_MAX_DIMS) return;  // generic rules
  if (c.i0 < 0 || c.i0 >= t.t.ndim) c.must_fail("param-range", "dim");
}
void fin_softmax_fwd(Call& c) { fin_softmax(c, 0); }
void fin_softmax_bwd(Call& c) { fin_softmax(c, 1); }
std::string desc_softmax(const Call& c) { return "dim=" + std::to_string(c.i0); }

// ------------------------------------------------------------ nll_loss, cross_entropy

// input (C,) / (N,C) / (N,C,d1..dk); target without the class dim.
// g[0] = C, g[1] = ignore_index representable in target's dtype.
void gen_class_shapes(Call& c, Shape& input, Shape& target) {
  Source& s = *c.src;
  const int64_t C = s.coin(1, 12) ? 0 : small_size(c, 1, 7);
  const unsigned form = static_cast<unsigned>(s.below(20));
  if (form < 3) {
    input = {C}, target = {};
  } else {
    const int64_t N = small_size(c, 0, 6);
    input = {N, C}, target = {N};
    if (form >= 13) {
      const int k = static_cast<int>(s.range(1, 2));
      for (int i = 0; i < k; ++i) {
        const int64_t dk = small_size(c, 0, 4);
        input.push_back(dk), target.push_back(dk);
      }
    }
  }
  c.g[0] = C;
  static const int64_t ign[] = {-100, -100, -1, INT64_MIN, INT64_MAX, 0, 1, 2};
  c.ce.ignore_index = s.pick(ign);
  c.ce.reduction = static_cast<int32_t>(s.below(3));
  c.ce.label_smoothing = 0.0;
}

// Targets in [0, C) or ignore_index; with C = 0 every target must be ignored.
void fill_targets(Call& c, int slot) {
  const int64_t n = fill_count(c, slot), C = c.g[0];
  if (n <= 0) return;
  const Arg& t = c.a[static_cast<size_t>(slot)];
  const int64_t ign = c.ce.ignore_index;
  const bool ign_fits = t.t.dtype == KN_INT64 || (ign >= INT32_MIN && ign <= INT32_MAX);
  uint64_t rs = c.data_seed ^ 0x9e3779b9;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix(rs);
    if (ign_fits && (C == 0 || r % 5 == 0)) set_index(c, slot, i, ign);
    else if (C > 0) set_index(c, slot, i, static_cast<int64_t>((r >> 8) % static_cast<uint64_t>(C)));
    else {  // cannot be valid: C = 0 and ignore_index does not fit int32
      set_index(c, slot, i, 0);
      if (!c.mutate_content) c.either("no-valid-target");
    }
  }
  if (c.mutate_content && t.present && t.t.device_type == KN_DEVICE_CPU) {
    static const int64_t bad[] = {0, 1, -1, -2, INT32_MIN, INT32_MAX};
    int64_t v = c.src->pick(bad);
    if (v >= 0 && v < 2) v += C;
    if (v == ign || (t.t.dtype == KN_INT32 && v == static_cast<int32_t>(ign))) v = C + 3;
    const int64_t i = c.src->range(0, n - 1);
    set_index(c, slot, i, v);
    c.mutations.push_back(std::string(c.e->slots[static_cast<size_t>(slot)].name) + "[" + std::to_string(i) + "]=" + fmt_i64(v));
    // Against the generated C; a mutated size may have moved C.
    if (c.touched) c.either("bad-target-after-mutation");
    else c.must_fail("bad-target");
  }
}

void gen_class_fwd(Call& c, bool smoothing) {  // input target weight out total_weight
  Shape in_s, t_s;
  gen_class_shapes(c, in_s, t_s);
  if (smoothing && c.src->coin(1, 2)) c.ce.label_smoothing = c.src->coin(1, 3) ? 1.0 : 0.1 * static_cast<double>(c.src->range(0, 9));
  const int32_t dt = gen_dt(c);
  make(c, 0, in_s, dt);
  make(c, 1, t_s, index_dtype(c));
  if (c.src->coin(1, 2)) make(c, 2, {c.g[0]}, dt);
  make(c, 3, c.ce.reduction == KN_REDUCTION_NONE ? t_s : Shape{}, dt);
  make(c, 4, {}, dt);
}
void gen_nll_fwd(Call& c) { gen_class_fwd(c, false); }
void gen_ce_fwd(Call& c) { gen_class_fwd(c, true); }
void fill_class_fwd(Call& c) { fill_targets(c, 1); }

void gen_nll_bwd(Call& c) {  // dout target weight total_weight dinput
  Shape in_s, t_s;
  gen_class_shapes(c, in_s, t_s);
  const int32_t dt = gen_dt(c);
  make(c, 0, c.ce.reduction == KN_REDUCTION_NONE ? t_s : Shape{}, dt);
  make(c, 1, t_s, index_dtype(c));
  if (c.src->coin(1, 2)) make(c, 2, {c.g[0]}, dt);
  make(c, 3, {}, dt);
  make(c, 4, in_s, dt);
}
void fill_nll_bwd(Call& c) { fill_targets(c, 1); }

void gen_ce_bwd(Call& c) {  // dout input target weight total_weight dinput
  Shape in_s, t_s;
  gen_class_shapes(c, in_s, t_s);
  if (c.src->coin(1, 2)) c.ce.label_smoothing = 0.1 * static_cast<double>(c.src->range(0, 10));
  const int32_t dt = gen_dt(c);
  make(c, 0, c.ce.reduction == KN_REDUCTION_NONE ? t_s : Shape{}, dt);
  make(c, 1, in_s, dt);
  make(c, 2, t_s, index_dtype(c));
  if (c.src->coin(1, 2)) make(c, 3, {c.g[0]}, dt);
  make(c, 4, {}, dt);
  make(c, 5, in_s, dt);
}
void fill_ce_bwd(Call& c) { fill_targets(c, 2); }

void mut_class(Call& c) {
  Source& s = *c.src;
  switch (s.below(4)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: {
      static const int32_t v[] = {3, -1, INT32_MIN, INT32_MAX};
      c.ce.reduction = s.pick(v);
      break;
    }
    case 2: {
      static const double v[] = {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::infinity(), 0.5, 1e-300};
      c.ce.label_smoothing = s.pick(v);
      break;
    }
    default:  // another ignore_index: targets are written after this, so legal
      c.ce.ignore_index = s.coin(1, 2) ? INT64_MIN : s.range(-3, 8);
      break;
  }
  c.either("param-changed", "p");  // e.g. a new reduction wants another out shape
  c.mutations.push_back("p mutated");
}
void fin_class(Call& c, bool smoothing) {
  if (c.p_null) return c.must_fail("params-null");
  check_reduction(c, c.ce.reduction, "p->reduction");
  const double e = c.ce.label_smoothing;
  if (smoothing ? !(e >= 0.0 && e <= 1.0) : e != 0.0) c.must_fail("param-range", "p->label_smoothing");
}
void fin_nll(Call& c) { fin_class(c, false); }
void fin_ce(Call& c) { fin_class(c, true); }
std::string desc_class(const Call& c) {
  if (c.p_null) return "p=NULL";
  return "p{reduction=" + std::to_string(c.ce.reduction) + " ignore_index=" + fmt_i64(c.ce.ignore_index) +
         " label_smoothing=" + d2s(c.ce.label_smoothing) + "} C=" + std::to_string(c.g[0]);
}

// ------------------------------------------------------------ dropout

void gen_dropout_fwd(Call& c) {  // x y mask
  static const double pv[] = {0.0, 0.1, 0.5, 0.9, 1.0, -0.0};
  c.d0 = c.src->pick(pv);
  c.u0 = c.src->u64();
  const Shape s = any_shape(c);
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  if (c.src->coin(1, 4)) make_alias(c, 1, 0);
  else make(c, 1, s, dt);
  make(c, 2, s, mask_dtype(c));
}
void gen_dropout_bwd(Call& c) {  // dy mask dx
  static const double pv[] = {0.0, 0.1, 0.5, 0.9, 1.0};
  c.d0 = c.src->pick(pv);
  const Shape s = any_shape(c);
  const int32_t dt = gen_dt(c);
  make(c, 0, s, dt);
  make(c, 1, s, mask_dtype(c));
  if (c.src->coin(1, 4)) make_alias(c, 2, 0);
  else make(c, 2, s, dt);
}
void mut_dropout(Call& c) {
  static const double v[] = {-0.1, 1.0000001, 2.0, -1e-300};
  c.d0 = c.src->coin(1, 2) ? bad_double(c) : c.src->pick(v);
  c.mutations.push_back("p=" + d2s(c.d0));
}
void fin_dropout(Call& c) {
  if (!(c.d0 >= 0.0 && c.d0 <= 1.0)) c.must_fail("param-range", "p");
}
std::string desc_dropout_fwd(const Call& c) { return "p=" + d2s(c.d0) + " seed=" + std::to_string(c.u0); }
std::string desc_dropout_bwd(const Call& c) { return "p=" + d2s(c.d0); }

// ------------------------------------------------------------ graphs

// A random CSR graph: V rows (destinations), U sources, E edges, into c.v[0..4]
// (indptr, indices, t_indptr, t_indices, t_edge_ids); g[0..2] = V, U, E.
void gen_graph(Call& c) {
  Source& s = *c.src;
  const bool big = s.coin(1, 10);
  const int64_t V = small_size(c, 0, big ? 300 : 7), U = small_size(c, 0, big ? 300 : 7);
  const int64_t E = (V == 0 || U == 0) ? 0 : small_size(c, 0, big ? 3000 : 24);
  uint64_t rs = s.u64();
  std::vector<int64_t> row(static_cast<size_t>(E));
  for (auto& r : row) r = static_cast<int64_t>(splitmix(rs) % static_cast<uint64_t>(V));
  std::sort(row.begin(), row.end());
  auto& ip = c.v[0];
  auto& ix = c.v[1];
  ip.assign(static_cast<size_t>(V + 1), 0);
  for (int64_t r : row) ++ip[static_cast<size_t>(r + 1)];
  for (int64_t v = 0; v < V; ++v) ip[static_cast<size_t>(v + 1)] += ip[static_cast<size_t>(v)];
  ix.resize(static_cast<size_t>(E));
  for (auto& u : ix) u = static_cast<int64_t>(splitmix(rs) % static_cast<uint64_t>(U));
  // Transpose: sources' lists in increasing edge position.
  auto& tp = c.v[2];
  auto& ti = c.v[3];
  auto& te = c.v[4];
  tp.assign(static_cast<size_t>(U + 1), 0);
  for (int64_t u : ix) ++tp[static_cast<size_t>(u + 1)];
  for (int64_t u = 0; u < U; ++u) tp[static_cast<size_t>(u + 1)] += tp[static_cast<size_t>(u)];
  ti.assign(static_cast<size_t>(E), 0), te.assign(static_cast<size_t>(E), 0);
  std::vector<int64_t> next(tp.begin(), tp.end() - 1);
  for (int64_t v = 0; v < V; ++v)
    for (int64_t k = ip[static_cast<size_t>(v)]; k < ip[static_cast<size_t>(v + 1)]; ++k) {
      const int64_t pos = next[static_cast<size_t>(ix[static_cast<size_t>(k)])]++;
      ti[static_cast<size_t>(pos)] = v, te[static_cast<size_t>(pos)] = k;
    }
  c.g[0] = V, c.g[1] = U, c.g[2] = E;
}

void write_vec(Call& c, int slot, const std::vector<int64_t>& v) {
  for (size_t i = 0; i < v.size(); ++i) set_index(c, slot, static_cast<int64_t>(i), v[i]);
}

// Break one graph array (which: 0 indptr, 1 indices, 2 t_indptr, 3 t_indices,
// 4 t_edge_ids); returns false if it has nothing to break.
bool corrupt(Call& c, int which) {
  Source& s = *c.src;
  auto& v = c.v[which];
  const bool is_ptr = which == 0 || which == 2;
  const int64_t hi = which == 1 ? c.g[1] : which == 3 ? c.g[0] : c.g[2];  // U, V or E
  if (is_ptr) {
    switch (s.below(3)) {
      case 0: v[0] = s.coin(1, 2) ? 1 : -1; break;
      case 1: v.back() += s.coin(1, 2) ? 1 : -1; break;
      default: {
        if (v.size() < 3 || v.back() == 0) { v.back() += 1; break; }
        // A decrease: somewhere in the middle, a value above its successor.
        const size_t i = 1 + static_cast<size_t>(s.below(v.size() - 2));
        v[i] = v[i + 1] + 1;
        break;
      }
    }
    return true;
  }
  if (v.empty()) return false;
  const size_t i = static_cast<size_t>(s.below(v.size()));
  static const int64_t off[] = {0, 1, 1000};
  v[i] = s.coin(1, 3) ? -1 - static_cast<int64_t>(s.below(2)) : hi + s.pick(off);
  if (v[i] > INT32_MAX) v[i] = hi;
  return true;
}

std::string graph_desc(const Call& c) {
  return "V=" + std::to_string(c.g[0]) + " U=" + std::to_string(c.g[1]) + " E=" + std::to_string(c.g[2]);
}

// csr_transpose: indptr indices t_indptr t_indices t_edge_ids
void gen_csrt(Call& c) {
  gen_graph(c);
  const int32_t it = index_dtype(c);
  const int64_t V = c.g[0], U = c.g[1], E = c.g[2];
  make_nb(c, 0, {V + 1}, it);
  make_nb(c, 1, {E}, it);
  make(c, 2, {U + 1}, it);
  make(c, 3, {E}, it);
  make(c, 4, {E}, it);
}
// The graph (indptr = v[0], indices = v[1]) into its buffers; when `check`
// (the library scans the graph: a CPU call that does not skip the check)
// and content mutation is on, one of the two corrupted first.
void fill_graph(Call& c, bool check) {
  if (check && c.mutate_content && c.a[0].present && c.a[0].t.device_type == KN_DEVICE_CPU) {
    const int which = static_cast<int>(c.src->below(2));
    if (corrupt(c, which)) {
      // Against the generated sizes; a mutated size may hide the corruption.
      if (c.touched) c.either("bad-graph-after-mutation");
      else c.must_fail("bad-graph", which == 0 ? "indptr" : "indices");
      c.mutations.push_back(std::string("corrupt ") + (which == 0 ? "indptr" : "indices"));
    }
  }
  write_vec(c, 0, c.v[0]);
  write_vec(c, 1, c.v[1]);
}
void fill_csrt(Call& c) { fill_graph(c, true); }
std::string desc_csrt(const Call& c) { return graph_desc(c); }

// gspmm params
void gen_gs_params(Call& c) {
  c.gs.message = static_cast<int32_t>(c.src->below(2));
  c.gs.reduce = static_cast<int32_t>(c.src->below(4));
  c.gs.skip_index_check = c.src->coin(1, 5);
}
bool gs_maxmin(const Call& c) { return c.gs.reduce == KN_GSPMM_MAX || c.gs.reduce == KN_GSPMM_MIN; }
void mut_gs(Call& c) {
  Source& s = *c.src;
  static const int32_t v[] = {-1, INT32_MIN, INT32_MAX, 4, 2};
  switch (s.below(5)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: c.gs.message = s.pick(v); break;
    case 2: c.gs.reduce = s.pick(v) == 2 ? 4 : s.pick(v); break;
    case 3: c.gs.skip_index_check = s.coin(1, 2) ? 2 : -1; break;
    default:  // another legal message / reduce: the NULL rules change
      c.gs.reduce = static_cast<int32_t>(s.below(4)), c.gs.message = static_cast<int32_t>(s.below(2));
      break;
  }
  c.either("param-changed", "p");
  c.mutations.push_back("p mutated");
}
void fin_gs(Call& c) {
  if (c.p_null) return c.must_fail("params-null");
  if (c.gs.message < 0 || c.gs.message > 1) c.must_fail("param-range", "p->message");
  if (c.gs.reduce < 0 || c.gs.reduce > 3) c.must_fail("param-range", "p->reduce");
  if (c.gs.skip_index_check < 0 || c.gs.skip_index_check > 1) c.must_fail("param-range", "p->skip_index_check");
  // skip_index_check = 1 means the caller vouches for the graph: only an
  // untouched call may keep it (a mutated size or stride breaks the vouch).
  if (c.gs.skip_index_check == 1 && (c.touched || c.mutate_content)) {
    c.gs.skip_index_check = 0;
    c.mutations.push_back("skip_index_check=0");
  }
}
std::string desc_gs(const Call& c) {
  if (c.p_null) return "p=NULL " + graph_desc(c);
  return "p{message=" + std::to_string(c.gs.message) + " reduce=" + std::to_string(c.gs.reduce) +
         " skip=" + std::to_string(c.gs.skip_index_check) + "} " + graph_desc(c);
}

// arg of MAX/MIN: an edge of row v, or -1 for an empty row (any value is
// memory-safe: the backward only compares it).
void fill_arg(Call& c, int slot, int64_t F) {
  const int64_t V = c.g[0];
  if (fill_count(c, slot) <= 0) return;
  uint64_t rs = c.data_seed ^ 0x1234567;
  for (int64_t v = 0; v < V; ++v) {
    const int64_t b = c.v[0][static_cast<size_t>(v)], e = c.v[0][static_cast<size_t>(v + 1)];
    for (int64_t f = 0; f < F; ++f)
      set_index(c, slot, v * F + f, e > b ? b + static_cast<int64_t>(splitmix(rs) % static_cast<uint64_t>(e - b)) : -1);
  }
}

// gspmm_forward: indptr indices edge_values x y arg
void gen_gs_fwd(Call& c) {
  gen_gs_params(c);
  gen_graph(c);
  const int64_t V = c.g[0], U = c.g[1], E = c.g[2], F = small_size(c, 0, 6);
  c.g[3] = F;
  const int32_t it = index_dtype(c), dt = gen_dt(c);
  make_nb(c, 0, {V + 1}, it);
  make_nb(c, 1, {E}, it);
  if (c.gs.message == KN_GSPMM_U_MUL_E) make(c, 2, {E}, dt);
  make(c, 3, {U, F}, dt);
  make(c, 4, {V, F}, dt);
  if (gs_maxmin(c)) make(c, 5, {V, F}, index_dtype(c));
}
void fill_gs_fwd(Call& c) { fill_graph(c, c.gs.skip_index_check == 0); }

// gspmm_backward: dy indptr indices t_indptr t_indices t_edge_ids edge_values x arg dx dedge
void gen_gs_bwd(Call& c) {
  gen_gs_params(c);
  gen_graph(c);
  Source& s = *c.src;
  const int64_t V = c.g[0], U = c.g[1], E = c.g[2], F = small_size(c, 0, 6);
  c.g[3] = F;
  const bool mul_e = c.gs.message == KN_GSPMM_U_MUL_E;
  const bool dx = s.coin(2, 3), dedge = mul_e && s.coin(1, 2);
  const int32_t it = index_dtype(c), dt = gen_dt(c);
  make(c, 0, {V, F}, dt);
  make_nb(c, 1, {V + 1}, it);
  make_nb(c, 2, {E}, it);
  if (dx || s.coin(1, 3)) {
    make_nb(c, 3, {U + 1}, it);
    make_nb(c, 4, {E}, it);
    make_nb(c, 5, {E}, it);
  }
  if (mul_e && (dx || s.coin(1, 2))) make(c, 6, {E}, dt);
  if (dedge || s.coin(1, 2)) make(c, 7, {U, F}, dt);
  if (gs_maxmin(c)) make(c, 8, {V, F}, index_dtype(c));
  if (dx) make(c, 9, {U, F}, dt);
  if (dedge) make(c, 10, {E}, dt);
}
void fill_gs_bwd(Call& c) {
  if (c.mutate_content && c.gs.skip_index_check == 0 && c.a[1].present && c.a[1].t.device_type == KN_DEVICE_CPU) {
    // Scanned: indptr always, indices with dedge, the transpose with dx.
    static const int slot_of[] = {1, 2, 3, 4, 5};
    const int which = static_cast<int>(c.src->below(5));
    if (c.a[static_cast<size_t>(slot_of[which])].present && corrupt(c, which)) {
      const bool scanned = which == 0 || (which == 1 && c.a[10].present) || (which >= 2 && c.a[9].present);
      const char* names[] = {"indptr", "indices", "t_indptr", "t_indices", "t_edge_ids"};
      if (scanned && !c.touched) c.must_fail("bad-graph", names[which]);
      else c.either("bad-graph-unscanned-or-mutated", names[which]);
      c.mutations.push_back(std::string("corrupt ") + names[which]);
    }
  }
  write_vec(c, 1, c.v[0]);
  write_vec(c, 2, c.v[1]);
  write_vec(c, 3, c.v[2]);
  write_vec(c, 4, c.v[3]);
  write_vec(c, 5, c.v[4]);
  fill_arg(c, 8, c.g[3]);
}

// ------------------------------------------------------------ kn_set_num_threads

void gen_threads(Call& c) { c.i0 = static_cast<int32_t>(c.src->range(0, 4)); }
void mut_threads(Call& c) {
  static const int32_t v[] = {-1, -2, INT32_MIN, 64, 1000, INT32_MAX};
  c.i0 = c.src->pick(v);
  c.mutations.push_back("n=" + std::to_string(c.i0));
}
void fin_threads(Call& c) {
  if (c.i0 < 0) c.must_fail("param-range", "n");
}
std::string desc_threads(const Call& c) { return "n=" + std::to_string(c.i0); }

// ------------------------------------------------------------ invokers

#define T(i) c.t(i)
#define EX c.exec()

kn_status inv_threads(Call& c) { return kn_set_num_threads(c.i0); }
kn_status inv_linear_fwd(Call& c) { return kn_linear_forward(T(0), T(1), T(2), T(3), EX); }
kn_status inv_linear_bwd(Call& c) { return kn_linear_backward(T(0), T(1), T(2), T(3), T(4), T(5), EX); }
kn_status inv_relu_fwd(Call& c) { return kn_relu_forward(T(0), T(1), EX); }
kn_status inv_relu_bwd(Call& c) { return kn_relu_backward(T(0), T(1), T(2), EX); }
kn_status inv_mse_fwd(Call& c) { return fz_mse_loss_forward(c.i0, T(0), T(1), T(2), EX); }
kn_status inv_mse_bwd(Call& c) { return fz_mse_loss_backward(c.i0, T(0), T(1), T(2), T(3), T(4), EX); }
kn_status inv_conv_fwd(Call& c) { return kn_conv2d_forward(c.p(c.conv), T(0), T(1), T(2), T(3), EX); }
kn_status inv_conv_bwd(Call& c) {
  return kn_conv2d_backward(c.p(c.conv), T(0), T(1), T(2), T(3), T(4), T(5), EX);
}
kn_status inv_maxpool_fwd(Call& c) { return kn_max_pool2d_forward(c.p(c.maxp), T(0), T(1), T(2), EX); }
kn_status inv_maxpool_bwd(Call& c) { return kn_max_pool2d_backward(c.p(c.maxp), T(0), T(1), T(2), EX); }
kn_status inv_avgpool_fwd(Call& c) { return kn_avg_pool2d_forward(c.p(c.avgp), T(0), T(1), EX); }
kn_status inv_avgpool_bwd(Call& c) { return kn_avg_pool2d_backward(c.p(c.avgp), T(0), T(1), EX); }
kn_status inv_sigmoid_fwd(Call& c) { return kn_sigmoid_forward(T(0), T(1), EX); }
kn_status inv_sigmoid_bwd(Call& c) { return kn_sigmoid_backward(T(0), T(1), T(2), EX); }
kn_status inv_tanh_fwd(Call& c) { return kn_tanh_forward(T(0), T(1), EX); }
kn_status inv_tanh_bwd(Call& c) { return kn_tanh_backward(T(0), T(1), T(2), EX); }
kn_status inv_leaky_fwd(Call& c) { return kn_leaky_relu_forward(c.d0, T(0), T(1), EX); }
kn_status inv_leaky_bwd(Call& c) { return kn_leaky_relu_backward(c.d0, c.i0, T(0), T(1), T(2), EX); }
kn_status inv_gelu_fwd(Call& c) { return fz_gelu_forward(c.i0, T(0), T(1), EX); }
kn_status inv_gelu_bwd(Call& c) { return fz_gelu_backward(c.i0, T(0), T(1), T(2), EX); }
kn_status inv_softmax_fwd(Call& c) { return kn_softmax_forward(c.i0, T(0), T(1), EX); }
kn_status inv_softmax_bwd(Call& c) { return kn_softmax_backward(c.i0, T(0), T(1), T(2), EX); }
kn_status inv_lsm_fwd(Call& c) { return kn_log_softmax_forward(c.i0, T(0), T(1), EX); }
kn_status inv_lsm_bwd(Call& c) { return kn_log_softmax_backward(c.i0, T(0), T(1), T(2), EX); }
kn_status inv_nll_fwd(Call& c) { return kn_nll_loss_forward(c.p(c.ce), T(0), T(1), T(2), T(3), T(4), EX); }
kn_status inv_nll_bwd(Call& c) { return kn_nll_loss_backward(c.p(c.ce), T(0), T(1), T(2), T(3), T(4), EX); }
kn_status inv_ce_fwd(Call& c) { return kn_cross_entropy_forward(c.p(c.ce), T(0), T(1), T(2), T(3), T(4), EX); }
kn_status inv_ce_bwd(Call& c) {
  return kn_cross_entropy_backward(c.p(c.ce), T(0), T(1), T(2), T(3), T(4), T(5), EX);
}
kn_status inv_dropout_fwd(Call& c) { return kn_dropout_forward(c.d0, c.u0, T(0), T(1), T(2), EX); }
kn_status inv_dropout_bwd(Call& c) { return kn_dropout_backward(c.d0, T(0), T(1), T(2), EX); }
kn_status inv_csrt(Call& c) { return kn_csr_transpose(T(0), T(1), T(2), T(3), T(4), EX); }
kn_status inv_gs_fwd(Call& c) { return kn_gspmm_forward(c.p(c.gs), T(0), T(1), T(2), T(3), T(4), T(5), EX); }
kn_status inv_gs_bwd(Call& c) {
  return kn_gspmm_backward(c.p(c.gs), T(0), T(1), T(2), T(3), T(4), T(5), T(6), T(7), T(8), T(9), T(10), EX);
}

#undef T
#undef EX

constexpr Kind I = Kind::Index;
constexpr Kind M = Kind::Mask;
constexpr Kind F = Kind::Float;

std::vector<Entry> make_table() {
  using P = std::vector<std::pair<int, int>>;
  const P none;
  // Element-wise ops: an output may be exactly any input of its dtype (the
  // header: "Element-wise ops allow an output that is exactly an input").
  const P fwd_ip{{1, 0}}, bwd_ip{{2, 0}, {2, 1}};
  const P mse_fwd_ip{{2, 0}, {2, 1}}, mse_bwd_ip{{3, 0}, {3, 1}, {3, 2}, {4, 0}, {4, 1}, {4, 2}};
  return {
      // name, slots, gen, invoke, mutate_params, finish, fill, describe, in_place, flags
      {"kn_set_num_threads", {}, gen_threads, inv_threads, mut_threads, fin_threads, nullptr, desc_threads, none,
       kRestoreThreads | kNoExec},
      {"kn_linear_forward", {in("x", 2), in("w", 2), in_opt("b", 1), out("y", 2)}, gen_linear_fwd, inv_linear_fwd,
       nullptr, nullptr, nullptr, nullptr, none, 0},
      {"kn_linear_backward",
       {in("dy", 2), in_opt("x", 2), in_opt("w", 2), out_opt("dx", 2), out_opt("dw", 2), out_opt("db", 1)},
       gen_linear_bwd, inv_linear_bwd, nullptr, nullptr, nullptr, nullptr, none, 0},
      {"kn_relu_forward", {in("x"), out("y")}, gen_unary_fwd, inv_relu_fwd, nullptr, nullptr, nullptr, nullptr,
       fwd_ip, 0},
      {"kn_relu_backward", {in("dy"), in("x"), out("dx")}, gen_unary_bwd, inv_relu_bwd, nullptr, nullptr, nullptr,
       nullptr, bwd_ip, 0},
      {"kn_mse_loss_forward", {in("input"), in("target"), out("out")}, gen_mse_fwd, inv_mse_fwd, mut_mse, fin_mse,
       nullptr, desc_mse, mse_fwd_ip, 0},
      {"kn_mse_loss_backward",
       {in("dout"), in("input"), in("target"), out_opt("dinput"), out_opt("dtarget")}, gen_mse_bwd, inv_mse_bwd,
       mut_mse, fin_mse, nullptr, desc_mse, mse_bwd_ip, 0},
      {"kn_conv2d_forward", {in("x", 4), in("w", 4), in_opt("b", 1), out("y", 4)}, gen_conv_fwd, inv_conv_fwd,
       mut_conv, fin_conv, nullptr, desc_conv, none, 0},
      {"kn_conv2d_backward",
       {in("dy", 4), in_opt("x", 4), in_opt("w", 4), out_opt("dx", 4), out_opt("dw", 4), out_opt("db", 1)},
       gen_conv_bwd, inv_conv_bwd, mut_conv, fin_conv, nullptr, desc_conv, none, 0},
      {"kn_max_pool2d_forward", {in("x", 4), out("y", 4), out("indices", 4, I)}, gen_maxpool_fwd, inv_maxpool_fwd,
       mut_maxpool, fin_maxpool_fwd, nullptr, desc_maxpool, none, 0},
      {"kn_max_pool2d_backward", {in("dy", 4), in("indices", 4, I), out("dx", 4)}, gen_maxpool_bwd,
       inv_maxpool_bwd, mut_maxpool, fin_maxpool, fill_maxpool_bwd, desc_maxpool, none, kBadIndexDxUnspec},
      {"kn_avg_pool2d_forward", {in("x", 4), out("y", 4)}, gen_avgpool_fwd, inv_avgpool_fwd, mut_avgpool,
       fin_avgpool, nullptr, desc_avgpool, none, 0},
      {"kn_avg_pool2d_backward", {in("dy", 4), out("dx", 4)}, gen_avgpool_bwd, inv_avgpool_bwd, mut_avgpool,
       fin_avgpool_bwd, nullptr, desc_avgpool, none, 0},
      {"kn_sigmoid_forward", {in("x"), out("y")}, gen_unary_fwd, inv_sigmoid_fwd, nullptr, nullptr, nullptr,
       nullptr, fwd_ip, 0},
      {"kn_sigmoid_backward", {in("dy"), in("y"), out("dx")}, gen_unary_bwd, inv_sigmoid_bwd, nullptr, nullptr,
       nullptr, nullptr, bwd_ip, 0},
      {"kn_tanh_forward", {in("x"), out("y")}, gen_unary_fwd, inv_tanh_fwd, nullptr, nullptr, nullptr, nullptr,
       fwd_ip, 0},
      {"kn_tanh_backward", {in("dy"), in("y"), out("dx")}, gen_unary_bwd, inv_tanh_bwd, nullptr, nullptr, nullptr,
       nullptr, bwd_ip, 0},
      {"kn_leaky_relu_forward", {in("x"), out("y")}, gen_leaky_fwd, inv_leaky_fwd, mut_leaky, fin_leaky_fwd,
       nullptr, desc_leaky_fwd, fwd_ip, 0},
      {"kn_leaky_relu_backward", {in("dy"), in("self"), out("dx")}, gen_leaky_bwd, inv_leaky_bwd, mut_leaky,
       fin_leaky_bwd, nullptr, desc_leaky_bwd, bwd_ip, 0},
      {"kn_gelu_forward", {in("x"), out("y")}, gen_gelu_fwd, inv_gelu_fwd, mut_gelu, fin_gelu, nullptr, desc_gelu,
       fwd_ip, 0},
      {"kn_gelu_backward", {in("dy"), in("x"), out("dx")}, gen_gelu_bwd, inv_gelu_bwd, mut_gelu, fin_gelu, nullptr,
       desc_gelu, bwd_ip, 0},
      {"kn_softmax_forward", {in("x"), out("y")}, gen_softmax_fwd, inv_softmax_fwd, mut_softmax, fin_softmax_fwd,
       nullptr, desc_softmax, fwd_ip, 0},
      {"kn_softmax_backward", {in("dy"), in("y"), out("dx")}, gen_softmax_bwd, inv_softmax_bwd, mut_softmax,
       fin_softmax_bwd, nullptr, desc_softmax, bwd_ip, 0},
      {"kn_log_softmax_forward", {in("x"), out("y")}, gen_softmax_fwd, inv_lsm_fwd, mut_softmax, fin_softmax_fwd,
       nullptr, desc_softmax, fwd_ip, 0},
      {"kn_log_softmax_backward", {in("dy"), in("y"), out("dx")}, gen_softmax_bwd, inv_lsm_bwd, mut_softmax,
       fin_softmax_bwd, nullptr, desc_softmax, bwd_ip, 0},
      {"kn_nll_loss_forward",
       {in("input"), in("target", -1, I), in_opt("weight", 1), out("out"), out("total_weight", 0)}, gen_nll_fwd,
       inv_nll_fwd, mut_class, fin_nll, fill_class_fwd, desc_class, none, 0},
      {"kn_nll_loss_backward",
       {in("dout"), in("target", -1, I), in_opt("weight", 1), in("total_weight", 0), out("dinput")}, gen_nll_bwd,
       inv_nll_bwd, mut_class, fin_nll, fill_nll_bwd, desc_class, none, 0},
      {"kn_cross_entropy_forward",
       {in("input"), in("target", -1, I), in_opt("weight", 1), out("out"), out("total_weight", 0)}, gen_ce_fwd,
       inv_ce_fwd, mut_class, fin_ce, fill_class_fwd, desc_class, none, 0},
      {"kn_cross_entropy_backward",
       {in("dout"), in("input"), in("target", -1, I), in_opt("weight", 1), in("total_weight", 0), out("dinput")},
       gen_ce_bwd, inv_ce_bwd, mut_class, fin_ce, fill_ce_bwd, desc_class, none, 0},
      {"kn_dropout_forward", {in("x"), out("y"), out("mask", -1, M)}, gen_dropout_fwd, inv_dropout_fwd,
       mut_dropout, fin_dropout, nullptr, desc_dropout_fwd, P{{1, 0}, {2, 0}}, 0},
      {"kn_dropout_backward", {in("dy"), in("mask", -1, M), out("dx")}, gen_dropout_bwd, inv_dropout_bwd,
       mut_dropout, fin_dropout, nullptr, desc_dropout_bwd, bwd_ip, 0},
      {"kn_csr_transpose",
       {in("indptr", 1, I), in("indices", 1, I), out("t_indptr", 1, I), out("t_indices", 1, I),
        out("t_edge_ids", 1, I)},
       gen_csrt, inv_csrt, nullptr, nullptr, fill_csrt, desc_csrt, none, 0},
      {"kn_gspmm_forward",
       {in("indptr", 1, I), in("indices", 1, I), in_opt("edge_values", 1), in("x", 2), out("y", 2),
        out_opt("arg", 2, I)},
       gen_gs_fwd, inv_gs_fwd, mut_gs, fin_gs, fill_gs_fwd, desc_gs, none, 0},
      {"kn_gspmm_backward",
       {in("dy", 2), in("indptr", 1, I), in("indices", 1, I), in_opt("t_indptr", 1, I), in_opt("t_indices", 1, I),
        in_opt("t_edge_ids", 1, I), in_opt("edge_values", 1), in_opt("x", 2), in_opt("arg", 2, I),
        out_opt("dx", 2), out_opt("dedge", 1)},
       gen_gs_bwd, inv_gs_bwd, mut_gs, fin_gs, fill_gs_bwd, desc_gs, none, 0},
  };
  (void)F;
}

}  // namespace

// For tests/fuzz/ops/<op>.cpp (harness.hpp).
void gen_elementwise_forward(Call& c) { gen_unary_fwd(c); }
void gen_elementwise_backward(Call& c) { gen_unary_bwd(c); }
double bad_finite(Call& c) { return bad_double(c); }

// Entries registered by tests/fuzz/ops/<op>.cpp (ops written with the
// scaffold), appended to the table in name order on first use.
std::vector<Entry>& registered() {
  static std::vector<Entry> r;
  return r;
}

int register_entry(Entry e) {
  registered().push_back(std::move(e));
  return 0;
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = [] {
    std::vector<Entry> t = make_table(), extra = registered();
    std::sort(extra.begin(), extra.end(),
              [](const Entry& a, const Entry& b) { return std::strcmp(a.name, b.name) < 0; });
    t.insert(t.end(), extra.begin(), extra.end());
    return t;
  }();
  return table;
}

}  // namespace fz
