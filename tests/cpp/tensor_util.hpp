// Shared machinery of the GoogleTest suites, written once and used by every
// test file:
//
//   Layout       how a HostTensor lies in memory: contiguous, transposed
//                (dims in reverse memory order), sliced with a step,
//                reversed (negative strides), broadcast (stride 0 on dims).
//   HostTensor   an owning strided float32/float64 host array with any
//                Layout, guard elements around it, logical (row-major) get /
//                set, seeded random fill, kn() -> kn_tensor, and checks that
//                nothing outside the view was written.
//   Rng          seeded random numbers (failures reproduce).
//   all_close    element-wise comparison with a per-dtype tolerance, printing
//                the first mismatches.
//   numeric_gradient   central differences of a scalar loss.
//   OpCall / ErrorCase / descriptor_error_cases / check_error_case
//                table-driven validation tests: mutate one argument of a
//                valid call and expect an exact status and a message naming
//                the op and the argument.
//   TesterBase   the CRTP base of the fluent per-op testers (LinearTester,
//                ReluTester, MseLossTester): dtype, threads, seed, per-operand
//                layouts.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kernels/core.h"

namespace kntest {

using Shape = std::vector<int64_t>;

inline std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  if (s.size() == 1) o << ",";
  o << ")";
  return o.str();
}

inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

inline const char* dtype_str(int32_t dtype) {
  return dtype == KN_FLOAT32 ? "float32" : dtype == KN_FLOAT64 ? "float64" : "other";
}

// Unit roundoff of a float dtype.
inline double unit_roundoff(int32_t dtype) {
  return dtype == KN_FLOAT32 ? 0x1p-24 : 0x1p-53;
}

// ------------------------------------------------------------------ Rng

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform integer in [lo, hi] (modulo bias is irrelevant here, and this is
  // portable across standard libraries, unlike uniform_int_distribution).
  int64_t integer(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1));
  }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * (static_cast<double>(gen_() >> 11) * 0x1p-53);
  }
  bool coin() { return (gen_() >> 63) != 0; }

 private:
  std::mt19937_64 gen_;
};

// ------------------------------------------------------------------ Layout

struct Layout {
  bool transposed = false;  // dims in reverse memory order (column-major)
  int64_t step = 1;         // sliced view: every dim steps over `step` elements
  bool reversed = false;    // negative strides: data points at the last element
  uint32_t broadcast = 0;   // bit d set: stride 0 along dim d (inputs only)

  static Layout contiguous() { return {}; }
  static Layout transpose() { return Layout{}.t(); }
  static Layout sliced(int64_t step = 2) { return Layout{}.s(step); }
  static Layout reverse() { return Layout{}.r(); }
  static Layout broadcast_dims(uint32_t mask) { return Layout{}.b(mask); }
  // Combinators: Layout::transpose().s(3).r()
  Layout t() const { Layout l = *this; l.transposed = true; return l; }
  Layout s(int64_t st) const { Layout l = *this; l.step = st; return l; }
  Layout r() const { Layout l = *this; l.reversed = true; return l; }
  Layout b(uint32_t mask) const { Layout l = *this; l.broadcast = mask; return l; }

  bool is_contiguous() const { return !transposed && step == 1 && !reversed && broadcast == 0; }
  std::string name() const {
    if (is_contiguous()) return "contiguous";
    std::string n;
    auto add = [&](const std::string& part) { n += (n.empty() ? "" : "+") + part; };
    if (transposed) add("transposed");
    if (step != 1) add("step" + std::to_string(step));
    if (reversed) add("reversed");
    if (broadcast) add("broadcast" + std::to_string(broadcast));
    return n;
  }
};

// ------------------------------------------------------------------ HostTensor

class HostTensor {
 public:
  static constexpr int64_t kGuard = 16;           // guard elements on each side
  static constexpr double kSentinel = -4242.5;    // exact in float32 and float64

  HostTensor() = default;
  HostTensor(Shape shape, int32_t dtype, Layout layout = {})
      : shape_(std::move(shape)), dtype_(dtype), layout_(layout) {
    const int n = static_cast<int>(shape_.size());
    strides_.assign(shape_.size(), 0);
    // Storage extents: broadcast dims keep one element; every dim is
    // `step` times longer than the view (as numpy a[::s, ::s]).
    std::vector<int64_t> padded(shape_.size());
    for (int d = 0; d < n; ++d) {
      const bool bcast = (layout_.broadcast >> d) & 1u;
      padded[d] = bcast ? 1 : std::max<int64_t>(shape_[d], 1) * layout_.step;
    }
    int64_t acc = 1;
    for (int i = 0; i < n; ++i) {
      const int d = layout_.transposed ? i : n - 1 - i;  // innermost first
      const bool bcast = (layout_.broadcast >> d) & 1u;
      strides_[d] = bcast ? 0 : acc * (layout_.step);
      acc *= padded[d];
    }
    int64_t span = 0;
    if (shape_numel(shape_) > 0)
      for (int d = 0; d < n; ++d) span += std::llabs(strides_[d]) * (shape_[d] - 1);
    if (layout_.reversed)
      for (int d = 0; d < n; ++d) strides_[d] = -strides_[d];
    origin_ = kGuard + (layout_.reversed ? span : 0);
    elems_ = kGuard + span + 1 + kGuard;
    storage_.assign(static_cast<size_t>((elems_ * elem_size() + 7) / 8), 0.0);
    for (int64_t i = 0; i < elems_; ++i) store(i, kSentinel);
    fill(0.0);
  }

  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int32_t dtype() const { return dtype_; }
  const Layout& layout() const { return layout_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  void* data() { return bytes() + origin_ * elem_size(); }
  const void* data() const { return bytes() + origin_ * elem_size(); }

  // Element offset (from data()) of the logical row-major index i.
  int64_t offset_of(int64_t i) const {
    int64_t off = 0;
    for (int d = ndim() - 1; d >= 0; --d) {
      off += (i % shape_[d]) * strides_[d];
      i /= shape_[d];
    }
    return off;
  }
  double get(int64_t i) const { return load(origin_ + offset_of(i)); }
  void set(int64_t i, double v) { store(origin_ + offset_of(i), v); }

  std::vector<double> values() const {
    std::vector<double> v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
  void set_values(const std::vector<double>& v) {
    for (int64_t i = 0; i < numel(); ++i) set(i, v[i]);
  }
  void fill(double v) {
    for (int64_t i = 0; i < numel(); ++i) set(i, v);
  }
  // Uniform in [lo, hi); values with |v| < min_abs are pushed away from 0
  // (for kinks such as ReLU's at 0 in finite-difference checks).
  void fill_random(Rng& rng, double lo = -1.0, double hi = 1.0, double min_abs = 0.0) {
    for (int64_t i = 0; i < numel(); ++i) {
      double v = rng.uniform(lo, hi);
      if (std::fabs(v) < min_abs) v = v < 0 ? v - min_abs : v + min_abs;
      set(i, v);
    }
  }

  kn_tensor kn() const {
    kn_tensor t;
    std::memset(&t, 0, sizeof t);
    t.data = const_cast<void*>(data());
    t.dtype = dtype_;
    t.device_type = KN_DEVICE_CPU;
    t.device_id = 0;
    t.ndim = ndim();
    for (int d = 0; d < ndim(); ++d) {
      t.shape[d] = shape_[d];
      t.strides[d] = strides_[d];
    }
    return t;
  }

  // The whole storage, guards included (to check an input was not modified).
  std::vector<unsigned char> raw() const {
    return std::vector<unsigned char>(bytes(), bytes() + elems_ * elem_size());
  }

  // Every storage element outside the view still holds the sentinel: the
  // kernel did not write before, after, or between the view's elements.
  ::testing::AssertionResult outside_untouched(const std::string& name) const {
    std::vector<char> covered(static_cast<size_t>(elems_), 0);
    for (int64_t i = 0; i < numel(); ++i) covered[origin_ + offset_of(i)] = 1;
    for (int64_t k = 0; k < elems_; ++k)
      if (!covered[k] && load(k) != kSentinel)
        return ::testing::AssertionFailure()
               << name << ": storage element " << (k - origin_)
               << " (relative to data) outside the view was written: " << load(k);
    return ::testing::AssertionSuccess();
  }

  std::string describe() const {
    std::ostringstream o;
    o << shape_str(shape_) << " " << layout_.name() << " strides " << shape_str(strides_);
    return o.str();
  }

 private:
  size_t elem_size() const { return dtype_ == KN_FLOAT32 ? 4 : 8; }
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(storage_.data()); }
  const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(storage_.data()); }
  double load(int64_t k) const {
    if (dtype_ == KN_FLOAT32) {
      float f;
      std::memcpy(&f, bytes() + k * 4, 4);
      return f;
    }
    double d;
    std::memcpy(&d, bytes() + k * 8, 8);
    return d;
  }
  void store(int64_t k, double v) {
    if (dtype_ == KN_FLOAT32) {
      const float f = static_cast<float>(v);
      std::memcpy(bytes() + k * 4, &f, 4);
    } else {
      std::memcpy(bytes() + k * 8, &v, 8);
    }
  }

  Shape shape_;
  std::vector<int64_t> strides_;
  int32_t dtype_ = KN_FLOAT32;
  Layout layout_;
  std::vector<double> storage_;  // 8-byte aligned bytes, read as float or double
  int64_t origin_ = 0, elems_ = 0;
};

// ------------------------------------------------------------------ IndexTensor

// A strided int32/int64 host tensor (storage from a HostTensor of the same
// element size, so layouts and guard checks are shared).
class IndexTensor {
 public:
  IndexTensor() = default;
  IndexTensor(const Shape& shape, int32_t dtype, Layout layout = {})
      : t_(shape, dtype == KN_INT64 ? KN_FLOAT64 : KN_FLOAT32, layout), dtype_(dtype) {}
  int64_t numel() const { return t_.numel(); }
  int64_t get(int64_t i) const {
    const char* p = static_cast<const char*>(t_.data()) + t_.offset_of(i) * esz();
    if (dtype_ == KN_INT64) {
      int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  void set(int64_t i, int64_t v) {
    char* p = static_cast<char*>(const_cast<void*>(t_.data())) + t_.offset_of(i) * esz();
    if (dtype_ == KN_INT64) {
      std::memcpy(p, &v, 8);
    } else {
      const int32_t w = static_cast<int32_t>(v);
      std::memcpy(p, &w, 4);
    }
  }
  void fill(int64_t v) {
    for (int64_t i = 0; i < numel(); ++i) set(i, v);
  }
  void set_values(const std::vector<int64_t>& v) {
    for (int64_t i = 0; i < numel(); ++i) set(i, v[i]);
  }
  std::vector<int64_t> values() const {
    std::vector<int64_t> v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
  kn_tensor kn() const {
    kn_tensor k = t_.kn();
    k.dtype = dtype_;
    return k;
  }
  ::testing::AssertionResult outside_untouched(const std::string& name) const {
    return t_.outside_untouched(name);
  }

 private:
  int64_t esz() const { return dtype_ == KN_INT64 ? 8 : 4; }
  HostTensor t_;
  int32_t dtype_ = KN_INT64;
};

// ------------------------------------------------------------------ comparing

inline bool same_value(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// |got - want| <= rtol * magnitude + atol for every element (NaN matches NaN).
// `magnitude` is the size of the terms that formed each result (e.g. |x||w|
// for a GEMM), so the bound is a rounding-error bound, not a guess.
inline ::testing::AssertionResult all_close(const std::string& what, const std::vector<double>& got,
                                            const std::vector<double>& want,
                                            const std::vector<double>& magnitude, double rtol,
                                            double atol = 1e-300) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << what << ": " << got.size() << " elements, expected " << want.size();
  int bad = 0;
  std::ostringstream o;
  for (size_t i = 0; i < got.size(); ++i) {
    if (same_value(got[i], want[i])) continue;
    const double tol = rtol * (magnitude.empty() ? std::fabs(want[i]) : magnitude[i]) + atol;
    if (std::fabs(got[i] - want[i]) <= tol) continue;
    if (bad++ < 5)
      o << "\n  [" << i << "] got " << got[i] << ", expected " << want[i] << " (tolerance " << tol
        << ")";
  }
  if (!bad) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": " << bad << " of " << got.size() << " elements differ:" << o.str();
}

// Bitwise-equal values (NaN matches NaN).
inline ::testing::AssertionResult all_equal(const std::string& what, const std::vector<double>& a,
                                            const std::vector<double>& b) {
  return all_close(what, a, b, {}, 0.0, 0.0);
}

inline std::vector<double> abs_of(std::vector<double> v) {
  for (double& x : v) x = std::fabs(x);
  return v;
}
inline std::vector<double> negated(std::vector<double> v) {
  for (double& x : v) x = -x;
  return v;
}

// sum_i a[i] * b[i]
inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central differences d loss / d p[i] for every logical element of p (which
// must not be a broadcast view: its elements must be distinct memory).
inline std::vector<double> numeric_gradient(HostTensor& p, const std::function<double()>& loss,
                                            double h = 1e-6) {
  std::vector<double> g(static_cast<size_t>(p.numel()));
  for (int64_t i = 0; i < p.numel(); ++i) {
    const double v = p.get(i);
    p.set(i, v + h);
    const double plus = loss();
    p.set(i, v - h);
    const double minus = loss();
    p.set(i, v);
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

// ------------------------------------------------------------------ statuses

// Expect a successful call with kn_last_error() cleared.
#define KN_EXPECT_OK(expr)                                                         \
  do {                                                                             \
    const kn_status kn_status_ = (expr);                                           \
    EXPECT_EQ(kn_status_, KN_OK) << kn_status_string(kn_status_) << ": " << kn_last_error(); \
    EXPECT_STREQ(kn_last_error(), "");                                             \
  } while (0)
#define KN_ASSERT_OK(expr)                                                         \
  do {                                                                             \
    const kn_status kn_status_ = (expr);                                           \
    ASSERT_EQ(kn_status_, KN_OK) << kn_status_string(kn_status_) << ": " << kn_last_error(); \
    ASSERT_STREQ(kn_last_error(), "");                                             \
  } while (0)

inline kn_exec make_exec(int32_t threads = 0) {
  kn_exec e;
  std::memset(&e, 0, sizeof e);
  e.num_threads = threads;
  return e;
}

// ------------------------------------------------------------------ error tables

// The arguments of one op call, by name, as the C ABI sees them.
struct OpCall {
  std::vector<std::string> names;
  std::vector<kn_tensor> tensors;
  std::vector<bool> is_null;
  kn_exec ex = make_exec();
  bool ex_null = false;
  int32_t reduction = 0;

  void add(const std::string& name, const kn_tensor* t) {
    names.push_back(name);
    tensors.push_back(t ? *t : kn_tensor{});
    is_null.push_back(t == nullptr);
  }
  size_t index(const std::string& name) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    ADD_FAILURE() << "no argument named " << name;
    return 0;
  }
  kn_tensor& operator[](const std::string& name) { return tensors[index(name)]; }
  const kn_tensor& operator[](const std::string& name) const { return tensors[index(name)]; }
  void set_null(const std::string& name) { is_null[index(name)] = true; }
  const kn_tensor* arg(const std::string& name) const {
    const size_t i = index(name);
    return is_null[i] ? nullptr : &tensors[i];
  }
  const kn_exec* exec() const { return ex_null ? nullptr : &ex; }
};

using Invoke = std::function<kn_status(const OpCall&)>;

struct ErrorCase {
  std::string name;                      // test name suffix: [A-Za-z0-9_]
  std::function<void(OpCall&)> mutate;   // turns the valid call into a bad one
  kn_status status;                      // the exact status expected
  std::string arg;                       // kn_last_error() contains "<op>: <arg>"
  // Whether the mutation means anything for this valid call (e.g. no
  // "negative shape" for a 0-d tensor); empty = always. check_error_case
  // skips a case that does not apply.
  std::function<bool(const OpCall&)> applies = {};
};

inline void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

struct ArgSpec {
  std::string name;
  bool required = true;
  int ndim = -1;          // fixed ndim of the argument, -1 = any
  bool output = false;
  bool first = false;     // validated first: dtype/device mismatches name the others
};

// The descriptor checks every tensor argument goes through (validate.cpp):
// NULL, ndim, negative sizes, dtype code, dtype support, dtype and device
// agreement, device code, NULL data, int64 extent; outputs also
// self-overlap (stride 0) and partial overlap with every argument validated
// before them. `args` lists the arguments in the order the entry point
// validates them. The valid call must
// be float32, with non-empty tensors, any-ndim outputs 2-d or more.
// Cases that need a dimension (or two of size > 1, or a second element) are
// left out for fixed 0-d (1-d) arguments, and carry an `applies` check for
// any-ndim ones, so that no generated case is a no-op and no mutation reads
// or writes past a descriptor's ndim or (if wrongly accepted) past the
// other tensor's memory.
namespace detail {
// The first two dims of t with size > 1 (-1 if none).
inline std::pair<int, int> dims_above_one(const kn_tensor& t) {
  int first = -1, second = -1;
  for (int d = 0; d < t.ndim && second < 0; ++d)
    if (t.shape[d] > 1) (first < 0 ? first : second) = d;
  return {first, second};
}
// Bytes per element of a dtype (0 for an unknown code).
inline size_t element_size(int32_t dtype) {
  switch (dtype) {
    case KN_FLOAT64: case KN_INT64: return 8;
    case KN_FLOAT32: case KN_INT32: return 4;
    case KN_FLOAT16: case KN_BFLOAT16: return 2;
    case KN_UINT8: case KN_BOOL: return 1;
    default: return 0;
  }
}
// Highest element offset reachable from t.data (0 for one element).
inline int64_t max_offset(const kn_tensor& t) {
  int64_t hi = 0;
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] > 0 && t.strides[d] > 0) hi += (t.shape[d] - 1) * t.strides[d];
  return hi;
}
}  // namespace detail

inline std::vector<ErrorCase> descriptor_error_cases(const std::vector<ArgSpec>& args) {
  std::vector<ErrorCase> cases;
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT;
  for (const ArgSpec& a : args) {
    const std::string n = a.name;
    // The argument has a dim 0 (shape[0], strides[0] mean something).
    const auto has_dim = [n](const OpCall& c) { return c[n].ndim >= 1; };
    if (a.required) cases.push_back({n + "_null", [n](OpCall& c) { c.set_null(n); }, INVALID, n});
    cases.push_back({n + "_ndim_too_large", [n](OpCall& c) { c[n].ndim = KN_MAX_DIMS + 1; }, INVALID, n});
    cases.push_back({n + "_ndim_negative", [n](OpCall& c) { c[n].ndim = -1; }, INVALID, n});
    if (a.ndim >= 0) {
      cases.push_back({n + "_wrong_ndim", [n](OpCall& c) {
                         kn_tensor& t = c[n];
                         t.shape[t.ndim] = 1;
                         t.strides[t.ndim] = 1;
                         ++t.ndim;
                       }, KN_ERR_SHAPE_MISMATCH, n,
                       [n](const OpCall& c) { return c[n].ndim < KN_MAX_DIMS; }});
      if (a.ndim > 0)
        cases.push_back({n + "_too_few_dims", [n](OpCall& c) { --c[n].ndim; }, KN_ERR_SHAPE_MISMATCH, n});
    }
    if (a.ndim != 0)
      cases.push_back({n + "_negative_shape", [n](OpCall& c) { c[n].shape[0] = -2; }, INVALID, n, has_dim});
    cases.push_back({n + "_unknown_dtype", [n](OpCall& c) { c[n].dtype = 99; }, INVALID, n});
    cases.push_back({n + "_negative_dtype", [n](OpCall& c) { c[n].dtype = -1; }, INVALID, n});
    cases.push_back({n + "_int32", [n](OpCall& c) { c[n].dtype = KN_INT32; }, KN_ERR_UNSUPPORTED, n});
    cases.push_back({n + "_float16", [n](OpCall& c) { c[n].dtype = KN_FLOAT16; }, KN_ERR_UNSUPPORTED, n});
    cases.push_back({n + "_unknown_device", [n](OpCall& c) { c[n].device_type = 7; }, INVALID, n});
    cases.push_back({n + "_negative_cuda_device_id", [n](OpCall& c) {
                       c[n].device_type = KN_DEVICE_CUDA;
                       c[n].device_id = -1;
                     }, INVALID, n});
    cases.push_back({n + "_null_data", [n](OpCall& c) { c[n].data = nullptr; }, INVALID, n});
    if (a.ndim != 0)
      cases.push_back({n + "_extent_overflow", [n](OpCall& c) {
                         c[n].shape[0] = int64_t(1) << 40;
                         c[n].strides[0] = int64_t(1) << 40;
                       }, INVALID, n, has_dim});
    if (a.ndim != 0 && a.ndim != 1)  // element count 2^62 * 4 overflows (stride 0: the extent does not)
      cases.push_back({n + "_numel_overflow", [n](OpCall& c) {
                         c[n].shape[0] = int64_t(1) << 62;
                         c[n].strides[0] = 0;
                       }, INVALID, n, has_dim});
    if (!a.first) {
      cases.push_back({n + "_dtype_mismatch", [n](OpCall& c) { c[n].dtype = KN_FLOAT64; }, INVALID, n});
      cases.push_back({n + "_device_mismatch", [n](OpCall& c) { c[n].device_type = KN_DEVICE_CUDA; }, INVALID, n});
    }
    if (a.output) {
      // Stride 0 along a dim of size > 1: its elements all overlap.
      if (a.ndim != 0)
        cases.push_back({n + "_stride0_self_overlap", [n](OpCall& c) {
                           kn_tensor& t = c[n];
                           t.strides[detail::dims_above_one(t).first] = 0;
                         }, INVALID, n,
                         [n](const OpCall& c) { return detail::dims_above_one(c[n]).first >= 0; }});
      // Two dims of size > 1 both with stride 1 step over each other.
      if (a.ndim != 0 && a.ndim != 1)
        cases.push_back({n + "_aliasing_strides", [n](OpCall& c) {
                           kn_tensor& t = c[n];
                           const auto d = detail::dims_above_one(t);
                           t.strides[d.first] = t.strides[d.second] = 1;
                         }, INVALID, n,
                         [n](const OpCall& c) { return detail::dims_above_one(c[n]).second >= 0; }});
      for (const ArgSpec& other : args) {
        if (other.name == n) break;  // only arguments validated before this one
        const std::string i = other.name;
        // The output starts one element into the other tensor: only when that
        // element is the other's (it has an element above its data pointer),
        // else the output would lie next to it, not overlap, and a call that
        // is then accepted writes past the other's memory.
        if (other.ndim != 0)
          cases.push_back({n + "_partly_overlaps_" + i, [n, i](OpCall& c) {
                             c[n].data = static_cast<char*>(c[i].data) + detail::element_size(c[i].dtype);
                           }, INVALID, n,
                           [i](const OpCall& c) {
                             const kn_tensor& t = c[i];
                             return !c.is_null[c.index(i)] && t.data != nullptr &&
                                    detail::element_size(t.dtype) > 0 &&
                                    detail::max_offset(t) >= 1;
                           }});
        if (other.output)  // two outputs may never alias, even exactly
          cases.push_back({n + "_aliases_output_" + i, [n, i](OpCall& c) {
                             if (c[n].ndim == c[i].ndim)
                               c[n] = c[i];
                             else
                               c[n].data = c[i].data;
                           }, INVALID, n});
      }
    }
  }
  cases.push_back({"ex_flags_nonzero", [](OpCall& c) { c.ex.flags = 1; }, INVALID, "ex->flags"});
  cases.push_back({"ex_num_threads_negative", [](OpCall& c) { c.ex.num_threads = -1; }, INVALID,
                   "ex->num_threads"});
  cases.push_back({"ex_workspace_null_with_bytes", [](OpCall& c) { c.ex.workspace_bytes = 64; },
                   INVALID, "ex->workspace"});
  if (!kn_has_cuda()) {
    // Every tensor on CUDA, in a build without CUDA.
    cases.push_back({"cuda_tensors_not_built", [](OpCall& c) {
                       for (kn_tensor& t : c.tensors) t.device_type = KN_DEVICE_CUDA;
                     }, KN_ERR_NOT_BUILT, "got CUDA tensors"});
  }
  return cases;
}

inline std::string error_case_name(const ::testing::TestParamInfo<ErrorCase>& info) {
  return info.param.name;
}

// The valid call succeeds; the mutated one fails with the exact status and a
// message naming the op and the argument; the valid call then succeeds again
// and clears kn_last_error(). Inputs are never written by a failing call.
inline void check_error_case(const OpCall& valid, const Invoke& invoke, const std::string& op,
                             const ErrorCase& c) {
  if (c.applies && !c.applies(valid)) GTEST_SKIP() << c.name << " does not apply to this call";
  KN_ASSERT_OK(invoke(valid));
  OpCall bad = valid;
  c.mutate(bad);
  const kn_status s = invoke(bad);
  EXPECT_EQ(s, c.status) << "got " << kn_status_string(s) << " (" << kn_last_error()
                         << "), expected " << kn_status_string(c.status);
  const std::string message = kn_last_error();
  EXPECT_NE(message.find(op), std::string::npos) << "message does not name " << op << ": " << message;
  EXPECT_NE(message.find(": " + c.arg), std::string::npos)
      << "message does not name the argument '" << c.arg << "': " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  KN_EXPECT_OK(invoke(valid));
}

// ------------------------------------------------------------------ testers

// CRTP base of the fluent testers: Derived().dtype(KN_FLOAT64).threads(2)
//   .layout("x", Layout::transpose()).test_forward();
// One named configuration of a fluent tester, for parameterized suites:
//   {"transposed_x", [](ReluTester& t) { t.shape({4, 3}).transpose("x"); }}
template <typename Tester>
struct TesterCase {
  std::string name;
  std::function<void(Tester&)> apply;
};
template <typename Tester>
void PrintTo(const TesterCase<Tester>& c, std::ostream* os) { *os << c.name; }

// Test name for a (TesterCase, dtype) parameter: "<case>_<dtype>".
template <typename Param>
std::string case_dtype_name(const ::testing::TestParamInfo<Param>& p) {
  return std::get<0>(p.param).name + "_" + dtype_str(std::get<1>(p.param));
}

template <typename Derived>
class TesterBase {
 public:
  Derived& dtype(int32_t d) { dtype_ = d; return self(); }
  Derived& threads(int32_t n) { threads_ = n; return self(); }
  Derived& seed(uint64_t s) { seed_ = s; return self(); }
  Derived& null_exec(bool v = true) { null_exec_ = v; return self(); }
  Derived& layout(const std::string& operand, Layout l) { layouts_[operand] = l; return self(); }
  Derived& transpose(const std::string& operand) { return layout(operand, Layout::transpose()); }
  Derived& slice(const std::string& operand, int64_t step = 2) { return layout(operand, Layout::sliced(step)); }
  Derived& reverse(const std::string& operand) { return layout(operand, Layout::reverse()); }
  Derived& broadcast(const std::string& operand, uint32_t mask) {
    return layout(operand, Layout::broadcast_dims(mask));
  }

  int32_t get_dtype() const { return dtype_; }
  Layout layout_of(const std::string& operand) const {
    auto it = layouts_.find(operand);
    return it == layouts_.end() ? Layout{} : it->second;
  }
  HostTensor make(const std::string& operand, const Shape& shape) const {
    return HostTensor(shape, dtype_, layout_of(operand));
  }
  // An output: NaN in every element (a kernel that accumulates shows).
  HostTensor make_output(const std::string& operand, const Shape& shape) const {
    HostTensor t = make(operand, shape);
    t.fill(std::nan(""));
    return t;
  }
  kn_exec exec() const { return make_exec(threads_); }
  const kn_exec* exec_ptr(const kn_exec& e) const { return null_exec_ ? nullptr : &e; }
  // Tolerance factor for a result formed from `terms` products.
  double rtol(int64_t terms) const { return 4.0 * (static_cast<double>(terms) + 2.0) * unit_roundoff(dtype_); }

  std::string describe_common() const {
    std::ostringstream o;
    o << dtype_str(dtype_) << " threads=" << threads_ << " seed=" << seed_;
    for (const auto& kv : layouts_)
      if (!kv.second.is_contiguous()) o << " " << kv.first << "=" << kv.second.name();
    return o.str();
  }

 protected:
  Derived& self() { return static_cast<Derived&>(*this); }
  int32_t dtype_ = KN_FLOAT32;
  int32_t threads_ = 1;
  uint64_t seed_ = 12345;
  bool null_exec_ = false;
  std::map<std::string, Layout> layouts_;
};

// A random non-output layout for sweeps; `allow_broadcast` lets inputs get
// stride 0 over some dims.
inline Layout random_layout(Rng& rng, int ndim, bool allow_broadcast) {
  Layout l;
  switch (rng.integer(0, allow_broadcast && ndim > 0 ? 5 : 4)) {
    case 0: break;
    case 1: l = Layout::transpose(); break;
    case 2: l = Layout::sliced(rng.integer(2, 3)); break;
    case 3: l = Layout::reverse(); break;
    case 4: l = Layout::transpose().s(2).r(); break;
    default: l = Layout::broadcast_dims(static_cast<uint32_t>(rng.integer(1, (1 << ndim) - 1)) &
                                        ((1u << ndim) - 1)); break;
  }
  return l;
}

}  // namespace kntest
