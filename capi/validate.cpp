#include "capi/validate.hpp"

#include <algorithm>
#include <cstdlib>

namespace kn::capi {
namespace {

bool dtype_allowed(int32_t dtype, Kind kind) {
  switch (kind) {
    case Kind::Float: return dtype == KN_FLOAT32 || dtype == KN_FLOAT64;
    case Kind::Index: return dtype == KN_INT32 || dtype == KN_INT64;
    case Kind::Mask: return dtype == KN_UINT8 || dtype == KN_BOOL;
  }
  return false;
}

const char* allowed_dtypes(Kind kind) {
  switch (kind) {
    case Kind::Float: return "float32 or float64";
    case Kind::Index: return "int32 or int64";
    case Kind::Mask: return "uint8 or bool";
  }
  return "";
}

// Byte range [lo, hi) spanned by t's elements (empty when numel == 0).
void byte_range(const kn_tensor& t, intptr_t& lo, intptr_t& hi) {
  int64_t low = 0, high = 0;
  for (int d = 0; d < t.ndim; ++d) {
    const int64_t span = t.strides[d] * (t.shape[d] - 1);
    (span < 0 ? low : high) += span;
  }
  const auto esz = static_cast<intptr_t>(dtype_size(t.dtype));
  lo = reinterpret_cast<intptr_t>(t.data) + static_cast<intptr_t>(low) * esz;
  hi = reinterpret_cast<intptr_t>(t.data) + (static_cast<intptr_t>(high) + 1) * esz;
}

bool same_view(const kn_tensor& a, const kn_tensor& b) {
  if (a.data != b.data || a.ndim != b.ndim || a.dtype != b.dtype) return false;
  for (int d = 0; d < a.ndim; ++d)
    if (a.shape[d] != b.shape[d] || (a.shape[d] > 1 && a.strides[d] != b.strides[d])) return false;
  return true;
}

// True if two different indices of t can address the same element:
// sorted by |stride|, each dim must step past everything the smaller dims span.
bool self_overlaps(const kn_tensor& t) {
  struct StrideSize {
    int64_t stride, size;
  } dims[KN_MAX_DIMS];
  int n = 0;
  for (int d = 0; d < t.ndim; ++d) {
    if (t.shape[d] == 0) return false;
    if (t.shape[d] > 1) dims[n++] = {std::llabs(t.strides[d]), t.shape[d]};
  }
  for (int i = 1; i < n; ++i)  // insertion sort by stride: n <= KN_MAX_DIMS
    for (int j = i; j > 0 && dims[j].stride < dims[j - 1].stride; --j) std::swap(dims[j], dims[j - 1]);
  int64_t span = 0;  // max offset reachable with the smaller dims
  for (int i = 0; i < n; ++i) {
    if (dims[i].stride <= span) return true;
    span += dims[i].stride * (dims[i].size - 1);
  }
  return false;
}

}  // namespace

const kn_tensor& OpValidator::check_tensor(const kn_tensor* t_in, const char* name, int ndim,
                                           Kind kind) {
  if (!t_in) fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": must not be NULL");
  if (num_copies_ >= static_cast<int>(copies_.size()))
    fail(KN_ERR_INTERNAL, op_, ": more than ", copies_.size(), " tensor arguments");
  kn_tensor* t = &copies_[num_copies_];
  *t = *t_in;
  if (t->ndim < 0 || t->ndim > KN_MAX_DIMS)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": ndim must be in [0, ", KN_MAX_DIMS,
         "], got ", t->ndim);
  if (ndim >= 0 && t->ndim != ndim)
    fail(KN_ERR_SHAPE_MISMATCH, op_, ": ", name, ": expected ", ndim, " dims, got ", t->ndim,
         " (shape ", shape_string(*t), ")");
  // The element count: 0 when any size is 0, whatever the others (and in
  // whatever order they come), else their product, which must fit in int64.
  bool empty = false;
  for (int d = 0; d < t->ndim; ++d) {
    if (t->shape[d] < 0)
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": shape[", d, "] is negative (", t->shape[d],
           ")");
    empty = empty || t->shape[d] == 0;
  }
  int64_t count = empty ? 0 : 1;
  for (int d = 0; d < t->ndim && !empty; ++d)
    if (__builtin_mul_overflow(count, t->shape[d], &count))
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": element count of shape ", shape_string(*t),
           " overflows int64");
  if (dtype_size(t->dtype) == 0)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": unknown dtype code ", t->dtype);
  if (!dtype_allowed(t->dtype, kind))
    fail(KN_ERR_UNSUPPORTED, op_, ": ", name, ": dtype ", dtype_name(t->dtype),
         " is not supported (expected ", allowed_dtypes(kind), ")");
  if (t->device_type != KN_DEVICE_CPU && t->device_type != KN_DEVICE_CUDA)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": unknown device_type ", t->device_type,
         " (expected KN_DEVICE_CPU = 1 or KN_DEVICE_CUDA = 2)");
  if (t->device_type == KN_DEVICE_CUDA && t->device_id < 0)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": CUDA device_id must be >= 0, got ",
         t->device_id);
  if (t->device_type == KN_DEVICE_CPU && t->device_id != 0)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": CPU device_id must be 0, got ",
         t->device_id);
  if (!t->data && count > 0)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": data is NULL for a non-empty tensor of shape ",
         shape_string(*t));

  const int64_t esz = static_cast<int64_t>(dtype_size(t->dtype));
  if (count == 0) {
    // No element is addressed: any strides were legal, and 0 keeps every
    // offset a kernel computes (often from a NULL data pointer) at 0.
    for (int d = 0; d < t->ndim; ++d) t->strides[d] = 0;
  } else {
    // Elements span [data + low * esz, data + (high + 1) * esz). Dims of size
    // 1 contribute nothing; the others' |stride| x (size - 1) and their sum,
    // in bytes, must fit in int64 (checked before any std::abs: a stride of
    // INT64_MIN on a dim longer than 1 fails here).
    int64_t low = 0, high = 0, extent = 0;
    for (int d = 0; d < t->ndim; ++d) {
      if (t->shape[d] == 1) continue;
      const int64_t s = t->strides[d];
      int64_t span;
      if (s == INT64_MIN || __builtin_mul_overflow(s < 0 ? -s : s, t->shape[d] - 1, &span) ||
          __builtin_add_overflow(extent, span, &extent))
        fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": extent of shape ", shape_string(*t),
             " with strides ", strides_string(*t), " overflows int64");
      (s < 0 ? low : high) += s < 0 ? -span : span;
    }
    int64_t bytes;
    if (__builtin_add_overflow(extent, 1, &bytes) || __builtin_mul_overflow(bytes, esz, &bytes))
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": byte extent of shape ", shape_string(*t),
           " with strides ", strides_string(*t), " overflows int64");
    // The view must not wrap around the address space.
    const uintptr_t base = reinterpret_cast<uintptr_t>(t->data);
    const uintptr_t below = static_cast<uintptr_t>(-low) * static_cast<uintptr_t>(esz);
    const uintptr_t above = static_cast<uintptr_t>(high + 1) * static_cast<uintptr_t>(esz);
    uintptr_t edge;
    if (base < below || __builtin_add_overflow(base, above, &edge))
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": the view of shape ", shape_string(*t),
           " with strides ", strides_string(*t), " at data = ", t->data,
           " wraps around the address space");
    // Size-1 dims: the contiguous stride (inner size x inner stride), 0 when
    // that product (in bytes) would not fit.
    for (int d = t->ndim - 1; d >= 0; --d) {
      if (t->shape[d] != 1) continue;
      int64_t natural = 1, natural_bytes;
      if (d + 1 < t->ndim &&
          __builtin_mul_overflow(t->strides[d + 1], t->shape[d + 1], &natural))
        natural = 0;
      if (natural == INT64_MIN || __builtin_mul_overflow(natural, esz, &natural_bytes)) natural = 0;
      t->strides[d] = natural;
    }
  }
  ++num_copies_;

  if (kind == Kind::Float) {
    if (!first_float_name_) {
      first_float_name_ = name, dtype_ = t->dtype;
    } else if (t->dtype != dtype_) {
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": dtype ", dtype_name(t->dtype),
           " does not match ", first_float_name_, "'s ", dtype_name(dtype_));
    }
  }
  if (!first_name_) {
    first_name_ = name, device_type_ = t->device_type;
    device_id_ = t->device_type == KN_DEVICE_CUDA ? t->device_id : 0;
  } else {
    const int32_t id = t->device_type == KN_DEVICE_CUDA ? t->device_id : 0;
    if (t->device_type != device_type_ || id != device_id_)
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": on ", device_name(t->device_type), ":", id,
           " but ", first_name_, " is on ", device_name(device_type_), ":", device_id_,
           " (all tensors of a call must be on one device)");
  }
  return *t;
}

void OpValidator::check_overlaps(const kn_tensor& out, const char* name) {
  if (numel(out) == 0) return;
  if (self_overlaps(out))
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name,
         ": output elements overlap in memory (a stride of 0 or strides that alias)");
  intptr_t lo, hi;
  byte_range(out, lo, hi);
  for (int i = 0; i < num_seen_; ++i) {
    const Seen& s = seen_[i];
    if (numel(*s.t) == 0) continue;
    if (in_place_ok_ && !s.is_output && same_view(out, *s.t)) continue;
    intptr_t lo2, hi2;
    byte_range(*s.t, lo2, hi2);
    if (lo < hi2 && lo2 < hi)
      fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": output overlaps ", s.name, " in memory",
           in_place_ok_ && !s.is_output ? " (only exact in-place aliasing is allowed)" : "");
  }
}

const kn_tensor& OpValidator::input(const kn_tensor* t, const char* name, int ndim, Kind kind) {
  const kn_tensor& checked = check_tensor(t, name, ndim, kind);
  if (num_seen_ < static_cast<int>(seen_.size())) seen_[num_seen_++] = {&checked, name, false};
  return checked;
}

const kn_tensor* OpValidator::optional_input(const kn_tensor* t, const char* name, int ndim,
                                             Kind kind) {
  return t ? &input(t, name, ndim, kind) : nullptr;
}

const kn_tensor& OpValidator::output(const kn_tensor* t, const char* name, int ndim, Kind kind) {
  const kn_tensor& checked = check_tensor(t, name, ndim, kind);
  check_overlaps(checked, name);
  if (num_seen_ < static_cast<int>(seen_.size())) seen_[num_seen_++] = {&checked, name, true};
  return checked;
}

const kn_tensor* OpValidator::optional_output(const kn_tensor* t, const char* name, int ndim,
                                              Kind kind) {
  return t ? &output(t, name, ndim, kind) : nullptr;
}

void OpValidator::expect_shape(const kn_tensor& t, const char* name, std::initializer_list<Dim> dims) {
  bool ok = t.ndim == static_cast<int>(dims.size());
  int d = 0;
  for (const Dim& dim : dims) {
    ok = ok && (dim.size < 0 || t.shape[d] == dim.size);
    ++d;
  }
  if (ok) return;
  std::string expected = "(", notes;
  d = 0;
  for (const Dim& dim : dims) {
    if (d++) expected += ", ";
    expected += dim.size < 0 ? "*" : std::to_string(dim.size);
    if (dim.name) notes += std::string(notes.empty() ? "" : ", ") + dim.name;
  }
  if (dims.size() == 1) expected += ",";
  expected += ")";
  fail(KN_ERR_SHAPE_MISMATCH, op_, ": ", name, ": expected shape ", expected,
       notes.empty() ? "" : " (" + notes + ")", ", got ", shape_string(t));
}

void OpValidator::same_shape(const kn_tensor& a, const char* a_name, const kn_tensor& b,
                             const char* b_name) {
  bool ok = a.ndim == b.ndim;
  for (int d = 0; ok && d < a.ndim; ++d) ok = a.shape[d] == b.shape[d];
  if (!ok)
    fail(KN_ERR_SHAPE_MISMATCH, op_, ": ", b_name, ": expected the shape of ", a_name, " ",
         shape_string(a), ", got ", shape_string(b));
}

void OpValidator::expect_range(int64_t value, const char* name, int64_t lo, int64_t hi) {
  if (value < lo || value > hi)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ", name, ": expected a value in [", lo, ", ", hi,
         "], got ", value);
}

kn_exec OpValidator::checked_exec(const kn_exec* ex) const {
  const kn_exec e = ex ? *ex : kn_exec{nullptr, nullptr, 0, 0, 0};
  if (e.flags != 0)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ex->flags: reserved, must be 0, got ", e.flags);
  if (e.num_threads < 0)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ex->num_threads must be >= 0, got ", e.num_threads);
  if (e.workspace_bytes > 0 && !e.workspace)
    fail(KN_ERR_INVALID_ARGUMENT, op_, ": ex->workspace is NULL but workspace_bytes = ",
         e.workspace_bytes);
  return e;
}

}  // namespace kn::capi
