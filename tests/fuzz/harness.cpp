// The generic machinery of the fuzz harness (see harness.hpp for the steps).
// Written to be free of undefined behaviour itself (it runs under UBSan):
// every size/stride computation is done in saturating 128-bit arithmetic.
#include "harness.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace fz {

using i128 = __int128;

// ------------------------------------------------------------ quirks

const QuirkInfo kQuirks[] = {
    {kAvoidSize1HugeStride, "size1-huge-stride",
     "size-1 dims with |stride| > 2^40 (F6: such views are rejected; F5: llabs)"},
    {kAvoidInt64MinStride, "int64-min-stride", "strides equal to INT64_MIN (F5: llabs(INT64_MIN))"},
    {kAvoidExtentOverflow, "extent-overflow",
     "descriptors whose element count or byte extent exceeds INT64_MAX (F6: accepted), and empty ones "
     "with |stride| > 2^30 (F5: stride x size x element size overflows)"},
    {kAvoidCpuDeviceId, "cpu-device-id", "CPU tensors with device_id != 0 (F6: accepted)"},
    {kAvoidBadEnum, "bad-enum",
     "out-of-range values of enum-typed parameters: kn_reduction, kn_gelu_approximate (F5)"},
    {kAvoidNullEmpty, "null-empty",
     "NULL data on empty tensors; conv2d with C = 0 or an empty x/dx (H, W) plane (F5: NULL pointer "
     "arithmetic on empty scratch buffers)"},
    {kAvoidHugeParams, "huge-params", "conv2d/pool parameters and groups beyond 2^20 (F4, F5)"},
    {kAvoidHugeSizes, "huge-sizes", "sizes beyond 2^20 on empty or broadcast tensors (F3, F4)"},
    {kAvoidAvgPoolCeil2x2, "avgpool-ceil-2x2",
     "avg_pool2d_backward with a 2x2 stride-2 window, ceil_mode and odd H or W (F1)"},
};
const int kNumQuirks = sizeof(kQuirks) / sizeof(kQuirks[0]);

bool parse_avoid(const char* list, uint32_t& bits, std::string& error) {
  std::string s(list);
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t end = std::min(s.find(',', pos), s.size());
    const std::string name = s.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty()) continue;
    if (name == "known" || name == "all") {
      for (int i = 0; i < kNumQuirks; ++i) bits |= kQuirks[i].bit;
      continue;
    }
    bool found = false;
    for (int i = 0; i < kNumQuirks; ++i)
      if (name == kQuirks[i].name) bits |= kQuirks[i].bit, found = true;
    if (!found) {
      error = "unknown --avoid name '" + name + "'";
      return false;
    }
  }
  return true;
}

std::string avoid_string(uint32_t bits) {
  std::string s;
  for (int i = 0; i < kNumQuirks; ++i)
    if (bits & kQuirks[i].bit) s += (s.empty() ? "" : ",") + std::string(kQuirks[i].name);
  return s;
}

// ------------------------------------------------------------ small helpers

namespace {

constexpr int64_t kGuard = 64;                   // canary bytes on each side
constexpr int64_t kCapBytes = int64_t(8) << 20;  // largest payload allocated
constexpr i128 kMaxWork = i128(1) << 21;          // largest numel of a (broadcast) input
constexpr i128 kSat = i128(1) << 100;             // saturation of 128-bit size arithmetic
constexpr uint8_t kCanary = 0xCB;
constexpr int64_t kHuge40 = int64_t(1) << 40;

i128 sat_mul(i128 a, i128 b) {
  if (a == 0 || b == 0) return 0;
  if (a > kSat / b) return kSat;
  return std::min(a * b, kSat);
}
i128 sat_add(i128 a, i128 b) { return std::min(a + b, kSat); }
i128 abs128(int64_t v) { return v < 0 ? -i128(v) : i128(v); }

// The harness's own dtype facts and rules (esz, dt_name, kind_ok), written
// from the header's documentation rather than taken from capi/ or
// tests/cpp/: the oracle must not share code with what it checks.
int esz(int32_t dt) {
  switch (dt) {
    case KN_FLOAT32: case KN_INT32: return 4;
    case KN_FLOAT64: case KN_INT64: return 8;
    case KN_FLOAT16: case KN_BFLOAT16: return 2;
    case KN_UINT8: case KN_BOOL: return 1;
    default: return 0;
  }
}

const char* dt_name(int32_t dt) {
  switch (dt) {
    case KN_FLOAT32: return "f32";
    case KN_FLOAT64: return "f64";
    case KN_FLOAT16: return "f16";
    case KN_BFLOAT16: return "bf16";
    case KN_INT32: return "i32";
    case KN_INT64: return "i64";
    case KN_UINT8: return "u8";
    case KN_BOOL: return "bool";
    default: return nullptr;
  }
}

bool kind_ok(Kind k, int32_t dt) {
  switch (k) {
    case Kind::Float: return dt == KN_FLOAT32 || dt == KN_FLOAT64;
    case Kind::Index: return dt == KN_INT32 || dt == KN_INT64;
    case Kind::Mask: return dt == KN_UINT8 || dt == KN_BOOL;
    case Kind::FloatOrMask: return kind_ok(Kind::Float, dt) || kind_ok(Kind::Mask, dt);
  }
  return false;
}

bool ndim_ok(const kn_tensor& t) { return t.ndim >= 0 && t.ndim <= KN_MAX_DIMS; }

// ndim in range, sizes >= 0, a known dtype: the descriptor describes memory.
bool desc_ok(const kn_tensor& t) {
  if (!ndim_ok(t) || esz(t.dtype) == 0) return false;
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] < 0) return false;
  return true;
}

i128 numel128(const kn_tensor& t) {  // desc_ok
  i128 n = 1;
  for (int d = 0; d < t.ndim; ++d) n = sat_mul(n, t.shape[d]);
  return n;
}

// Elements addressed relative to data: [lo, hi] (numel > 0; size-1 dims do not count).
void elem_range(const kn_tensor& t, i128& lo, i128& hi) {
  lo = 0, hi = 0;
  for (int d = 0; d < t.ndim; ++d) {
    if (t.shape[d] <= 1) continue;
    const i128 span = sat_mul(abs128(t.strides[d]), t.shape[d] - 1);
    if (t.strides[d] < 0) lo = -sat_add(-lo, span);
    else hi = sat_add(hi, span);
  }
}

// Bytes spanned by a non-empty view: (hi - lo + 1) * esz.
i128 span_bytes(const kn_tensor& t) {
  i128 lo, hi;
  elem_range(t, lo, hi);
  return sat_mul(sat_add(hi - lo, 1), esz(t.dtype));
}

// An empty tensor the library may reject conservatively: the running
// product of sizes, or sum |stride| * size, leaves int64 (neither is wrong:
// nothing is addressed, but nothing forbids a library to check it).
bool empty_conservative_overflow(const kn_tensor& t) {
  i128 count = 1, off = 0;
  for (int d = 0; d < t.ndim; ++d) {
    count = sat_mul(count, t.shape[d]);
    if (count > INT64_MAX) return true;
    off = sat_add(off, sat_mul(abs128(t.strides[d]), t.shape[d]));
    if (off > INT64_MAX) return true;
  }
  return false;
}

// The header's rule: ordered by |stride|, each dim longer than 1 must step
// past everything the smaller dims span.
bool self_overlaps(const kn_tensor& t) {
  i128 st[KN_MAX_DIMS], sz[KN_MAX_DIMS];
  int n = 0;
  for (int d = 0; d < t.ndim; ++d) {
    if (t.shape[d] == 0) return false;
    if (t.shape[d] > 1) st[n] = abs128(t.strides[d]), sz[n] = t.shape[d], ++n;
  }
  for (int i = 1; i < n; ++i)
    for (int j = i; j > 0 && st[j] < st[j - 1]; --j) std::swap(st[j], st[j - 1]), std::swap(sz[j], sz[j - 1]);
  i128 span = 0;
  for (int i = 0; i < n; ++i) {
    if (st[i] <= span) return true;
    span = sat_add(span, sat_mul(st[i], sz[i] - 1));
  }
  return false;
}

bool same_view(const kn_tensor& a, const kn_tensor& b) {
  if (a.data != b.data || a.ndim != b.ndim || a.dtype != b.dtype) return false;
  for (int d = 0; d < a.ndim; ++d)
    if (a.shape[d] != b.shape[d] || (a.shape[d] > 1 && a.strides[d] != b.strides[d])) return false;
  return true;
}

// Calls f(byte offset of each element relative to data). Needs an allocated view.
template <typename F>
void for_each_elem(const kn_tensor& t, F&& f) {
  int64_t size[KN_MAX_DIMS], stride[KN_MAX_DIMS], idx[KN_MAX_DIMS] = {};
  int nd = 0;
  for (int d = 0; d < t.ndim; ++d) {
    if (t.shape[d] == 0) return;
    if (t.shape[d] > 1) size[nd] = t.shape[d], stride[nd] = t.strides[d], ++nd;
  }
  const int64_t e = esz(t.dtype);
  int64_t off = 0;
  for (;;) {
    f(off * e);
    int d = nd - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < size[d]) {
        off += stride[d];
        break;
      }
      off -= stride[d] * (size[d] - 1);
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

void poison_bytes(int32_t dt, uint8_t* p) {
  switch (dt) {
    case KN_FLOAT32: { const uint32_t v = 0x7FC0DEADu; std::memcpy(p, &v, 4); return; }
    case KN_FLOAT64: { const uint64_t v = 0x7FF8DEADBEEFCAFEull; std::memcpy(p, &v, 8); return; }
    default: std::memset(p, 0xA5, static_cast<size_t>(esz(dt))); return;
  }
}

}  // namespace

std::string fmt_i64(int64_t v) {
  if (v == INT64_MIN) return "INT64_MIN";
  if (v == INT64_MAX) return "INT64_MAX";
  if (v == INT32_MAX) return "INT32_MAX";
  if (v == INT32_MIN) return "INT32_MIN";
  const uint64_t m = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  if (m >= (1u << 20) && (m & (m - 1)) == 0) {
    int k = 0;
    while ((uint64_t(1) << k) != m) ++k;
    return std::string(v < 0 ? "-" : "") + "2^" + std::to_string(k);
  }
  return std::to_string(v);
}

// ------------------------------------------------------------ generation helpers

int32_t float_dtype(Call& c) { return c.src->coin(3, 4) ? KN_FLOAT32 : KN_FLOAT64; }
int32_t index_dtype(Call& c) { return c.src->coin(1, 2) ? KN_INT64 : KN_INT32; }
int32_t mask_dtype(Call& c) { return c.src->coin(1, 2) ? KN_UINT8 : KN_BOOL; }

bool huge_ok(Call& c, unsigned num, unsigned den) {
  return !c.avoid(kAvoidHugeSizes) && c.src->coin(num, den);
}

int64_t small_size(Call& c, int64_t lo, int64_t hi) {
  // Mostly the low end: most bugs need only a few elements, and small calls are fast.
  if (c.src->coin(2, 3)) return c.src->range(lo, std::min(hi, lo + 4));
  return c.src->range(lo, hi);
}

std::vector<int64_t> any_shape(Call& c, int min_ndim, int max_ndim) {
  Source& s = *c.src;
  int nd = static_cast<int>(s.range(min_ndim, max_ndim));
  if (s.coin(1, 16)) nd = static_cast<int>(s.range(min_ndim, KN_MAX_DIMS));
  const bool big = s.coin(1, 24);  // parallel paths need > 32768 elements per thread
  std::vector<int64_t> shape(static_cast<size_t>(nd));
  for (auto& v : shape) {
    const unsigned r = static_cast<unsigned>(s.below(100));
    v = r < 3 ? 0 : r < 28 ? 1 : r < 88 ? s.range(2, 8) : s.range(9, big ? 600 : 40);
  }
  const int64_t cap = big ? 300000 : 4096;
  for (;;) {  // shrink the largest size until numel fits
    int64_t n = 1;
    for (auto v : shape) n = n * std::max<int64_t>(v, 1);
    if (n <= cap) break;
    auto it = std::max_element(shape.begin(), shape.end());
    *it = (*it + 1) / 2;
  }
  return shape;
}

// Random strides for a view of `shape` (dense, permuted, padded, negative,
// broadcast for inputs) and the odd strides of size-1 and size-0 dims.
static void gen_layout(Call& c, kn_tensor& t, bool output, bool broadcast_ok = true) {
  Source& s = *c.src;
  const int nd = t.ndim;
  int order[KN_MAX_DIMS];
  for (int d = 0; d < nd; ++d) order[d] = d;
  const unsigned mode = static_cast<unsigned>(s.below(20));
  if (mode >= 12 && mode < 15)  // permuted
    for (int d = nd - 1; d > 0; --d) std::swap(order[d], order[s.below(static_cast<uint64_t>(d) + 1)]);
  int64_t step = 1;
  for (int k = nd - 1; k >= 0; --k) {
    const int d = order[k];
    t.strides[d] = step;
    int64_t extent = std::max<int64_t>(t.shape[d], 1);
    if (mode >= 15 && mode < 18 && s.coin(1, 2)) extent += s.range(1, 3);  // padded
    step *= extent;  // small: shapes from the generators are small here
  }
  if (s.coin(1, 6))  // negative strides (reversed views)
    for (int d = 0; d < nd; ++d)
      if (s.coin(1, 2)) t.strides[d] = -t.strides[d];
  if (!output && broadcast_ok && s.coin(1, 8))  // broadcast
    for (int d = 0; d < nd; ++d)
      if (s.coin(1, 3)) t.strides[d] = 0;
  // Size-1 and size-0 dims: any stride is legal (the element count or the
  // single index makes it irrelevant).
  for (int d = 0; d < nd; ++d) {
    if (t.shape[d] > 1 || !s.coin(1, 4)) continue;
    static const int64_t odd[] = {0, 1, -1, 7, -13, 1000003, int64_t(1) << 40, int64_t(1) << 62,
                                  -(int64_t(1) << 62), INT64_MAX, INT64_MIN, INT64_MIN + 1};
    t.strides[d] = s.pick(odd);
  }
}

static Arg& bare(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype) {
  Arg& x = c.a[static_cast<size_t>(slot)];
  x = Arg{};
  x.present = true;
  x.t.dtype = dtype;
  x.t.device_type = KN_DEVICE_CPU;
  x.t.device_id = 0;
  x.t.ndim = static_cast<int32_t>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) x.t.shape[d] = shape[d];
  return x;
}

void make(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype) {
  Arg& x = bare(c, slot, shape, dtype);
  gen_layout(c, x.t, c.e->slots[static_cast<size_t>(slot)].role == Role::Out);
}

void make_nb(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype) {
  Arg& x = bare(c, slot, shape, dtype);
  gen_layout(c, x.t, c.e->slots[static_cast<size_t>(slot)].role == Role::Out, false);
}

void make_const(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype, int64_t stride) {
  Arg& x = bare(c, slot, shape, dtype);
  for (size_t d = 0; d < shape.size(); ++d) x.t.strides[d] = stride;
  x.keep_huge = stride == 0;
}

void make_alias(Call& c, int out, int in) {
  Arg& o = c.a[static_cast<size_t>(out)];
  o = c.a[static_cast<size_t>(in)];
  o.alias_of = in;
  o.overlap_of = -1;
}

int64_t numel_of(const Call& c, int slot) {
  const Arg& x = c.a[static_cast<size_t>(slot)];
  if (!x.present || !desc_ok(x.t)) return -1;
  const i128 n = numel128(x.t);
  return n > INT64_MAX ? -1 : static_cast<int64_t>(n);
}

int64_t fill_count(const Call& c, int slot) {
  const Arg& x = c.a[static_cast<size_t>(slot)];
  if (!x.present || x.decoy || x.group < 0 || !x.t.data) return 0;
  const int64_t n = numel_of(c, slot);
  return n > 0 && n <= (int64_t(1) << 22) ? n : 0;
}

// Byte address of logical element i, or nullptr where the slot has no such
// element in a buffer of ours.
static uint8_t* elem_ptr(Call& c, int slot, int64_t i) {
  Arg& x = c.a[static_cast<size_t>(slot)];
  if (!x.present || x.decoy || x.group < 0 || x.t.data == nullptr) return nullptr;
  const int64_t n = numel_of(c, slot);
  if (n <= 0 || i < 0 || i >= n) return nullptr;
  int64_t off = 0;
  for (int d = x.t.ndim - 1; d >= 0; --d) {
    const int64_t sz = x.t.shape[d], k = i % sz;
    i /= sz;
    if (k) off += k * x.t.strides[d];
  }
  return static_cast<uint8_t*>(x.t.data) + off * esz(x.t.dtype);
}

void set_index(Call& c, int slot, int64_t i, int64_t v) {
  uint8_t* p = elem_ptr(c, slot, i);
  if (!p) return;
  const int32_t dt = c.a[static_cast<size_t>(slot)].t.dtype;
  if (dt == KN_INT32) {
    const int32_t w = static_cast<int32_t>(v);
    std::memcpy(p, &w, 4);
  } else if (dt == KN_INT64) {
    std::memcpy(p, &v, 8);
  }
}

void set_mask(Call& c, int slot, int64_t i, int v) {
  uint8_t* p = elem_ptr(c, slot, i);
  if (p && esz(c.a[static_cast<size_t>(slot)].t.dtype) == 1) *p = static_cast<uint8_t>(v);
}

Call::~Call() {
  for (Buffer& b : bufs) std::free(b.mem);
}

// ------------------------------------------------------------ mutations

namespace {

int64_t pick_size(Call& c, int64_t old) {
  Source& s = *c.src;
  static const int64_t huge[] = {int64_t(1) << 31, (int64_t(1) << 31) + 1, int64_t(1) << 32,
                                 int64_t(1) << 40, int64_t(1) << 62, INT64_MAX - 1, INT64_MAX,
                                 (int64_t(1) << 16) + 1, 3037000500};  // 3037000500^2 > INT64_MAX
  static const int64_t neg[] = {-1, -2, INT64_MIN, -(int64_t(1) << 32)};
  switch (s.below(8)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return old < 64 ? old + 1 : 1;
    case 3: return old > 0 ? old - 1 : 2;
    case 4: return old >= 0 && old < 32 ? old * 2 + 1 : 64;
    case 5: return s.pick(neg);
    default: return c.avoid(kAvoidHugeSizes) ? s.range(2, 9) : s.pick(huge);
  }
}

int64_t pick_stride(Call& c, int64_t old) {
  Source& s = *c.src;
  static const int64_t odd[] = {0, 1, -1, 2, int64_t(1) << 31, int64_t(1) << 40, int64_t(1) << 61,
                                int64_t(1) << 62, -(int64_t(1) << 62), INT64_MAX, INT64_MIN,
                                INT64_MIN + 1, (INT64_MAX / 4) + 1};
  switch (s.below(5)) {
    case 0: return old == INT64_MIN ? 1 : -old;
    case 1: return old > -1000 && old < 1000 ? old * 2 + 1 : 3;
    case 2: return old > -1000 && old < 1000 ? old + s.range(-2, 2) : 1;
    default: return s.pick(odd);
  }
}

void mutate_tensor(Call& c) {
  Source& s = *c.src;
  const auto& slots = c.e->slots;
  if (slots.empty()) return;
  const int i = static_cast<int>(s.below(slots.size()));
  const Slot& sl = slots[static_cast<size_t>(i)];
  Arg& x = c.a[static_cast<size_t>(i)];
  std::string what = sl.name;
  c.touched |= 1u << i;
  if (!x.present) {
    if (!sl.nullable) return;
    // An optional argument the valid call left out: add one of a random shape.
    std::vector<int64_t> shape =
        sl.ndim >= 0 ? std::vector<int64_t>(static_cast<size_t>(sl.ndim), 0) : any_shape(c);
    for (auto& v : shape) v = small_size(c, 0, 6);
    int32_t dt = sl.kind == Kind::Index ? index_dtype(c) : sl.kind == Kind::Mask ? mask_dtype(c) : KN_FLOAT32;
    for (const Arg& o : c.a)  // the call's float dtype
      if ((sl.kind == Kind::Float || sl.kind == Kind::FloatOrMask) && o.present &&
          (o.t.dtype == KN_FLOAT32 || o.t.dtype == KN_FLOAT64)) {
        dt = o.t.dtype;
        break;
      }
    make(c, i, shape, dt);
    c.mutations.push_back(what + ":added");
    c.either("optional-added", sl.name);
    return;
  }
  switch (s.below(20)) {
    case 0: case 1:  // NULL tensor
      x.present = false;
      c.mutations.push_back(what + ":NULL");
      if (sl.nullable) c.either("optional-dropped", sl.name);  // a required one: generic rule
      return;
    case 2: case 3:  // NULL data
      x.null_data = true;
      c.mutations.push_back(what + ":data=NULL");
      return;
    case 4: case 5: {  // ndim
      static const int32_t bad[] = {-1, INT32_MIN, KN_MAX_DIMS + 1, INT32_MAX, 64};
      int32_t nd = s.coin(1, 3) ? s.pick(bad) : static_cast<int32_t>(s.range(0, KN_MAX_DIMS));
      if (nd == x.t.ndim) nd = nd == INT32_MAX ? 0 : nd + 1;
      c.mutations.push_back(what + ":ndim=" + std::to_string(nd));
      if (nd >= 0 && nd <= KN_MAX_DIMS && ndim_ok(x.t)) {
        for (int d = x.t.ndim; d < nd; ++d) {  // new outer-most-stepping dims
          x.t.shape[d] = s.range(1, 2);
          x.t.strides[d] = 4096 * (d + 1);
        }
      }
      x.t.ndim = nd;
      c.either("ndim-changed", sl.name);  // back to the right ndim, the sizes differ
      return;
    }
    case 6: case 7: case 8: case 9: {  // a size
      if (!ndim_ok(x.t) || x.t.ndim == 0) return;
      const int d = static_cast<int>(s.below(static_cast<uint64_t>(x.t.ndim)));
      int64_t v = pick_size(c, x.t.shape[d]);
      if (v == x.t.shape[d]) v = x.t.shape[d] == INT64_MAX ? 0 : x.t.shape[d] + 1;
      x.t.shape[d] = v;
      c.mutations.push_back(what + ":shape[" + std::to_string(d) + "]=" + fmt_i64(v));
      c.either("size-changed", sl.name);
      return;
    }
    case 10: case 11: case 12: case 13: {  // a stride
      if (!ndim_ok(x.t) || x.t.ndim == 0) return;
      const int d = static_cast<int>(s.below(static_cast<uint64_t>(x.t.ndim)));
      x.t.strides[d] = pick_stride(c, x.t.strides[d]);
      c.mutations.push_back(what + ":strides[" + std::to_string(d) + "]=" + fmt_i64(x.t.strides[d]));
      // Index contents are written per element: a new stride 0 makes them
      // share one element (a graph then no longer holds).
      if (sl.kind == Kind::Index && sl.role == Role::In) c.either("index-stride-changed", sl.name);
      return;
    }
    case 14: case 15: {  // dtype
      static const int32_t codes[] = {KN_FLOAT32, KN_FLOAT64, KN_FLOAT16, KN_BFLOAT16, KN_INT32,
                                      KN_INT64,   KN_UINT8,   KN_BOOL,    8,           -1,
                                      255,        INT32_MIN,  INT32_MAX};
      int32_t dt = s.pick(codes);
      if (dt == x.t.dtype) dt = dt == KN_FLOAT32 ? KN_FLOAT64 : KN_FLOAT32;
      x.t.dtype = dt;
      c.mutations.push_back(what + ":dtype=" + std::to_string(dt));
      if (kind_ok(sl.kind, dt) && sl.kind != Kind::Float) c.either("index-dtype-changed", sl.name);
      return;
    }
    case 16: case 17: {  // device
      struct Dev { int32_t type, id; };
      static const Dev devs[] = {{KN_DEVICE_CUDA, 0}, {KN_DEVICE_CUDA, 1}, {KN_DEVICE_CUDA, -1},
                                 {KN_DEVICE_CPU, 1},  {KN_DEVICE_CPU, -1}, {0, 0},
                                 {3, 0},              {-1, 0},             {INT32_MAX, 0},
                                 {13, 0}};
      Dev d = s.pick(devs);
      // Never CUDA where the library has CUDA: our host buffers would reach its kernels.
      if (d.type == KN_DEVICE_CUDA && kn_has_cuda()) d = {7, 0};
      if (d.type == KN_DEVICE_CPU && c.avoid(kAvoidCpuDeviceId)) d = {0, 0};
      x.t.device_type = d.type, x.t.device_id = d.id;
      c.mutations.push_back(what + ":device=" + std::to_string(d.type) + ":" + std::to_string(d.id));
      return;
    }
    default: {  // an output overlapping (or exactly aliasing) another argument
      if (sl.role != Role::Out) return;
      std::vector<int> others;
      for (size_t j = 0; j < c.a.size(); ++j)
        if (static_cast<int>(j) != i && c.a[j].present && c.a[j].alias_of < 0 && c.a[j].overlap_of < 0)
          others.push_back(static_cast<int>(j));
      if (others.empty()) return;
      const int j = others[s.below(others.size())];
      const Arg& y = c.a[static_cast<size_t>(j)];
      bool same_shape = y.t.dtype == x.t.dtype && y.t.ndim == x.t.ndim && ndim_ok(x.t);
      for (int d = 0; same_shape && d < x.t.ndim; ++d) same_shape = x.t.shape[d] == y.t.shape[d];
      if (same_shape && s.coin(1, 2)) {
        make_alias(c, i, j);
        c.mutations.push_back(what + ":alias-of-" + slots[static_cast<size_t>(j)].name);
      } else {
        x.overlap_of = j, x.alias_of = -1;
        x.overlap_pick = static_cast<int64_t>(s.u64() >> 1);
        c.mutations.push_back(what + ":overlaps-" + slots[static_cast<size_t>(j)].name);
      }
      return;
    }
  }
}

void gen_exec(Call& c) {
  Source& s = *c.src;
  c.ex_null = s.coin(1, 2);
  c.ex = kn_exec{nullptr, nullptr, 0, 0, 0};
  if (!c.ex_null) c.ex.num_threads = static_cast<int32_t>(s.range(0, 4));
}

void mutate_exec(Call& c) {
  Source& s = *c.src;
  c.ex_null = false;
  switch (s.below(6)) {
    case 0: {
      static const uint32_t f[] = {1u, 2u, 0x80000000u, 0xFFFFFFFFu};
      c.ex.flags = s.pick(f);
      c.mutations.push_back("ex.flags=" + std::to_string(c.ex.flags));
      return;
    }
    case 1: {
      static const int32_t n[] = {-1, -2, INT32_MIN};
      c.ex.num_threads = s.pick(n);
      c.mutations.push_back("ex.num_threads=" + std::to_string(c.ex.num_threads));
      return;
    }
    case 2: {  // legal odd thread counts
      static const int32_t n[] = {5, 7, 16, 64, 1000};
      c.ex.num_threads = s.pick(n);
      c.mutations.push_back("ex.num_threads=" + std::to_string(c.ex.num_threads));
      return;
    }
    case 3: {
      static const size_t b[] = {1, 4096, SIZE_MAX};
      c.ex.workspace = nullptr, c.ex.workspace_bytes = s.pick(b);
      c.mutations.push_back("ex.workspace=NULL,bytes=" + std::to_string(c.ex.workspace_bytes));
      return;
    }
    case 4:  // a real workspace (no op needs one): legal
      c.workspace.assign(static_cast<size_t>(s.range(1, 4096)), 0);
      c.ex.workspace = c.workspace.data(), c.ex.workspace_bytes = c.workspace.size();
      c.mutations.push_back("ex.workspace=" + std::to_string(c.workspace.size()) + "B");
      return;
    default:  // a stream on CPU: ignored
      c.ex.stream = reinterpret_cast<void*>(uintptr_t(0xDEADBEEF));
      c.mutations.push_back("ex.stream=0xDEADBEEF");
      return;
  }
}

// ------------------------------------------------------------ avoid and shrink

// The largest size becomes 0: nothing addressed, the shapes may disagree now.
void shrink(Call& c, int i, const char* why) {
  Arg& x = c.a[static_cast<size_t>(i)];
  c.touched |= 1u << i;
  int best = 0;
  for (int d = 1; d < x.t.ndim; ++d)
    if (x.t.shape[d] > x.t.shape[best]) best = d;
  x.t.shape[best] = 0;
  c.mutations.push_back(std::string(c.e->slots[static_cast<size_t>(i)].name) + ":" + why + ":shape[" +
                        std::to_string(best) + "]=0");
  c.either(why, c.e->slots[static_cast<size_t>(i)].name);
}

void avoid_and_shrink(Call& c) {
  for (size_t i = 0; i < c.a.size(); ++i) {
    Arg& x = c.a[i];
    if (!x.present) continue;
    kn_tensor& t = x.t;
    if (c.avoid(kAvoidCpuDeviceId) && t.device_type == KN_DEVICE_CPU && t.device_id != 0) t.device_id = 0;
    if (!ndim_ok(t)) continue;
    for (int d = 0; d < t.ndim; ++d) {
      if (c.avoid(kAvoidInt64MinStride) && t.strides[d] == INT64_MIN) t.strides[d] = -(int64_t(1) << 62);
      if (c.avoid(kAvoidSize1HugeStride) && t.shape[d] == 1 && abs128(t.strides[d]) > kHuge40)
        t.strides[d] = 1;
      if (c.avoid(kAvoidHugeSizes) && t.shape[d] > (int64_t(1) << 20)) {
        t.shape[d] = 3;
        c.either("avoid-huge-size", c.e->slots[i].name);
      }
    }
    if (!desc_ok(t)) continue;
    const i128 n = numel128(t);
    if (n > 0) {
      if (n > INT64_MAX || span_bytes(t) > INT64_MAX) {  // invalid: must fail, gets a decoy buffer
        if (c.avoid(kAvoidExtentOverflow)) shrink(c, static_cast<int>(i), "avoid-extent-overflow");
      } else if (span_bytes(t) > kCapBytes || (n > kMaxWork && !x.keep_huge)) {
        shrink(c, static_cast<int>(i), "shrunk");
      }
    }
    if (numel128(t) == 0) {
      if (c.avoid(kAvoidNullEmpty)) x.null_data = false;
      if (c.avoid(kAvoidExtentOverflow))  // stride x size x element size stays far from 2^63
        for (int d = 0; d < t.ndim; ++d)
          if (abs128(t.strides[d]) > (int64_t(1) << 30)) t.strides[d] = t.strides[d] < 0 ? -(int64_t(1) << 30) : int64_t(1) << 30;
    }
  }
}

// ------------------------------------------------------------ placement

void place(Call& c) {
  const size_t n = c.a.size();
  // Own extents.
  for (size_t i = 0; i < n; ++i) {
    Arg& x = c.a[i];
    x.group = -1, x.decoy = false, x.lo_b = x.hi_b = 0, x.data_off = 0;
    if (!x.present) continue;
    if (!desc_ok(x.t)) {
      x.decoy = true;
      continue;
    }
    const i128 ne = numel128(x.t);
    if (ne == 0) continue;
    if (ne > INT64_MAX || span_bytes(x.t) > kCapBytes) {
      // Only an invalid descriptor (extent beyond int64) may point at memory
      // we did not allocate; a valid one was shrunk by avoid_and_shrink.
      if (ne <= INT64_MAX && span_bytes(x.t) <= INT64_MAX) {
        std::fprintf(stderr, "fuzz harness bug: %s: %s: a valid view of %lld bytes was not shrunk\n", c.e->name,
                     c.e->slots[i].name, static_cast<long long>(span_bytes(x.t)));
        std::abort();
      }
      x.decoy = true;  // invalid (extent overflow): the call must fail
      continue;
    }
    i128 lo, hi;
    elem_range(x.t, lo, hi);
    const int e = esz(x.t.dtype);
    x.lo_b = static_cast<int64_t>(lo) * e;
    x.hi_b = (static_cast<int64_t>(hi) + 1) * e;
  }
  // Groups: a slot sharing another's buffer joins its group.
  for (size_t i = 0; i < n; ++i) {
    Arg& x = c.a[i];
    if (!x.present) continue;
    const int j = x.alias_of >= 0 ? x.alias_of : x.overlap_of;
    const bool share = j >= 0 && c.a[static_cast<size_t>(j)].present && !c.a[static_cast<size_t>(j)].decoy &&
                       !x.decoy && c.a[static_cast<size_t>(j)].alias_of < 0 &&
                       c.a[static_cast<size_t>(j)].overlap_of < 0;
    if (!share) x.alias_of = x.overlap_of = -1;
  }
  for (size_t i = 0; i < n; ++i) {
    Arg& x = c.a[i];
    if (!x.present || x.alias_of >= 0 || x.overlap_of >= 0) continue;
    x.group = static_cast<int>(c.bufs.size());
    c.bufs.emplace_back();
    c.bufs.back().members.push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < n; ++i) {
    Arg& x = c.a[i];
    if (!x.present || (x.alias_of < 0 && x.overlap_of < 0)) continue;
    const Arg& y = c.a[static_cast<size_t>(x.alias_of >= 0 ? x.alias_of : x.overlap_of)];
    x.group = y.group;
    c.bufs[static_cast<size_t>(y.group)].members.push_back(static_cast<int>(i));
    if (x.alias_of >= 0) {
      x.data_off = y.data_off;
    } else {
      // Start somewhere inside y's bytes, rounded down to x's alignment.
      const int64_t e = std::max(esz(x.t.dtype), 1);
      const int64_t ylen = std::max<int64_t>(y.hi_b - y.lo_b, 1);
      const int64_t target = y.data_off + y.lo_b + x.overlap_pick % ylen;
      int64_t off = target - x.lo_b;
      off -= ((off % e) + e) % e;
      x.data_off = off;
    }
  }
  // Buffers: payload covers every member; 8-aligned origin.
  for (Buffer& b : c.bufs) {
    int64_t lo = 0, hi = 0;
    bool first = true;
    for (int m : b.members) {
      const Arg& x = c.a[static_cast<size_t>(m)];
      const int64_t l = x.decoy ? 0 : x.data_off + x.lo_b, h = x.decoy ? 64 : x.data_off + x.hi_b;
      lo = first ? l : std::min(lo, l), hi = first ? h : std::max(hi, h), first = false;
    }
    lo -= ((lo % 8) + 8) % 8;
    for (int m : b.members) {
      Arg& x = c.a[static_cast<size_t>(m)];
      x.data_off -= lo;
      if (x.decoy) x.data_off = 32;
      const Role role = c.e->slots[static_cast<size_t>(m)].role;
      (role == Role::In ? b.has_input : b.has_output) = true;
    }
    b.payload = hi - lo;
    b.bytes = static_cast<size_t>(2 * kGuard + b.payload);
    b.mem = static_cast<uint8_t*>(std::malloc(b.bytes));
    if (!b.mem) std::abort();
    std::memset(b.mem, kCanary, b.bytes);
  }
  for (size_t i = 0; i < n; ++i) {
    Arg& x = c.a[i];
    if (!x.present) continue;
    x.t.data = x.null_data ? nullptr : c.bufs[static_cast<size_t>(x.group)].mem + kGuard + x.data_off;
  }
}

// ------------------------------------------------------------ classification

void classify(Call& c) {
  const auto& slots = c.e->slots;
  int32_t float_dt = -1;
  const char* float_name = nullptr;
  int32_t dev_type = -1, dev_id = 0;
  for (size_t i = 0; i < c.a.size(); ++i) {
    const Slot& sl = slots[i];
    const Arg& x = c.a[i];
    if (!x.present) {
      if (!sl.nullable) c.must_fail("null-required", sl.name);
      continue;
    }
    const kn_tensor& t = x.t;
    if (!ndim_ok(t)) c.must_fail("ndim-range", sl.name);
    else {
      if (sl.ndim >= 0 && t.ndim != sl.ndim) c.must_fail("ndim-mismatch", sl.name);
      for (int d = 0; d < t.ndim; ++d)
        if (t.shape[d] < 0) c.must_fail("negative-size", sl.name);
    }
    if (esz(t.dtype) == 0) c.must_fail("unknown-dtype", sl.name);
    else if (!kind_ok(sl.kind, t.dtype)) c.must_fail("dtype-kind", sl.name);
    if ((sl.kind == Kind::Float || sl.kind == Kind::FloatOrMask) && kind_ok(Kind::Float, t.dtype)) {
      if (!float_name) float_dt = t.dtype, float_name = sl.name;
      else if (t.dtype != float_dt) c.must_fail("float-dtype-mismatch", sl.name);
    }
    if (t.device_type != KN_DEVICE_CPU && t.device_type != KN_DEVICE_CUDA) {
      c.must_fail("unknown-device", sl.name);
    } else {
      if (t.device_type == KN_DEVICE_CUDA && !kn_has_cuda()) c.must_fail("cuda-not-built", sl.name);
      if (t.device_type == KN_DEVICE_CUDA && t.device_id < 0) c.must_fail("cuda-device-id", sl.name);
      if (t.device_type == KN_DEVICE_CPU && t.device_id != 0) c.must_fail("cpu-device-id", sl.name);
      const int32_t id = t.device_type == KN_DEVICE_CUDA ? t.device_id : 0;
      if (dev_type < 0) dev_type = t.device_type, dev_id = id;
      else if (t.device_type != dev_type || id != dev_id) c.must_fail("device-mismatch", sl.name);
    }
    if (!desc_ok(t)) continue;
    const i128 ne = numel128(t);
    if (ne == 0) {
      if (empty_conservative_overflow(t)) c.either("empty-extent-overflow", sl.name);
      continue;
    }
    if (ne > INT64_MAX) c.must_fail("numel-overflow", sl.name);
    else if (span_bytes(t) > INT64_MAX) c.must_fail("extent-overflow", sl.name);
    if (x.null_data) c.must_fail("null-data", sl.name);
    if (sl.role == Role::Out && self_overlaps(t)) c.must_fail("output-self-overlap", sl.name);
  }
  // Outputs against every other argument in the same buffer.
  for (size_t i = 0; i < c.a.size(); ++i) {
    const Arg& o = c.a[i];
    if (!o.present || slots[i].role != Role::Out || o.decoy || o.group < 0 || o.lo_b == o.hi_b || !o.t.data)
      continue;
    for (size_t j = 0; j < c.a.size(); ++j) {
      const Arg& x = c.a[j];
      if (j == i || !x.present || x.decoy || x.group != o.group || x.lo_b == x.hi_b || !x.t.data) continue;
      const int64_t a0 = o.data_off + o.lo_b, a1 = o.data_off + o.hi_b;
      const int64_t b0 = x.data_off + x.lo_b, b1 = x.data_off + x.hi_b;
      if (!(a0 < b1 && b0 < a1)) continue;
      bool allowed = false;
      if (slots[j].role == Role::In && same_view(o.t, x.t))
        for (const auto& pr : c.e->in_place)
          allowed = allowed || (pr.first == static_cast<int>(i) && pr.second == static_cast<int>(j));
      if (!allowed) c.must_fail("output-overlap", std::string(slots[i].name) + "~" + slots[j].name);
    }
  }
  if (!c.ex_null && !(c.e->flags & kNoExec)) {
    if (c.ex.flags != 0) c.must_fail("exec-flags");
    if (c.ex.num_threads < 0) c.must_fail("exec-num-threads");
    if (c.ex.workspace_bytes > 0 && !c.ex.workspace) c.must_fail("exec-workspace");
  }
}

// ------------------------------------------------------------ fill

template <typename T>
T float_value(uint64_t& rs, int mode) {
  const uint64_t r = splitmix(rs);
  if (mode == 1 && (r & 15) == 0) {
    switch ((r >> 4) % 8) {
      case 0: return std::numeric_limits<T>::quiet_NaN();
      case 1: return std::numeric_limits<T>::infinity();
      case 2: return -std::numeric_limits<T>::infinity();
      case 3: return T(-0.0);
      case 4: return std::numeric_limits<T>::denorm_min();
      case 5: return T(1e30);
      case 6: return std::numeric_limits<T>::max();
      default: return T(0);
    }
  }
  return static_cast<T>(static_cast<double>(static_cast<int64_t>(r >> 11) - (int64_t(1) << 52)) /
                        static_cast<double>(int64_t(1) << 50));  // [-4, 4)
}

void fill_value(int32_t dt, uint8_t* p, uint64_t& rs, int mode) {
  switch (dt) {
    case KN_FLOAT32: { const float v = float_value<float>(rs, mode); std::memcpy(p, &v, 4); return; }
    case KN_FLOAT64: { const double v = float_value<double>(rs, mode); std::memcpy(p, &v, 8); return; }
    case KN_BOOL: *p = static_cast<uint8_t>(splitmix(rs) & 1); return;
    case KN_INT32: { const int32_t v = static_cast<int32_t>(splitmix(rs) % 7); std::memcpy(p, &v, 4); return; }
    case KN_INT64: { const int64_t v = static_cast<int64_t>(splitmix(rs) % 7); std::memcpy(p, &v, 8); return; }
    default: {
      const uint64_t v = splitmix(rs);
      std::memcpy(p, &v, static_cast<size_t>(esz(dt)));
      return;
    }
  }
}

void fill(Call& c) {
  uint64_t rs = c.data_seed;
  // Outputs first (poison over their whole span), then inputs (values), so
  // an in-place output holds the input's values.
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < c.a.size(); ++i) {
      Arg& x = c.a[i];
      const bool out = c.e->slots[i].role == Role::Out;
      if (!x.present || x.decoy || !x.t.data || x.lo_b == x.hi_b || out != (pass == 0)) continue;
      const int e = esz(x.t.dtype);
      uint8_t* base = static_cast<uint8_t*>(x.t.data);
      for (int64_t b = x.lo_b; b + e <= x.hi_b; b += e) {
        if (out) poison_bytes(x.t.dtype, base + b);
        else fill_value(x.t.dtype, base + b, rs, c.float_mode);
      }
    }
  if (c.e->fill) c.e->fill(c);
}

// ------------------------------------------------------------ description

std::string describe_tensor(const Call& c, size_t i) {
  const Arg& x = c.a[i];
  std::string s = c.e->slots[i].name;
  if (!x.present) return s + "=NULL";
  const kn_tensor& t = x.t;
  const char* dn = dt_name(t.dtype);
  s += "=" + (dn ? std::string(dn) : "dtype" + std::to_string(t.dtype));
  if (t.device_type != KN_DEVICE_CPU || t.device_id != 0)
    s += t.device_type == KN_DEVICE_CPU ? " cpu:" + std::to_string(t.device_id)
         : t.device_type == KN_DEVICE_CUDA ? " cuda:" + std::to_string(t.device_id)
         : " dev" + std::to_string(t.device_type) + ":" + std::to_string(t.device_id);
  if (!ndim_ok(t)) return s + " ndim=" + std::to_string(t.ndim);
  s += " (";
  for (int d = 0; d < t.ndim; ++d) s += (d ? "," : "") + fmt_i64(t.shape[d]);
  s += t.ndim == 1 ? ",)" : ")";
  bool dense = true;
  int64_t step = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    if (t.strides[d] != step) dense = false;
    if (t.shape[d] > 0) step = static_cast<int64_t>(std::min<i128>(i128(step) * t.shape[d], i128(1) << 62));
  }
  if (!dense) {
    s += "[";
    for (int d = 0; d < t.ndim; ++d) s += (d ? "," : "") + fmt_i64(t.strides[d]);
    s += "]";
  }
  if (!t.data) s += " data=NULL";
  if (x.alias_of >= 0) s += " =" + std::string(c.e->slots[static_cast<size_t>(x.alias_of)].name);
  if (x.overlap_of >= 0) s += " ~" + std::string(c.e->slots[static_cast<size_t>(x.overlap_of)].name);
  if (x.decoy) s += " (decoy)";
  return s;
}

std::string describe(const Call& c) {
  std::string s;
  if (c.e->describe) s = c.e->describe(c);
  for (size_t i = 0; i < c.a.size(); ++i) s += (s.empty() ? "" : " | ") + describe_tensor(c, i);
  if (c.ex_null) s += " | ex=NULL";
  else {
    s += " | ex{nt=" + std::to_string(c.ex.num_threads);
    if (c.ex.flags) s += ",flags=" + std::to_string(c.ex.flags);
    if (c.ex.workspace_bytes || c.ex.workspace)
      s += std::string(",ws=") + (c.ex.workspace ? "buf" : "NULL") + "/" + std::to_string(c.ex.workspace_bytes);
    if (c.ex.stream) s += ",stream";
    s += "}";
  }
  if (!c.mutations.empty()) {
    s += " | mutations:";
    for (const auto& m : c.mutations) s += " " + m;
  }
  s += " | expect ";
  const Expect e = c.expect();
  if (e == Expect::Succeed) s += "OK";
  else {
    const auto& rs = e == Expect::Fail ? c.fail_reasons : c.either_reasons;
    s += e == Expect::Fail ? "failure (" : "either (";
    for (size_t i = 0; i < rs.size() && i < 4; ++i)
      s += (i ? ", " : "") + std::string(rs[i].tag) + (rs[i].detail.empty() ? "" : ":" + rs[i].detail);
    s += ")";
  }
  return s;
}

// Digits -> '#': the class of a library message, for de-duplication.
std::string skeleton(const std::string& m) {
  std::string s;
  bool in_num = false;
  for (char ch : m) {
    const bool digit = (ch >= '0' && ch <= '9');
    if (digit) {
      if (!in_num) s += '#';
      in_num = true;
    } else {
      in_num = false;
      s += ch;
    }
  }
  // "(#, #, #)" -> "(..)": one class for every shape.
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') {
      size_t j = i + 1;
      while (j < s.size() && (s[j] == '#' || s[j] == ',' || s[j] == ' ' || s[j] == '-')) ++j;
      if (j < s.size() && s[j] == ')' && j > i + 1) {
        o += "(..)";
        i = j;
        continue;
      }
    }
    o += s[i];
  }
  return o.size() > 160 ? o.substr(0, 160) : o;
}

}  // namespace

// ------------------------------------------------------------ run one call

Result run_one(const Entry& e, Source& src, const Options& opt) {
  Call c;
  c.e = &e, c.src = &src, c.opt = &opt;
  c.a.resize(e.slots.size());
  c.data_seed = src.u64();
  c.float_mode = src.coin(1, 8) ? 1 : 0;
  gen_exec(c);
  e.gen(c);
  // Mutations: none in ~40% of the calls (those must succeed).
  const unsigned r = static_cast<unsigned>(src.below(20));
  const int nmut = r < 8 ? 0 : r < 16 ? 1 : r < 19 ? 2 : 3;
  for (int k = 0; k < nmut; ++k) {
    const unsigned w = static_cast<unsigned>(src.below(20));
    if (w < 12) mutate_tensor(c);
    else if (w < 16 && e.mutate_params) e.mutate_params(c);
    else if (w < 18 && !(e.flags & kNoExec)) mutate_exec(c);
    else if (e.fill) c.mutate_content = true;
    else mutate_tensor(c);
  }
  avoid_and_shrink(c);
  if (e.finish) {
    e.finish(c);
    avoid_and_shrink(c);  // again for what finish rewrote (no valid view may leave its buffer)
  }
  place(c);
  classify(c);
  fill(c);

  for (Buffer& b : c.bufs) b.before.assign(b.mem, b.mem + b.bytes);

  Result res;
  res.expect = c.expect();
  if (opt.verbose) {  // before the call: a crash leaves it on the screen
    res.description = describe(c);
    std::fprintf(stderr, "call %s: %s\n", e.name, res.description.c_str());
    std::fflush(stderr);
  }
  const kn_status st = e.invoke(c);
  res.status = st;
  const char* msg = kn_last_error();
  res.message = msg ? msg : "(null)";
  if (e.flags & kRestoreThreads) kn_set_num_threads(0);

  auto violate = [&](const std::string& check, const std::string& cls, const std::string& detail) {
    res.violations.push_back({check, std::string(e.name) + " " + check + " " + cls, detail});
  };
  const size_t nlen = std::strlen(e.name);
  const bool known = static_cast<int>(st) >= KN_OK && static_cast<int>(st) <= KN_ERR_INTERNAL;
  if (!known) violate("unknown-status", std::to_string(static_cast<int>(st)), "status " + std::to_string(static_cast<int>(st)));
  const std::string& mg = res.message;
  if (!msg) {
    violate("last-error-null", "", "kn_last_error() returned NULL");
  } else if (st == KN_OK) {
    if (!mg.empty()) violate("last-error-after-ok", "", "kn_last_error() = \"" + mg + "\" after KN_OK");
  } else {
    if (mg.compare(0, nlen, e.name) != 0 || mg.size() <= nlen || mg[nlen] != ':')
      violate("last-error-format", skeleton(mg), std::string("message does not start with \"") + e.name + ":\": \"" + mg + "\"");
    else if (mg.find('\n') != std::string::npos)
      violate("last-error-format", "newline", "message is not one line: \"" + mg + "\"");
  }
  const Expect ex = c.expect();
  if (ex == Expect::Succeed && st != KN_OK && st != KN_ERR_OUT_OF_MEMORY)
    violate("rejected-valid-call", skeleton(res.message),
            std::string(kn_status_string(st)) + ": " + res.message);
  if (ex == Expect::Fail && st == KN_OK) {
    const Reason& rs = c.fail_reasons.front();
    std::string all;
    for (const Reason& x : c.fail_reasons) all += (all.empty() ? "" : ", ") + std::string(x.tag) + (x.detail.empty() ? "" : ":" + x.detail);
    violate("accepted-invalid-call", rs.tag, "KN_OK although the call is invalid: " + all);
  }

  // Bytes: a failing call writes nothing; a successful one only inside its
  // outputs' views; inputs are never written (except an in-place output).
  const bool lenient = st != KN_OK && c.lenient_dx && st == KN_ERR_INVALID_ARGUMENT;
  for (size_t bi = 0; bi < c.bufs.size(); ++bi) {
    Buffer& b = c.bufs[bi];
    if (std::memcmp(b.mem, b.before.data(), b.bytes) == 0) continue;
    std::vector<uint8_t> writable;
    if (st == KN_OK || lenient) {
      writable.assign(b.bytes, 0);
      for (int m : b.members) {
        const Arg& x = c.a[static_cast<size_t>(m)];
        if (e.slots[static_cast<size_t>(m)].role != Role::Out || x.decoy || !x.t.data || x.lo_b == x.hi_b) continue;
        if (numel128(x.t) > (i128(1) << 24)) continue;
        const int64_t base = kGuard + x.data_off, el = esz(x.t.dtype);
        for_each_elem(x.t, [&](int64_t off) {
          for (int64_t k = 0; k < el; ++k) writable[static_cast<size_t>(base + off + k)] = 1;
        });
      }
    }
    for (size_t k = 0; k < b.bytes; ++k) {
      if (b.mem[k] == b.before[k]) continue;
      if (!writable.empty() && writable[k]) continue;
      // Name the byte: the member whose span holds it (inputs first), or a guard.
      const int64_t pos = static_cast<int64_t>(k) - kGuard;
      int member = -1;
      for (int m : b.members) {
        const Arg& x = c.a[static_cast<size_t>(m)];
        const int64_t lo = x.decoy ? 0 : x.data_off + x.lo_b, hi = x.decoy ? 64 : x.data_off + x.hi_b;
        if (pos >= lo && pos < hi && (member < 0 || e.slots[static_cast<size_t>(m)].role == Role::In)) member = m;
      }
      const bool input = member >= 0 ? e.slots[static_cast<size_t>(member)].role == Role::In : !b.has_output;
      const int who = member >= 0 ? member : b.members.front();
      const char* name = e.slots[static_cast<size_t>(who)].name;
      const Arg& x = c.a[static_cast<size_t>(who)];
      char hex[64];
      std::snprintf(hex, sizeof hex, "0x%02x -> 0x%02x", b.before[k], b.mem[k]);
      const std::string where =
          member < 0 ? (pos < 0 ? "guard before" : pos >= b.payload ? "guard after" : "padding")
                     : "byte " + std::to_string(pos - x.data_off) + " from data" +
                           (st == KN_OK && !input ? ", a gap between elements" : "");
      const std::string detail = std::string(name) + ": " + where + " changed " + hex + " (status " +
                                 kn_status_string(st) + ")";
      if (input) violate("modified-input", name, detail);
      else if (st != KN_OK) violate("failing-call-wrote", name, detail);
      else violate("wrote-outside-view", name, detail);
      break;
    }
  }
  // A successful call writes every element of every output (outputs are
  // overwritten) and a mask only with 0 / 1.
  if (st == KN_OK) {
    for (size_t i = 0; i < c.a.size(); ++i) {
      const Arg& x = c.a[i];
      if (e.slots[i].role != Role::Out || !x.present || x.decoy || !x.t.data || x.lo_b == x.hi_b) continue;
      if (c.bufs[static_cast<size_t>(x.group)].has_input || numel128(x.t) > (i128(1) << 24)) continue;
      const int el = esz(x.t.dtype);
      uint8_t poison[8];
      poison_bytes(x.t.dtype, poison);
      const uint8_t* base = static_cast<const uint8_t*>(x.t.data);
      int64_t bad = -1, badmask = -1, idx = 0;
      for_each_elem(x.t, [&](int64_t off) {
        if (bad < 0 && std::memcmp(base + off, poison, static_cast<size_t>(el)) == 0) bad = idx;
        if (badmask < 0 && e.slots[i].kind == Kind::Mask && base[off] > 1) badmask = idx;
        ++idx;
      });
      if (bad >= 0)
        violate("output-not-written", e.slots[i].name,
                std::string(e.slots[i].name) + ": element " + std::to_string(bad) + " (row-major) still holds the poison pattern after KN_OK");
      else if (badmask >= 0)
        violate("mask-not-0-1", e.slots[i].name,
                std::string(e.slots[i].name) + ": element " + std::to_string(badmask) + " is neither 0 nor 1");
    }
  }
  if (!res.violations.empty() && res.description.empty()) res.description = describe(c);
  return res;
}

// ------------------------------------------------------------ table lookup

const Entry* find_entry(const char* name) {
  for (const Entry& e : entries())
    if (std::strcmp(e.name, name) == 0) return &e;
  return nullptr;
}

}  // namespace fz
