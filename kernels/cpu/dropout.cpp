// Dropout on the CPU.
//   forward:  keep_i = philox word of (seed, i) >= floor(p 2^32)   (philox.hpp)
//             mask_i = keep_i;  y_i = x_i * (keep_i ? scale : 0),  scale = 1/(1-p)
//   backward: dx_i = dy_i * (mask_i != 0 ? scale : 0)
// x, y, dy, dx: one float shape (any ndim, any strides); mask: that shape,
// uint8 or bool (one byte). i is the element's LOGICAL row-major index, so
// the mask depends only on (seed, shape): not on strides, threads or device.
// Multiplying by 0 (rather than writing 0) keeps torch's NaN/inf behaviour.
// no-trapping-math: lets GCC if-convert the mask selects and vectorise (FP
// exceptions are never enabled or inspected by libkernels).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <algorithm>
#include <array>
#include <cstdint>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/philox.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/dropout.hpp"

namespace kn::cpu {
namespace {

// N operands of one shape walked in LOGICAL row-major order (unlike
// parallel_rows, which walks the output's memory order). Size-1 dims are
// dropped and logically adjacent dims merged where every operand allows, so
// contiguous operands become one row.
template <size_t N>
struct LogicalLayout {
  int ndim = 0;  // dim 0 is the innermost (the last logical dim)
  int64_t shape[KN_MAX_DIMS] = {};
  int64_t strides[N][KN_MAX_DIMS] = {};
  int64_t numel = 1;
};

template <size_t N>
LogicalLayout<N> logical_layout(const std::array<const kn_tensor*, N>& ops) {
  const kn_tensor& first = *ops[0];
  LogicalLayout<N> L;
  for (int d = 0; d < first.ndim; ++d) L.numel *= first.shape[d];
  for (int d = first.ndim - 1; d >= 0; --d) {  // innermost first
    if (first.shape[d] == 1) continue;
    if (L.ndim > 0) {
      const int last = L.ndim - 1;
      bool merge = true;
      for (size_t k = 0; k < N && merge; ++k)
        merge = ops[k]->strides[d] == L.strides[k][last] * L.shape[last];
      if (merge) {
        L.shape[last] *= first.shape[d];
        continue;
      }
    }
    L.shape[L.ndim] = first.shape[d];
    for (size_t k = 0; k < N; ++k) L.strides[k][L.ndim] = ops[k]->strides[d];
    ++L.ndim;
  }
  if (L.ndim == 0) {
    L.ndim = 1;
    L.shape[0] = L.numel == 0 ? 0 : 1;
  }
  return L;
}

// row(i0, n, offsets, steps) for the logical elements [begin, end), one
// innermost row segment at a time; offsets/steps are element counts.
template <size_t N, typename Row>
void for_each_logical_row(const LogicalLayout<N>& L, int64_t begin, int64_t end, Row&& row) {
  int64_t index[KN_MAX_DIMS] = {};
  int64_t off[N] = {};
  int64_t rest = begin;
  for (int d = 0; d < L.ndim; ++d) {
    index[d] = rest % L.shape[d];
    rest /= L.shape[d];
    for (size_t k = 0; k < N; ++k) off[k] += index[d] * L.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(L.shape[0] - index[0], end - pos);
    row(pos, n, off);
    pos += n;
    if (pos >= end) break;
    for (size_t k = 0; k < N; ++k) off[k] -= index[0] * L.strides[k][0];
    index[0] = 0;
    for (int d = 1; d < L.ndim; ++d) {
      for (size_t k = 0; k < N; ++k) off[k] += L.strides[k][d];
      if (++index[d] < L.shape[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= L.shape[d] * L.strides[k][d];
      index[d] = 0;
    }
  }
}

constexpr int64_t kChunk = 512;  // elements whose keep bits are generated at once

// keep[4k + w] = 1 if word w of group g0 + k is >= threshold, for k < groups: the
// groups are independent, so the loop vectorises (AVX-512/AVX2 clones: 16 or 8
// groups per instruction, 32x32 -> 64-bit products by vpmuludq).
KN_SIMD_CLONES void keep_groups(uint64_t seed, uint64_t threshold, uint64_t g0, int64_t groups,
                                uint8_t* keep) {
  // threshold <= 2^32; 2^32 (p = 1) keeps nothing: compare in 64 bits.
  for (int64_t k = 0; k < groups; ++k) {
    const Philox4 r = philox_group(seed, g0 + static_cast<uint64_t>(k));
    keep[4 * k + 0] = uint64_t(r.v[0]) >= threshold;
    keep[4 * k + 1] = uint64_t(r.v[1]) >= threshold;
    keep[4 * k + 2] = uint64_t(r.v[2]) >= threshold;
    keep[4 * k + 3] = uint64_t(r.v[3]) >= threshold;
  }
}

// keep[j] = 1 if the logical element start + j is kept, for j < n <= kChunk.
void keep_bits(uint64_t seed, uint64_t threshold, int64_t start, int64_t n, uint8_t* keep) {
  const uint64_t first = static_cast<uint64_t>(start) / 4, skip = static_cast<uint64_t>(start) % 4;
  const int64_t groups = static_cast<int64_t>((skip + static_cast<uint64_t>(n) + 3) / 4);
  alignas(64) uint8_t all[kChunk + 8];
  keep_groups(seed, threshold, first, groups, all);
  for (int64_t j = 0; j < n; ++j) keep[j] = all[skip + static_cast<uint64_t>(j)];
}

// The unit-stride loops (AVX-512/AVX2/baseline clones).
template <typename T>
KN_SIMD_CLONES void apply_keep(int64_t n, const T* x, const uint8_t* keep, T scale, T* y,
                               uint8_t* mask) {
  for (int64_t j = 0; j < n; ++j) {
    y[j] = x[j] * (T(keep[j]) * scale);
    mask[j] = keep[j];
  }
}
template <typename T>
KN_SIMD_CLONES void apply_mask(int64_t n, const T* g, const uint8_t* m, T scale, T* o) {
  for (int64_t j = 0; j < n; ++j) o[j] = g[j] * (m[j] != 0 ? scale : T(0));
}

}  // namespace

void dropout_forward(double p, uint64_t seed, const kn_tensor& x, const kn_tensor& y,
                     const kn_tensor& mask, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_dropout_forward", [&](auto tag) {
    using T = decltype(tag);
    const LogicalLayout<3> L = logical_layout<3>({&y, &x, &mask});
    T* const yb = static_cast<T*>(y.data);
    const T* const xb = static_cast<const T*>(x.data);
    uint8_t* const mb = static_cast<uint8_t*>(mask.data);
    const uint64_t threshold = dropout_threshold(p);
    const T scale = static_cast<T>(dropout_scale(p));
    parallel_for(L.numel, kElementwiseGrain, ctx.num_threads, [&](int64_t begin, int64_t end) {
      uint8_t keep[kChunk];
      for_each_logical_row(L, begin, end, [&](int64_t i0, int64_t n, const int64_t* off) {
        const int64_t sy = L.strides[0][0], sx = L.strides[1][0], sm = L.strides[2][0];
        for (int64_t c = 0; c < n; c += kChunk) {
          const int64_t m = std::min(kChunk, n - c);
          keep_bits(seed, threshold, i0 + c, m, keep);
          T* yr = yb + off[0] + c * sy;
          const T* xr = xb + off[1] + c * sx;
          uint8_t* mr = mb + off[2] + c * sm;
          if (sy == 1 && sx == 1 && sm == 1) {
            apply_keep<T>(m, xr, keep, scale, yr, mr);
          } else {
            for (int64_t j = 0; j < m; ++j) {
              yr[j * sy] = xr[j * sx] * (keep[j] ? scale : T(0));
              mr[j * sm] = keep[j];
            }
          }
        }
      });
    });
  });
}

void dropout_backward(double p, const kn_tensor& dy, const kn_tensor& mask, const kn_tensor& dx,
                      const CpuContext& ctx) {
  dispatch_float(dy.dtype, "kn_dropout_backward", [&](auto tag) {
    using T = decltype(tag);
    const LogicalLayout<3> L = logical_layout<3>({&dx, &dy, &mask});
    T* const dxb = static_cast<T*>(dx.data);
    const T* const dyb = static_cast<const T*>(dy.data);
    const uint8_t* const mb = static_cast<const uint8_t*>(mask.data);
    const T scale = static_cast<T>(dropout_scale(p));
    parallel_for(L.numel, kElementwiseGrain, ctx.num_threads, [&](int64_t begin, int64_t end) {
      for_each_logical_row(L, begin, end, [&](int64_t, int64_t n, const int64_t* off) {
        const int64_t sdx = L.strides[0][0], sdy = L.strides[1][0], sm = L.strides[2][0];
        T* o = dxb + off[0];
        const T* g = dyb + off[1];
        const uint8_t* m = mb + off[2];
        if (sdx == 1 && sdy == 1 && sm == 1) {
          apply_mask<T>(n, g, m, scale, o);
        } else {
          for (int64_t j = 0; j < n; ++j) o[j * sdx] = g[j * sdy] * (m[j * sm] ? scale : T(0));
        }
      });
    });
  });
}

}  // namespace kn::cpu
