// Batch normalisation on the CPU, as torch.nn.functional.batch_norm (formulas and shapes:
// capi/include/kernels/batch_norm.h). x, y, dy, dx: (N, C, *), any strides; per-channel
// tensors (C), any strides. M = N * prod(*) values per channel.
//
//   forward:  stats (training): shifted sums in double, K = the channel's first value,
//               S1 = sum(x - K), S2 = sum((x - K)^2);  mean = K + S1/M,
//               var = (S2 - S1^2/M) / M  (one read of x; the shift keeps the
//               cancellation small, double keeps 6M float32 values exact enough)
//             normalise: y = x a + b, a = invstd weight, b = bias - mean a (in T)
//   backward: sums in double: sum(dy), sum(dy (x - mean));  then
//             dx = (dy - sum(dy)/M - (x - mean) k) invstd weight, k = invstd^2 sum(dy (x-mean))/M
//             (training) or dx = dy invstd weight (eval)
//
// Two layouts, chosen from the strides alone (never from the thread count), each
// bitwise the same for any thread count:
//   per channel   (NCHW, and anything whose channel dim is not the unit-stride one):
//                 a channel's values are walked as rows of the channel's view
//                 (make_layout merges H, W into one run), in fixed blocks of
//                 kChannelBlock values, each summed in 16 interleaved double lanes, the
//                 blocks added in order. Threads own whole channels (the normalising
//                 pass follows the stats pass on the same channel, while its values are
//                 in L2: a 32x56x56 float32 channel is 400 KB), or, with fewer channels
//                 than threads, share the (channel, block) pairs in two passes.
//   channels-last (C has stride 1 in every (N,C,*) operand, C > 1: NHWC, (N, C) rows):
//                 vectorised across C; the outer positions (N and *) are cut into fixed
//                 chunks of kRowsChunk / C positions (at most kMaxChunks chunks), each
//                 chunk's per-channel partial sums are stored and added in chunk order.
//                 No copy of x; x is read twice from memory (stats, then normalise).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/moments.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/internal/tensor.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/batch_norm.hpp"

namespace kn::cpu {
namespace {

constexpr int64_t kRowsChunk = 32768;  // elements per chunk of the channels-last path
constexpr int64_t kMaxChunks = 256;     // chunks per call at most (the partials' memory)
constexpr int64_t kChannelBlock = 65536;  // values per block of a channel's sums (per-channel path)

// t without its dim 1 (C), at channel c.
template <typename T>
kn_tensor channel_view(const kn_tensor& t, int64_t c) {
  kn_tensor v = t;
  v.ndim = t.ndim - 1;
  v.shape[0] = t.shape[0], v.strides[0] = t.strides[0];
  for (int d = 2; d < t.ndim; ++d) v.shape[d - 1] = t.shape[d], v.strides[d - 1] = t.strides[d];
  v.data = static_cast<T*>(t.data) + c * t.strides[1];
  return v;
}

template <typename T>
T at(const kn_tensor& t, int64_t c) {
  return static_cast<const T*>(t.data)[c * t.strides[0]];
}
template <typename T>
void put(const kn_tensor& t, int64_t c, T v) {
  static_cast<T*>(t.data)[c * t.strides[0]] = v;
}

int64_t values_per_channel(const kn_tensor& x) {
  int64_t m = 1;
  for (int d = 0; d < x.ndim; ++d)
    if (d != 1) m *= x.shape[d];
  return m;
}

bool channels_last(std::initializer_list<const kn_tensor*> ts) {
  for (const kn_tensor* t : ts)
    if (t && t->strides[1] != 1) return false;
  return true;
}

// ------------------------------------------------------------------ row loops
// Compiled as AVX-512/AVX2/baseline clones. Sums go to 16 interleaved double lanes
// (lane l takes elements l, l+16, ...) added in lane order: a fixed order for a given n.

constexpr int kLanes = 16;

// 8 doubles as a GCC vector type (kernels/internal/moments.hpp: MomentVec, load8): one
// AVX-512 register (two AVX2, four SSE2 in the other clones). The vectoriser left the
// two-sum lane loops half scalar; written with vectors, each lane still adds its elements
// in order (the same bits in every clone).
// (v8 is internal and inlined: GCC's note that a 64-byte vector return would change the
// ABI of a non-AVX-512 caller does not apply.)
#pragma GCC diagnostic ignored "-Wpsabi"
typedef MomentVec v8d;
template <typename T>
__attribute__((always_inline)) inline v8d v8(const T* p) {
  v8d v;
  load8(p, v);
  return v;
}

template <typename T>
KN_SIMD_CLONES void row_shifted_sums(const T* x, int64_t n, int64_t s, double K, double* s1,
                                     double* s2) {
  double a[kLanes] = {}, b[kLanes] = {};
  int64_t q = 0;
  if (s == 1) {
    const v8d k = {K, K, K, K, K, K, K, K};
    v8d a0 = {}, a1 = {}, b0 = {}, b1 = {};
    for (; q + kLanes <= n; q += kLanes) {
      const v8d d0 = v8(x + q) - k, d1 = v8(x + q + 8) - k;
      a0 += d0, a1 += d1;
      b0 += d0 * d0, b1 += d1 * d1;
    }
    for (int l = 0; l < 8; ++l) a[l] = a0[l], a[8 + l] = a1[l], b[l] = b0[l], b[8 + l] = b1[l];
  } else {
    for (; q + kLanes <= n; q += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const double d = static_cast<double>(x[(q + l) * s]) - K;
        a[l] += d;
        b[l] += d * d;
      }
  }
  for (int l = 0; q < n; ++q, ++l) {
    const double d = static_cast<double>(x[q * s]) - K;
    a[l] += d;
    b[l] += d * d;
  }
  double ta = 0, tb = 0;
  for (int l = 0; l < kLanes; ++l) ta += a[l], tb += b[l];
  *s1 += ta;
  *s2 += tb;
}

// sum(dy), sum(dy (x - mean)) of one row.
template <typename T>
KN_SIMD_CLONES void row_grad_sums(const T* dy, int64_t sdy, const T* x, int64_t sx, int64_t n,
                                  double mean, double* s_dy, double* s_dyx) {
  double a[kLanes] = {}, b[kLanes] = {};
  int64_t q = 0;
  if (sdy == 1 && sx == 1) {
    const v8d m = {mean, mean, mean, mean, mean, mean, mean, mean};
    v8d a0 = {}, a1 = {}, b0 = {}, b1 = {};
    for (; q + kLanes <= n; q += kLanes) {
      const v8d g0 = v8(dy + q), g1 = v8(dy + q + 8);
      a0 += g0, a1 += g1;
      b0 += g0 * (v8(x + q) - m), b1 += g1 * (v8(x + q + 8) - m);
    }
    for (int l = 0; l < 8; ++l) a[l] = a0[l], a[8 + l] = a1[l], b[l] = b0[l], b[8 + l] = b1[l];
  } else {
    for (; q + kLanes <= n; q += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const double g = static_cast<double>(dy[(q + l) * sdy]);
        a[l] += g;
        b[l] += g * (static_cast<double>(x[(q + l) * sx]) - mean);
      }
  }
  for (int l = 0; q < n; ++q, ++l) {
    const double g = static_cast<double>(dy[q * sdy]);
    a[l] += g;
    b[l] += g * (static_cast<double>(x[q * sx]) - mean);
  }
  double ta = 0, tb = 0;
  for (int l = 0; l < kLanes; ++l) ta += a[l], tb += b[l];
  *s_dy += ta;
  *s_dyx += tb;
}

// y = x a + b
template <typename T>
KN_SIMD_CLONES void row_affine(T* y, int64_t sy, const T* x, int64_t sx, int64_t n, T a, T b) {
  if (sy == 1 && sx == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
  } else {
    for (int64_t i = 0; i < n; ++i) y[i * sy] = x[i * sx] * a + b;
  }
}

// dx = (dy - gm - (x - mean) k) s
template <typename T>
KN_SIMD_CLONES void row_dx_train(T* dx, int64_t sdx, const T* dy, int64_t sdy, const T* x,
                                 int64_t sx, int64_t n, T mean, T k, T gm, T s) {
  if (sdx == 1 && sdy == 1 && sx == 1) {
    for (int64_t i = 0; i < n; ++i) dx[i] = (dy[i] - gm - (x[i] - mean) * k) * s;
  } else {
    for (int64_t i = 0; i < n; ++i) dx[i * sdx] = (dy[i * sdy] - gm - (x[i * sx] - mean) * k) * s;
  }
}

// Channels-last vectors (C contiguous values at one outer position). __restrict: outputs
// never overlap inputs (validated), and the per-channel arrays are the kernel's own.
// The sums of n positions of a row (vector j at x + j step): the positions are taken in
// groups of 4, each group's values added in position order in registers, then added to
// s1 / s2 (4x fewer loads and stores of the accumulators than one position at a time);
// the order is fixed by n, the same for any thread count.
template <typename T>
KN_SIMD_CLONES void vec_shifted_sums(const T* __restrict x, int64_t n, int64_t step, int64_t C,
                                     const double* __restrict K, double* __restrict s1,
                                     double* __restrict s2) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const T *x0 = x + j * step, *x1 = x0 + step, *x2 = x1 + step, *x3 = x2 + step;
    for (int64_t c = 0; c < C; ++c) {
      const double d0 = static_cast<double>(x0[c]) - K[c], d1 = static_cast<double>(x1[c]) - K[c],
                   d2 = static_cast<double>(x2[c]) - K[c], d3 = static_cast<double>(x3[c]) - K[c];
      s1[c] += ((d0 + d1) + d2) + d3;
      s2[c] += ((d0 * d0 + d1 * d1) + d2 * d2) + d3 * d3;
    }
  }
  for (; j < n; ++j) {
    const T* xj = x + j * step;
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xj[c]) - K[c];
      s1[c] += d;
      s2[c] += d * d;
    }
  }
}

template <typename T>
KN_SIMD_CLONES void vec_grad_sums(const T* __restrict dy, int64_t sdy, const T* __restrict x,
                                  int64_t sx, int64_t n, int64_t C, const double* __restrict mean,
                                  double* __restrict s_dy, double* __restrict s_dyx) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const T *g0 = dy + j * sdy, *g1 = g0 + sdy, *g2 = g1 + sdy, *g3 = g2 + sdy;
    const T *x0 = x + j * sx, *x1 = x0 + sx, *x2 = x1 + sx, *x3 = x2 + sx;
    for (int64_t c = 0; c < C; ++c) {
      const double a0 = g0[c], a1 = g1[c], a2 = g2[c], a3 = g3[c], m = mean[c];
      s_dy[c] += ((a0 + a1) + a2) + a3;
      s_dyx[c] += ((a0 * (static_cast<double>(x0[c]) - m) + a1 * (static_cast<double>(x1[c]) - m)) +
                   a2 * (static_cast<double>(x2[c]) - m)) +
                  a3 * (static_cast<double>(x3[c]) - m);
    }
  }
  for (; j < n; ++j) {
    const T *gj = dy + j * sdy, *xj = x + j * sx;
    for (int64_t c = 0; c < C; ++c) {
      const double g = static_cast<double>(gj[c]);
      s_dy[c] += g;
      s_dyx[c] += g * (static_cast<double>(xj[c]) - mean[c]);
    }
  }
}

template <typename T>
KN_SIMD_CLONES void vec_affine(T* __restrict y, const T* __restrict x, int64_t C,
                               const T* __restrict a, const T* __restrict b) {
  for (int64_t c = 0; c < C; ++c) y[c] = x[c] * a[c] + b[c];
}

template <typename T>
KN_SIMD_CLONES void vec_dx_train(T* __restrict dx, const T* __restrict dy, const T* __restrict x,
                                 int64_t C, const T* __restrict mean, const T* __restrict k,
                                 const T* __restrict gm, const T* __restrict s) {
  for (int64_t c = 0; c < C; ++c) dx[c] = (dy[c] - gm[c] - (x[c] - mean[c]) * k[c]) * s[c];
}

template <typename T>
KN_SIMD_CLONES void vec_scale(T* __restrict dx, const T* __restrict dy, int64_t C,
                              const T* __restrict s) {
  for (int64_t c = 0; c < C; ++c) dx[c] = dy[c] * s[c];
}

// ------------------------------------------------------------- channels-last driver
// The outer positions (every dim but C) of up to 3 operands with C stride 1: operand k's
// vector at position j of a row is ptrs[k] + j * steps[k].
template <typename T, size_t N>
struct Outer {
  StridedLayout<N> L;
  std::array<T*, N> base;
  int64_t R, C, chunk, chunks;

  explicit Outer(const std::array<const kn_tensor*, N>& ops) {
    std::array<kn_tensor, N> views;
    std::array<const kn_tensor*, N> vp;
    for (size_t k = 0; k < N; ++k) {
      views[k] = channel_view<T>(*ops[k], 0);
      vp[k] = &views[k];
      base[k] = static_cast<T*>(ops[k]->data);
    }
    L = make_layout(vp);
    R = L.numel;
    C = ops[0]->shape[1];
    // kRowsChunk elements per chunk, at most kMaxChunks chunks, and at most 2^20 / C (the
    // partial sums take 2 C doubles per chunk: 16 MB at most, or 2 chunks for C > 2^19):
    // all from the shape alone.
    const int64_t max_chunks = std::max<int64_t>(1, std::min<int64_t>(kMaxChunks, (int64_t(1) << 20) / std::max<int64_t>(1, C)));
    chunk = std::max<int64_t>({1, kRowsChunk / std::max<int64_t>(1, C), (R + max_chunks - 1) / max_chunks});
    chunks = (R + chunk - 1) / chunk;
  }

  // fn(ptrs) at each outer position of [begin, end).
  template <typename Fn>
  void each(int64_t begin, int64_t end, Fn&& fn) const {
    for_each_row(L, base, begin, end,
                 [&](int64_t n, const std::array<T*, N>& p, const std::array<int64_t, N>& s) {
                   std::array<T*, N> q = p;
                   for (int64_t j = 0; j < n; ++j) {
                     fn(q);
                     for (size_t k = 0; k < N; ++k) q[k] += s[k];
                   }
                 });
  }

  // fn(n, ptrs, steps) for each run of n positions in [begin, end) (for_each_row's rows).
  template <typename Fn>
  void rows(int64_t begin, int64_t end, Fn&& fn) const {
    for_each_row(L, base, begin, end, fn);
  }

  // Per-chunk partial sums: part(chunk, ptrs-walker) fills 2 C doubles per chunk;
  // returns the totals, added in chunk order.
  template <typename ChunkSums>
  void sums(int threads, ChunkSums&& chunk_sums, std::vector<double>& t1,
            std::vector<double>& t2) const {
    std::vector<double> part(static_cast<size_t>(chunks * 2 * C), 0.0);
    parallel_for(chunks, 1, threads, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        double* p1 = part.data() + b * 2 * C;
        chunk_sums(b * chunk, std::min(R, (b + 1) * chunk), p1, p1 + C);
      }
    });
    t1.assign(static_cast<size_t>(C), 0.0);
    t2.assign(static_cast<size_t>(C), 0.0);
    for (int64_t b = 0; b < chunks; ++b) {
      const double* p1 = part.data() + b * 2 * C;
      for (int64_t c = 0; c < C; ++c) t1[c] += p1[c], t2[c] += p1[C + c];
    }
  }

  template <typename Fn>
  void map(int threads, Fn&& fn) const {
    parallel_for(chunks, 1, threads, [&](int64_t b0, int64_t b1) {
      each(b0 * chunk, std::min(R, b1 * chunk), fn);
    });
  }
};

int64_t channel_grain(int64_t M) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, M)); }

// ------------------------------------------------------------------- forward

template <typename T>
void forward(const kn_batch_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
             const kn_tensor* bias, const kn_tensor* rm, const kn_tensor* rv, const kn_tensor& y,
             const kn_tensor& save_mean, const kn_tensor& save_invstd, int threads) {
  const int64_t C = x.shape[1];
  if (C == 0) return;
  const int64_t M = values_per_channel(x);
  const bool training = p.training != 0;
  if (training && M == 0) {  // nothing to normalise; running stats unchanged
    for (int64_t c = 0; c < C; ++c) put<T>(save_mean, c, T(0)), put<T>(save_invstd, c, T(0));
    return;
  }
  // The per-channel scalars from the statistics: save_*, running stats, a and b.
  std::vector<T> A(static_cast<size_t>(C)), B(static_cast<size_t>(C));
  auto finish = [&](int64_t c, double mean, double var) {
    const double invstd = 1.0 / std::sqrt(var + p.eps);
    put<T>(save_mean, c, static_cast<T>(mean));
    put<T>(save_invstd, c, static_cast<T>(invstd));
    if (training && rm) {
      const double m = p.momentum;
      put<T>(*rm, c, static_cast<T>((1.0 - m) * static_cast<double>(at<T>(*rm, c)) + m * mean));
      const double unbiased = var * static_cast<double>(M) / static_cast<double>(M - 1);
      put<T>(*rv, c, static_cast<T>((1.0 - m) * static_cast<double>(at<T>(*rv, c)) + m * unbiased));
    }
    const double w = weight ? static_cast<double>(at<T>(*weight, c)) : 1.0;
    const double b = bias ? static_cast<double>(at<T>(*bias, c)) : 0.0;
    A[c] = static_cast<T>(invstd * w);
    B[c] = static_cast<T>(b - mean * invstd * w);
  };
  auto eval_stats = [&](int64_t c, double& mean, double& var) {
    mean = static_cast<double>(at<T>(*rm, c));
    var = static_cast<double>(at<T>(*rv, c));
  };
  auto moments = [&](double K, double s1, double s2, double& mean, double& var) {
    const double n = static_cast<double>(M);
    mean = K + s1 / n;
    var = (s2 - s1 * s1 / n) / n;
    if (var < 0.0) var = 0.0;  // rounding; a NaN stays NaN (std::max would drop it)
  };

  if (C > 1 && channels_last({&x, &y})) {
    Outer<T, 2> o({&y, &x});
    if (training) {
      std::vector<double> K(static_cast<size_t>(C)), t1, t2;
      const T* x0 = static_cast<const T*>(x.data);  // outer position 0
      for (int64_t c = 0; c < C; ++c) K[c] = static_cast<double>(x0[c]);
      o.sums(threads, [&](int64_t b, int64_t e, double* s1, double* s2) {
        o.rows(b, e, [&](int64_t n, const std::array<T*, 2>& q, const std::array<int64_t, 2>& st) {
          vec_shifted_sums<T>(q[1], n, st[1], C, K.data(), s1, s2);
        });
      }, t1, t2);
      for (int64_t c = 0; c < C; ++c) {
        double mean, var;
        moments(K[c], t1[c], t2[c], mean, var);
        finish(c, mean, var);
      }
    } else {
      for (int64_t c = 0; c < C; ++c) {
        double mean, var;
        eval_stats(c, mean, var);
        finish(c, mean, var);
      }
    }
    o.map(threads, [&](const std::array<T*, 2>& q) { vec_affine<T>(q[0], q[1], C, A.data(), B.data()); });
    return;
  }

  // Per channel. The stats of a channel are the sums of its fixed blocks of kChannelBlock
  // values, added in block order. With at least as many channels as threads, a thread
  // takes whole channels: stats, then the normalising pass while the channel is in L2.
  // With fewer (C = 1, 2, ...), the (channel, block) pairs are shared out, in two passes.
  // The same bits either way.
  const int64_t blocks = (M + kChannelBlock - 1) / kChannelBlock;
  auto block_stats = [&](int64_t c, int64_t b, double K, double* s1, double* s2) {
    const kn_tensor xv = channel_view<T>(x, c);
    const StridedLayout<1> Lx = make_layout<1>({&xv});
    for_each_row(Lx, std::array<const T*, 1>{static_cast<const T*>(xv.data)}, b * kChannelBlock,
                 std::min(M, (b + 1) * kChannelBlock),
                 [&](int64_t n, const std::array<const T*, 1>& q, const std::array<int64_t, 1>& s) {
                   row_shifted_sums<T>(q[0], n, s[0], K, s1, s2);
                 });
  };
  auto shift = [&](int64_t c) { return static_cast<double>(*(static_cast<const T*>(x.data) + c * x.strides[1])); };
  auto normalise = [&](int64_t c, int64_t begin, int64_t end) {
    const kn_tensor xv = channel_view<T>(x, c), yv = channel_view<T>(y, c);
    const StridedLayout<2> L = make_layout<2>({&yv, &xv});
    for_each_row(L, std::array<T*, 2>{static_cast<T*>(yv.data), static_cast<T*>(xv.data)}, begin, end,
                 [&](int64_t n, const std::array<T*, 2>& q, const std::array<int64_t, 2>& s) {
                   row_affine<T>(q[0], s[0], q[1], s[1], n, A[c], B[c]);
                 });
  };
  if (!training || C >= threads || blocks == 1) {
    parallel_for(C, channel_grain(M), threads, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double mean, var;
        if (training) {
          const double K = shift(c);
          double s1 = 0, s2 = 0;
          for (int64_t b = 0; b < blocks; ++b) {
            double p1 = 0, p2 = 0;
            block_stats(c, b, K, &p1, &p2);
            s1 += p1, s2 += p2;
          }
          moments(K, s1, s2, mean, var);
        } else {
          eval_stats(c, mean, var);
        }
        finish(c, mean, var);
        normalise(c, 0, M);
      }
    });
    return;
  }
  const int64_t tasks = C * blocks;
  std::vector<double> part(static_cast<size_t>(2 * tasks), 0.0);
  parallel_for(tasks, 1, threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      block_stats(t / blocks, t % blocks, shift(t / blocks), &part[2 * t], &part[2 * t + 1]);
  });
  for (int64_t c = 0; c < C; ++c) {
    double s1 = 0, s2 = 0, mean, var;
    for (int64_t b = 0; b < blocks; ++b) s1 += part[2 * (c * blocks + b)], s2 += part[2 * (c * blocks + b) + 1];
    moments(shift(c), s1, s2, mean, var);
    finish(c, mean, var);
  }
  parallel_for(tasks, 1, threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      normalise(t / blocks, (t % blocks) * kChannelBlock, std::min(M, (t % blocks + 1) * kChannelBlock));
  });
}

// ------------------------------------------------------------------ backward

template <typename T>
void backward(const kn_batch_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
              const kn_tensor* weight, const kn_tensor& save_mean, const kn_tensor& save_invstd,
              const kn_tensor* dx, const kn_tensor* dweight, const kn_tensor* dbias, int threads) {
  const int64_t C = x.shape[1];
  if (C == 0) return;
  const int64_t M = values_per_channel(x);
  const bool training = p.training != 0;
  const bool need_sums = dweight || dbias || (dx && training);
  std::vector<double> mean(static_cast<size_t>(C)), invstd(static_cast<size_t>(C));
  std::vector<T> Tm(static_cast<size_t>(C)), Tk(static_cast<size_t>(C)), Tg(static_cast<size_t>(C)),
      Ts(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = static_cast<double>(at<T>(save_mean, c));
    invstd[c] = static_cast<double>(at<T>(save_invstd, c));
    const double w = weight ? static_cast<double>(at<T>(*weight, c)) : 1.0;
    Tm[c] = at<T>(save_mean, c);
    Ts[c] = static_cast<T>(invstd[c] * w);
  }
  // From the sums of channel c: dweight, dbias and dx's constants.
  auto finish = [&](int64_t c, double s_dy, double s_dyx) {
    if (dbias) put<T>(*dbias, c, static_cast<T>(s_dy));
    if (dweight) put<T>(*dweight, c, static_cast<T>(s_dyx * invstd[c]));
    const double n = M > 0 ? static_cast<double>(M) : 1.0;
    Tg[c] = static_cast<T>(s_dy / n);
    Tk[c] = static_cast<T>(s_dyx * invstd[c] * invstd[c] / n);
  };
  if (M == 0) {
    for (int64_t c = 0; c < C; ++c) finish(c, 0.0, 0.0);
    return;
  }

  if (C > 1 && channels_last({&dy, &x, dx})) {
    // operand 0 orders the walk: dx when there is one
    Outer<T, 3> o({dx ? dx : &dy, &dy, &x});
    if (need_sums) {
      std::vector<double> t1, t2;
      o.sums(threads, [&](int64_t b, int64_t e, double* s1, double* s2) {
        o.rows(b, e, [&](int64_t n, const std::array<T*, 3>& q, const std::array<int64_t, 3>& st) {
          vec_grad_sums<T>(q[1], st[1], q[2], st[2], n, C, mean.data(), s1, s2);
        });
      }, t1, t2);
      for (int64_t c = 0; c < C; ++c) finish(c, t1[c], t2[c]);
    }
    if (!dx) return;
    if (training)
      o.map(threads, [&](const std::array<T*, 3>& q) {
        vec_dx_train<T>(q[0], q[1], q[2], C, Tm.data(), Tk.data(), Tg.data(), Ts.data());
      });
    else
      o.map(threads, [&](const std::array<T*, 3>& q) { vec_scale<T>(q[0], q[1], C, Ts.data()); });
    return;
  }

  // Per channel, in fixed blocks as the forward's stats (whole channels per thread, or
  // (channel, block) pairs shared out when there are fewer channels than threads).
  const int64_t blocks = (M + kChannelBlock - 1) / kChannelBlock;
  auto block_sums = [&](int64_t c, int64_t b, double* s_dy, double* s_dyx) {
    const kn_tensor dyv = channel_view<T>(dy, c), xv = channel_view<T>(x, c);
    const StridedLayout<2> L = make_layout<2>({&dyv, &xv});
    for_each_row(L, std::array<const T*, 2>{static_cast<const T*>(dyv.data), static_cast<const T*>(xv.data)},
                 b * kChannelBlock, std::min(M, (b + 1) * kChannelBlock),
                 [&](int64_t n, const std::array<const T*, 2>& q, const std::array<int64_t, 2>& s) {
                   row_grad_sums<T>(q[0], s[0], q[1], s[1], n, mean[c], s_dy, s_dyx);
                 });
  };
  auto grad_input = [&](int64_t c, int64_t begin, int64_t end) {
    const kn_tensor dxv = channel_view<T>(*dx, c), dyv = channel_view<T>(dy, c), xv = channel_view<T>(x, c);
    const StridedLayout<3> L = make_layout<3>({&dxv, &dyv, &xv});
    const std::array<T*, 3> base{static_cast<T*>(dxv.data), static_cast<T*>(dyv.data), static_cast<T*>(xv.data)};
    for_each_row(L, base, begin, end, [&](int64_t n, const std::array<T*, 3>& q, const std::array<int64_t, 3>& s) {
      if (training)
        row_dx_train<T>(q[0], s[0], q[1], s[1], q[2], s[2], n, Tm[c], Tk[c], Tg[c], Ts[c]);
      else
        row_affine<T>(q[0], s[0], q[1], s[1], n, Ts[c], T(0));
    });
  };
  if (!need_sums || C >= threads || blocks == 1) {
    parallel_for(C, channel_grain(M), threads, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        if (need_sums) {
          double s_dy = 0, s_dyx = 0;
          for (int64_t b = 0; b < blocks; ++b) {
            double p1 = 0, p2 = 0;
            block_sums(c, b, &p1, &p2);
            s_dy += p1, s_dyx += p2;
          }
          finish(c, s_dy, s_dyx);
        }
        if (dx) grad_input(c, 0, M);
      }
    });
    return;
  }
  const int64_t tasks = C * blocks;
  std::vector<double> part(static_cast<size_t>(2 * tasks), 0.0);
  parallel_for(tasks, 1, threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) block_sums(t / blocks, t % blocks, &part[2 * t], &part[2 * t + 1]);
  });
  for (int64_t c = 0; c < C; ++c) {
    double s_dy = 0, s_dyx = 0;
    for (int64_t b = 0; b < blocks; ++b) s_dy += part[2 * (c * blocks + b)], s_dyx += part[2 * (c * blocks + b) + 1];
    finish(c, s_dy, s_dyx);
  }
  if (!dx) return;
  parallel_for(tasks, 1, threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      grad_input(t / blocks, (t % blocks) * kChannelBlock, std::min(M, (t % blocks + 1) * kChannelBlock));
  });
}

}  // namespace

void batch_norm_forward(const kn_batch_norm_params& p, const kn_tensor& x, const kn_tensor* weight,
                        const kn_tensor* bias, const kn_tensor* running_mean,
                        const kn_tensor* running_var, const kn_tensor& y,
                        const kn_tensor& save_mean, const kn_tensor& save_invstd,
                        const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_batch_norm_forward", [&](auto tag) {
    using T = decltype(tag);
    forward<T>(p, x, weight, bias, running_mean, running_var, y, save_mean, save_invstd,
               ctx.num_threads);
  });
}

void batch_norm_backward(const kn_batch_norm_params& p, const kn_tensor& dy, const kn_tensor& x,
                         const kn_tensor* weight, const kn_tensor& save_mean,
                         const kn_tensor& save_invstd, const kn_tensor* dx,
                         const kn_tensor* dweight, const kn_tensor* dbias, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    backward<T>(p, dy, x, weight, save_mean, save_invstd, dx, dweight, dbias, ctx.num_threads);
  });
}

}  // namespace kn::cpu
