// Fuzz harness of the C ABI: one table of entries (entries.cpp), one per
// kn_* entry point that returns kn_status, and the machinery that turns a
// stream of random choices into one call and checks the contract on it.
//
// One call, in order (harness.cpp, run_one):
//   1. the entry's gen() builds a VALID call: consistent shapes, params,
//      strides (dense, permuted, padded, negative, broadcast inputs), NULLs
//      where the header allows them, in-place aliasing where it allows it;
//   2. 0-3 mutations: a tensor slot NULL / data NULL / ndim / a size / a
//      stride / dtype / device / an output overlapping another argument; a
//      bad or odd parameter (the entry's mutate_params); kn_exec fields; bad
//      index contents (the entry's fill);
//   3. the avoid pass (Options::avoid): rewrite the patterns of known,
//      unfixed findings when asked to (default: nothing is avoided);
//   4. classification: the call MUST succeed (no mutation, or only ones that
//      keep it valid), MUST fail (a generic descriptor rule or a mutation
//      says so), or either (a mutation whose effect the harness does not model);
//   5. buffers: every tensor gets exactly the bytes it addresses plus
//      canary-filled guards on both sides; `data` is placed so that negative
//      strides fit. A valid descriptor whose span is too big to allocate is
//      shrunk (a dim set to 0) first, so no valid descriptor ever leaves its
//      buffer. Inputs are filled with values, outputs with a poison pattern;
//   6. the call, then the checks (Violation below).
//
// The random stream is a Source: a seeded PRNG (the loop driver, fuzz_capi)
// or the fuzzer's bytes (libFuzzer, fuzz_capi_libfuzzer).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace fz {

// ------------------------------------------------------------ random stream

class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t u64() = 0;  // 64 bits
  virtual uint32_t u8() = 0;   // 8 bits
  // Uniform-ish in [0, n), n >= 1. Small n takes one byte (libFuzzer-friendly).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    if (n <= 256) return u8() % n;
    if (n <= 65536) return ((u8() << 8) | u8()) % n;
    return u64() % n;
  }
  int64_t range(int64_t lo, int64_t hi) {  // [lo, hi], hi - lo < 2^63
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool coin(unsigned num, unsigned den) { return below(den) < num; }
  template <typename T, size_t N>
  T pick(const T (&a)[N]) {
    return a[below(N)];
  }
};

// splitmix64: seeds and the bulk-data generator.
inline uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xD6E8FEB86659FD93ull);
  splitmix(s);
  return splitmix(s);
}
inline uint64_t hash_str(const char* s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
  return h;
}

// xoshiro256** seeded from one 64-bit value.
class RngSource final : public Source {
 public:
  explicit RngSource(uint64_t seed) {
    for (auto& w : s_) w = splitmix(seed);
  }
  uint64_t u64() override {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3], s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  uint32_t u8() override {
    if (nbits_ == 0) buf_ = u64(), nbits_ = 64;
    const uint32_t b = static_cast<uint32_t>(buf_ & 0xFF);
    buf_ >>= 8, nbits_ -= 8;
    return b;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  uint64_t buf_ = 0;
  int nbits_ = 0;
};

// The fuzzer's bytes; zeros once they run out (deterministic).
class BytesSource final : public Source {
 public:
  BytesSource(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint64_t u64() override {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return v;
  }
  uint32_t u8() override { return n_ ? (--n_, *p_++) : 0; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// ------------------------------------------------------------ options

// Patterns of known, not yet fixed findings (issue 10). By default nothing is
// avoided: the fuzzer reports them. `--avoid NAME[,NAME]` (driver) or
// KN_FUZZ_AVOID=NAME,... (libFuzzer) rewrites each pattern away so that a
// campaign can get past it. See kQuirks in harness.cpp for what each avoids.
enum Quirk : uint32_t {
  kAvoidSize1HugeStride = 1u << 0,  // size-1 dims with |stride| > 2^40 (F6, F5 llabs)
  kAvoidInt64MinStride = 1u << 1,   // a stride of INT64_MIN anywhere (F5 llabs(INT64_MIN))
  kAvoidExtentOverflow = 1u << 2,   // byte extent beyond INT64_MAX (F6); empty ones with huge strides (F5)
  kAvoidCpuDeviceId = 1u << 3,      // CPU tensors with device_id != 0 (F6)
  kAvoidBadEnum = 1u << 4,          // out-of-range values of enum-typed parameters (F5)
  kAvoidNullEmpty = 1u << 5,        // NULL data on empty tensors (F5)
  kAvoidHugeParams = 1u << 6,       // conv/pool parameters or groups beyond 2^20 (F4, F5)
  kAvoidHugeSizes = 1u << 7,        // sizes beyond 2^20 (empty or broadcast tensors) (F3, F4)
  kAvoidAvgPoolCeil2x2 = 1u << 8,   // avg_pool2d backward: 2x2/2 window, ceil_mode, odd H/W (F1)
};
struct QuirkInfo {
  uint32_t bit;
  const char* name;
  const char* what;
};
extern const QuirkInfo kQuirks[];
extern const int kNumQuirks;
// "a,b,c" or "known" (all) -> bits; returns false on an unknown name.
bool parse_avoid(const char* list, uint32_t& bits, std::string& error);
std::string avoid_string(uint32_t bits);  // "a,b" or ""

struct Options {
  uint32_t avoid = 0;
  bool verbose = false;  // print every call (replay)
};

// ------------------------------------------------------------ the table

enum class Role : uint8_t { In, Out };
// FloatOrMask: the call's float dtype or a bool / uint8 mask (an attention mask).
enum class Kind : uint8_t { Float, Index, Mask, FloatOrMask };

struct Slot {
  const char* name;
  Role role;
  Kind kind;
  int ndim;       // required ndim, -1 = any
  bool nullable;  // NULL allowed (in some valid call)
};

struct Call;

struct Entry {
  const char* name;
  std::vector<Slot> slots;
  void (*gen)(Call&);                    // a valid call
  kn_status (*invoke)(Call&);            // the kn_* call
  void (*mutate_params)(Call&);          // one parameter mutation (may be null)
  // After the mutations: classify the parameters (must_fail for a value out
  // of range), apply the entry's Options::avoid rewrites (may be null).
  void (*finish)(Call&);
  void (*fill)(Call&);                   // index contents; may plant a bad one (may be null)
  std::string (*describe)(const Call&);  // params, one line (may be null)
  std::vector<std::pair<int, int>> in_place;  // (output slot, input slot) exact aliasing allowed
  uint32_t flags;
};
enum EntryFlags : uint32_t {
  kRestoreThreads = 1,     // kn_set_num_threads: restore the default after the call
  kBadIndexDxUnspec = 2,   // max_pool2d_backward: a bad index leaves dx unspecified
  kNoExec = 4,             // no kn_exec argument
};

const std::vector<Entry>& entries();
// Adds an entry to the table (tests/fuzz/ops/<op>.cpp: KN_FUZZ_ELEMENTWISE).
int register_entry(Entry e);
// Valid element-wise calls: slots x, y (y is x a quarter of the time); and
// dy, saved, dx (dx is dy a quarter of the time). A non-finite double.
void gen_elementwise_forward(Call& c);
void gen_elementwise_backward(Call& c);
double bad_finite(Call& c);
const Entry* find_entry(const char* name);

// ------------------------------------------------------------ one call

enum class Expect : uint8_t { Succeed = 0, Either = 1, Fail = 2 };

struct Arg {
  bool present = false;
  kn_tensor t{};
  int alias_of = -1;          // shares this slot's buffer, same data pointer (in-place)
  int overlap_of = -1;        // shares this slot's buffer, shifted: a partial overlap
  int64_t overlap_pick = 0;   // where in that slot's span this one starts
  bool null_data = false;     // data NULL
  bool keep_huge = false;     // a broadcast input whose huge element count is intended
  // set by the placement:
  int group = -1;             // buffer index
  int64_t data_off = 0;       // byte offset of data within the group's payload
  int64_t lo_b = 0, hi_b = 0; // addressed bytes [data + lo_b, data + hi_b) (0,0: none)
  bool decoy = false;         // invalid descriptor: data points into a small canary block
};

struct Buffer {
  uint8_t* mem = nullptr;  // guard | payload | guard
  size_t bytes = 0;
  int64_t payload = 0;     // payload size
  std::vector<uint8_t> before;
  std::vector<int> members;
  bool has_input = false, has_output = false;
};

struct Reason {
  const char* tag;  // short class, e.g. "cpu-device-id"
  std::string detail;
};

struct Call {
  const Entry* e = nullptr;
  Source* src = nullptr;
  const Options* opt = nullptr;
  std::vector<Arg> a;

  // parameters (each entry uses what its signature has)
  kn_conv2d_params conv{};
  kn_max_pool2d_params maxp{};
  kn_avg_pool2d_params avgp{};
  kn_cross_entropy_params ce{};
  kn_gspmm_params gs{};
  int32_t i0 = 0, i1 = 0;  // reduction / approximate / dim / self_is_result / n
  double d0 = 0;           // negative_slope / p
  double dp[4] = {};       // the scalar parameters of a scaffolded element-wise op
  uint64_t u0 = 0;         // dropout seed
  bool p_null = false;     // the params struct pointer is NULL

  // facts the generator fixed, for fill() (class count, plane size, graph)
  int64_t g[8] = {};
  std::vector<int64_t> v[5];  // a graph: indptr, indices, t_indptr, t_indices, t_edge_ids
  uint32_t touched = 0;       // bit i: slot i's descriptor was mutated (or shrunk)

  bool ex_null = true;
  kn_exec ex{};
  std::vector<uint8_t> workspace;

  bool mutate_content = false;  // fill() should plant a bad index (and classify it)
  bool lenient_dx = false;      // a failing call may write inside dx's view (kBadIndexDxUnspec)
  uint64_t data_seed = 0;       // bulk values
  int float_mode = 0;           // 0: plain values, 1: with specials (NaN, inf, -0, denormals)

  std::vector<Reason> fail_reasons, either_reasons;
  std::vector<std::string> mutations;  // what was done, for the description
  std::vector<Buffer> bufs;

  void must_fail(const char* tag, std::string detail = {}) { fail_reasons.push_back({tag, std::move(detail)}); }
  void either(const char* tag, std::string detail = {}) { either_reasons.push_back({tag, std::move(detail)}); }
  Expect expect() const {
    return !fail_reasons.empty() ? Expect::Fail : !either_reasons.empty() ? Expect::Either : Expect::Succeed;
  }
  bool avoid(uint32_t q) const { return (opt->avoid & q) != 0; }

  const kn_tensor* t(int i) const { return a[i].present ? &a[i].t : nullptr; }
  const kn_exec* exec() const { return ex_null ? nullptr : &ex; }
  template <typename P>
  const P* p(const P& params) const { return p_null ? nullptr : &params; }

  ~Call();
};

// ---- helpers for the entries (harness.cpp)

int32_t float_dtype(Call& c);
int32_t index_dtype(Call& c);
int32_t mask_dtype(Call& c);
// Slot `slot` present with this shape and dtype on the CPU, random strides.
void make(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype);
// As make(), without stride-0 dims: contents that must hold per element (a graph).
void make_nb(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype);
// Every stride = `stride`: 0 for a broadcast input (huge sizes allowed,
// keep_huge), 1 for an empty tensor with huge sizes.
void make_const(Call& c, int slot, const std::vector<int64_t>& shape, int32_t dtype, int64_t stride);
// Output `out` := exactly input `in`'s view (in-place).
void make_alias(Call& c, int out, int in);
// A random shape: ndim in [min_ndim, max_ndim], numel kept small.
std::vector<int64_t> any_shape(Call& c, int min_ndim = 0, int max_ndim = 4);
int64_t small_size(Call& c, int64_t lo, int64_t hi);  // biased to small values
// Huge sizes are allowed in this call (not avoided, and drawn at this rate).
bool huge_ok(Call& c, unsigned num, unsigned den);
// Write index value v at logical (row-major) position i of slot's tensor;
// ignored where the slot has no buffer or i is outside it.
void set_index(Call& c, int slot, int64_t i, int64_t v);
void set_mask(Call& c, int slot, int64_t i, int v);
int64_t numel_of(const Call& c, int slot);  // -1 when absent/invalid
// Elements fill() can write: numel where the slot has a buffer of ours, else 0.
int64_t fill_count(const Call& c, int slot);
std::string fmt_i64(int64_t v);            // "2^62", "INT64_MIN", "17"

// ---- running one call

struct Violation {
  std::string check;   // e.g. "accepted-invalid-call", "wrote-outside-view"
  std::string key;     // dedup key (check + class)
  std::string detail;  // one line
};

struct Result {
  kn_status status = KN_OK;
  Expect expect = Expect::Succeed;
  std::string message;      // kn_last_error() after the call
  std::string description;  // one line: descriptors, params, exec, expectation
  std::vector<Violation> violations;
};

// Build, run and check one call of `e` from `src`.
Result run_one(const Entry& e, Source& src, const Options& opt);

}  // namespace fz
