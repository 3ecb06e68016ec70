// Rows of the normalisation ops (layer_norm, group_norm), host side, shared
// by the CPU and CUDA kernels. A normalised "row" is a block of trailing dims
// (layer_norm: the last k dims; group_norm: one group (C/G channels x every
// spatial position) of one sample), and the rows are enumerated by the
// leading dims (layer_norm: the rest; group_norm: (N, G)). Each operand is
// split into two descriptors over its own memory:
//   lead: the leading dims with the operand's strides (the rows),
//   row:  the row's dims with the operand's strides (the elements of a row),
// both with data = the operand's first element, strides in elements. Each
// has at most KN_MAX_DIMS dims (group_norm's (N, G, C/G, *) view of an 8-d
// input has 9 in all, but 2 + 7 apart).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/internal/row_prefetch.hpp"
#include "kernels/internal/tensor.hpp"

namespace kn {

struct NormSplit {
  kn_tensor lead;
  kn_tensor row;
  int64_t rows;     // numel(lead)
  int64_t row_len;  // numel(row)
};

inline int64_t dims_numel(const kn_tensor& t) {
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

// layer_norm: the last k dims of t form the row.
inline NormSplit split_trailing(const kn_tensor& t, int k) {
  NormSplit s{t, t, 0, 0};
  const int nl = t.ndim - k;
  s.lead.ndim = nl;
  s.row.ndim = k;
  for (int d = 0; d < k; ++d) {
    s.row.shape[d] = t.shape[nl + d];
    s.row.strides[d] = t.strides[nl + d];
  }
  s.rows = dims_numel(s.lead);
  s.row_len = dims_numel(s.row);
  return s;
}

// group_norm: t:(N, C, *) -> lead (N, G) and row (C/G, *).
inline NormSplit split_groups(const kn_tensor& t, int64_t groups) {
  NormSplit s{t, t, 0, 0};
  const int64_t cg = t.shape[1] / groups;
  s.lead.ndim = 2;
  s.lead.shape[0] = t.shape[0], s.lead.strides[0] = t.strides[0];
  s.lead.shape[1] = groups, s.lead.strides[1] = cg * t.strides[1];
  s.row.ndim = t.ndim - 1;
  s.row.shape[0] = cg, s.row.strides[0] = t.strides[1];
  for (int d = 2; d < t.ndim; ++d) {
    s.row.shape[d - 1] = t.shape[d];
    s.row.strides[d - 1] = t.strides[d];
  }
  s.rows = dims_numel(s.lead);
  s.row_len = dims_numel(s.row);
  return s;
}

// Element offset of row r (row-major over lead's dims, the last fastest).
inline int64_t lead_offset(const kn_tensor& lead, int64_t r) {
  int64_t off = 0;
  for (int d = lead.ndim - 1; d >= 0; --d) {
    const int64_t n = lead.shape[d];
    off += (r % n) * lead.strides[d];
    r /= n;
  }
  return off;
}

// Whether the row's elements are contiguous in row-major order (stride 1
// innermost; dims of size 1 do not count).
inline bool row_is_contiguous(const kn_tensor& row) {
  int64_t expected = 1;
  for (int d = row.ndim - 1; d >= 0; --d) {
    if (row.shape[d] == 1) continue;
    if (row.strides[d] != expected) return false;
    expected *= row.shape[d];
  }
  return true;
}

// Copy the row at `base` (row's shape and strides) into buf, row-major, or back.
template <typename T, bool kToRow>
void copy_row(const kn_tensor& row, T* base, T* buf) {
  const int nd = row.ndim;
  if (nd == 0) {
    if (kToRow) *base = *buf; else *buf = *base;
    return;
  }
  for (int d = 0; d < nd; ++d)
    if (row.shape[d] == 0) return;
  int64_t idx[KN_MAX_DIMS] = {};
  const int64_t n = row.shape[nd - 1], s = row.strides[nd - 1];
  T* p = base;
  for (;;) {
    if (kToRow) {
      for (int64_t i = 0; i < n; ++i) p[i * s] = buf[i];
    } else {
      for (int64_t i = 0; i < n; ++i) buf[i] = p[i * s];
    }
    buf += n;
    int d = nd - 2;
    for (; d >= 0; --d) {
      p += row.strides[d];
      if (++idx[d] < row.shape[d]) break;
      p -= row.shape[d] * row.strides[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

template <typename T>
void gather_row(const kn_tensor& row, const T* base, T* buf) {
  copy_row<T, false>(row, const_cast<T*>(base), buf);
}
template <typename T>
void scatter_row(const kn_tensor& row, T* base, const T* buf) {
  copy_row<T, true>(row, base, const_cast<T*>(buf));
}

// The CPU kernels' access to rows (the CUDA kernels index in place).

// Element r of a per-row tensor (mean, rstd: shaped as the leading dims).
template <typename T>
T* row_elem(const kn_tensor& t, int64_t r) {
  return static_cast<T*>(t.data) + lead_offset(t, r);
}

// An affine parameter (layer_norm: the row's shape; group_norm: (C)) as
// contiguous memory: its own, or a copy in buf. t == nullptr: nullptr.
template <typename T>
const T* param_row(const kn_tensor* t, std::vector<T>& buf) {
  if (!t) return nullptr;
  if (row_is_contiguous(*t)) return static_cast<const T*>(t->data);
  buf.resize(static_cast<size_t>(dims_numel(*t)));
  gather_row(*t, static_cast<const T*>(t->data), buf.data());
  return buf.data();
}

// Row r of one operand as contiguous row-major memory, so that one vectorised
// row function (KN_SIMD_CLONES) serves every layout: a row whose elements are
// contiguous is used in place; any other (transposed, sliced, reversed) is
// gathered into this buffer of row_len elements (an input: in), or written
// there and scattered back (an output: out, then flush). One per operand per
// thread. t == nullptr (an output not asked for): out() gives nullptr.
template <typename T>
class RowIO {
 public:
  RowIO(const kn_tensor* t, const NormSplit& s)
      : t_(t), s_(s), contiguous_(!t || row_is_contiguous(s.row)),
        buf_(contiguous_ ? 0 : size_t(s.row_len)) {}
  const T* in(int64_t r) {
    const T* p = base(r);
    if (contiguous_) return p;
    gather_row(s_.row, p, buf_.data());
    return buf_.data();
  }
  T* out(int64_t r) { return !t_ ? nullptr : contiguous_ ? base(r) : buf_.data(); }
  void flush(int64_t r) {
    if (!contiguous_) scatter_row(s_.row, base(r), buf_.data());
  }
  // Prefetches the first page of row r where it is used in place (row_prefetch.hpp).
  void prefetch(int64_t r) const {
    if (t_ && contiguous_) prefetch_row(base(r), row_prefetch_bytes(s_.row_len * int64_t(sizeof(T))));
  }

 private:
  T* base(int64_t r) const { return static_cast<T*>(t_->data) + lead_offset(s_.lead, r); }
  const kn_tensor* t_;
  const NormSplit& s_;
  bool contiguous_;
  std::vector<T> buf_;
};

}  // namespace kn
