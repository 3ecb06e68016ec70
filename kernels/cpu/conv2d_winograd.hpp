// Winograd F(2x2, 3x3) convolution for float32 3x3 stride-1 convs (ResNet's): the
// forward, and dx as the forward of dy with the flipped, transposed weights. Included
// by conv2d.cpp only, which decides where it applies (applies() below).
//
// Why: a 3x3 conv through im2col + GEMM does 9 C multiply-adds per output and writes
// im2col's columns (9x the input) through the cache. F(2x2, 3x3) computes each 2x2
// output tile from a 4x4 input patch with 16 products per (input, output channel)
// pair instead of 36: 2.25x fewer multiply-adds, all in 16 GEMMs of (O x C) (C x tiles),
// on transformed inputs that are only 4x the input. (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016.)
//
//   input  d:(Ci, Hi, Wi) zero-padded by (ph, pw); output y:(Co, Ho, Wo),
//   Ho = Hi + 2 ph - 2, Wo = Wi + 2 pw - 2; tiles (ty, tx) of 2x2 outputs,
//   th = ceil(Ho / 2) by tw = ceil(Wo / 2), tile t = ty * tw + tx reads the input
//   patch rows 2 ty - ph .. + 3, columns 2 tx - pw .. + 3.
//   U[xi]:(Co, Ci) = (G g G^T)[xi] for g = w[co, ci] (3x3), xi = 4 a + b in 0..15
//   V[xi]:(Ci, tiles) = (B^T d B)[xi] per input channel and tile
//   M[xi]:(Co, tiles) = U[xi] V[xi]                                      [16 GEMMs]
//   y tile (2x2) = A^T M A + bias
//   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// The weight gradient differentiates the same formula (y = A^T (U . V) A, U = G g G^T):
//   E[xi]:(Co, tiles) = (A dy A^T)[xi] per output channel and tile (dy's 2x2 tile, 0
//                       outside Ho x Wo)
//   dU[xi]:(Co, Ci)   = sum over images and tiles of E[xi] V[xi]^T             [16 GEMMs]
//   dw[co, ci] (3x3)  = G^T dU G
//
// Accuracy: the transforms only add and halve, so each output is the direct sum up to
// rounding in a different order; the error bound grows by the transforms' gains (|U| up
// to 2.25 |g|, |V| up to 4 |d| per element), still within the tests' rtol(C kH kW) of
// the magnitude conv(|x|, |w|).
//
// Work: (image, block of tiles) items over the threads, each with its own V and M
// buffers (16 (Ci + Co) x block floats, about half the L2 cache: the block size is a
// function of the shapes and the cache the CPU reports) and single-threaded GEMMs.
// Every output tile is computed by one item in a fixed order: the result does not
// depend on the thread count. dw's sum runs in reduction groups of items fixed by the
// shapes, each accumulating its partial dU through GEMM (beta = 1), the partials added
// in double in group order: bit-identical for any thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/cpu_info.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"

namespace kn::cpu::winograd {

// Where the transforms pay: 3x3, stride 1, no dilation, one group, and enough channels
// for the GEMMs (below 16 the direct kernels or im2col's GEMMs are as fast).
inline bool applies(int64_t groups, int64_t kH, int64_t kW, int64_t sh, int64_t sw, int64_t dh,
                    int64_t dw, int64_t Ci, int64_t Co, int64_t Ho, int64_t Wo) {
  return groups == 1 && kH == 3 && kW == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 &&
         Ci >= 16 && Co >= 16 && Ho >= 2 && Wo >= 2;
}

// The transforms run over a tile row in whole vectors of kLanes tiles (AVX-512: 16
// floats): a tile row (14 tiles at 28x28) is shorter than a vector plus a scalar tail,
// so they compute up to kLanes - 1 tiles past the row's end, from and into padding
// (see Scratch) or slots that the next tile row or channel overwrites.
constexpr int64_t kLanes = 16;

// A row of at most 8 tiles (7x7 and 14x14 images: 4 and 7) is rounded to 8, which GCC's
// vectorised loop runs as one 8-float step of its epilogue (half the waste of 16).
inline int64_t round_up_lanes(int64_t n) { return n <= 8 ? 8 : (n + kLanes - 1) / kLanes * kLanes; }

struct Plan {
  int64_t Ci, Co, Hi, Wi, ph, pw, Ho, Wo;
  int64_t th, tw, tiles;  // tile rows, tile columns, tiles per image
  int64_t block;          // tiles per work item
  int64_t blocks;         // work items per image
};

inline Plan make_plan(int64_t Ci, int64_t Co, int64_t Hi, int64_t Wi, int64_t ph, int64_t pw,
                      int64_t Ho, int64_t Wo) {
  Plan p{Ci, Co, Hi, Wi, ph, pw, Ho, Wo, (Ho + 1) / 2, (Wo + 1) / 2, 0, 0, 0};
  p.tiles = p.th * p.tw;
  // V and M of a block in about half of the L2 cache (2 MB on the Intel Xeon model 167:
  // 64 tiles at Ci = Co = 128; 1 MB on Zen 4: 32), at least 16 tiles, whole tile rows
  // where they fit (fewer partial rows to transform).
  static const long l2 = kn::cpu_info::cache_bytes(2) > 0 ? kn::cpu_info::cache_bytes(2) : (long(1) << 20);
  int64_t b = std::max<int64_t>(16, int64_t(l2 / 2) / int64_t(16 * sizeof(float) * (Ci + Co)));
  if (b >= p.tw) b = b / p.tw * p.tw;
  p.block = std::min(p.tiles, b);
  p.blocks = (p.tiles + p.block - 1) / p.block;
  return p;
}

// U[xi * Co * Ci + co * Ci + ci] = (G g G^T)[xi], g[i][j] = w[co, ci, i, j] (w:(Co, Ci, 3, 3)
// with strides ws), or with `flip_transpose` g[i][j] = w[ci, co, 2 - i, 2 - j] (w:(Ci, Co, 3, 3):
// the kernel of dx = conv(dy, w) with Ci = O, Co = C). In double, rounded once.
inline std::vector<float> transform_weights(const float* w, const int64_t* ws, int64_t Co, int64_t Ci,
                                            bool flip_transpose, int threads) {
  std::vector<float> U(static_cast<size_t>(16 * Co * Ci));
  parallel_for(Co, 16, threads, [&](int64_t c0, int64_t c1) {
    for (int64_t co = c0; co < c1; ++co)
      for (int64_t ci = 0; ci < Ci; ++ci) {
        double g[3][3], gg[4][3];
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            g[i][j] = flip_transpose ? w[ci * ws[0] + co * ws[1] + (2 - i) * ws[2] + (2 - j) * ws[3]]
                                     : w[co * ws[0] + ci * ws[1] + i * ws[2] + j * ws[3]];
        for (int j = 0; j < 3; ++j) {  // G g
          gg[0][j] = g[0][j];
          gg[1][j] = 0.5 * (g[0][j] + g[1][j] + g[2][j]);
          gg[2][j] = 0.5 * (g[0][j] - g[1][j] + g[2][j]);
          gg[3][j] = g[2][j];
        }
        for (int a = 0; a < 4; ++a) {  // (G g) G^T
          const double u[4] = {gg[a][0], 0.5 * (gg[a][0] + gg[a][1] + gg[a][2]),
                               0.5 * (gg[a][0] - gg[a][1] + gg[a][2]), gg[a][2]};
          for (int b = 0; b < 4; ++b) U[size_t(((a * 4 + b) * Co + co) * Ci + ci)] = float(u[b]);
        }
      }
  });
  return U;
}

// One work item's buffers, reused across items and calls on a thread. V[xi] and M[xi]
// start xs() apart, kLanes more than their Ci x block (Co x block) elements: the padding
// takes the writes past the last channel's last tile row. xp ends in 2 kLanes zeros for
// the reads past its last row.
struct Scratch {
  std::vector<float> V, M, xp, row, row0, row1, E, dyp;
};

// Columns of one zero-padded input row, split: e[k] = row[2k], o[k] = row[2k + 1].
KN_SIMD_CLONES inline void split_even_odd(const float* __restrict__ row, int64_t half, float* __restrict__ e,
                                          float* __restrict__ o) {
  for (int64_t k = 0; k < half; ++k) {
    e[k] = row[2 * k];
    o[k] = row[2 * k + 1];
  }
}

// B^T d B of the tiles [x0, x1) of one channel's tile row, from its 4 input rows split
// into even (e_i) and odd (o_i) columns: patch column j of tile tx is e_i[tx], o_i[tx],
// e_i[tx + 1], o_i[tx + 1] for j = 0..3; v_xi[tx] = (B^T d B)[xi]. Every stream a
// restrict parameter: GCC vectorises over tx only when it knows no two of them alias
// (restrict locals derived from one pointer were not enough: no vectype).
KN_SIMD_CLONES inline void input_tiles(
    int64_t x0, int64_t x1, const float* __restrict__ e0, const float* __restrict__ o0,
    const float* __restrict__ e1, const float* __restrict__ o1, const float* __restrict__ e2,
    const float* __restrict__ o2, const float* __restrict__ e3, const float* __restrict__ o3,
    float* __restrict__ v0, float* __restrict__ v1, float* __restrict__ v2, float* __restrict__ v3,
    float* __restrict__ v4, float* __restrict__ v5, float* __restrict__ v6, float* __restrict__ v7,
    float* __restrict__ v8, float* __restrict__ v9, float* __restrict__ v10, float* __restrict__ v11,
    float* __restrict__ v12, float* __restrict__ v13, float* __restrict__ v14, float* __restrict__ v15) {
  for (int64_t tx = x0; tx < x1; ++tx) {
    // B^T d: row combinations t_i, per patch column
    const float t00 = e0[tx] - e2[tx], t01 = o0[tx] - o2[tx], t02 = e0[tx + 1] - e2[tx + 1],
                t03 = o0[tx + 1] - o2[tx + 1];
    const float t10 = e1[tx] + e2[tx], t11 = o1[tx] + o2[tx], t12 = e1[tx + 1] + e2[tx + 1],
                t13 = o1[tx + 1] + o2[tx + 1];
    const float t20 = e2[tx] - e1[tx], t21 = o2[tx] - o1[tx], t22 = e2[tx + 1] - e1[tx + 1],
                t23 = o2[tx + 1] - o1[tx + 1];
    const float t30 = e1[tx] - e3[tx], t31 = o1[tx] - o3[tx], t32 = e1[tx + 1] - e3[tx + 1],
                t33 = o1[tx + 1] - o3[tx + 1];
    // (B^T d) B
    v0[tx] = t00 - t02, v1[tx] = t01 + t02, v2[tx] = t02 - t01, v3[tx] = t01 - t03;
    v4[tx] = t10 - t12, v5[tx] = t11 + t12, v6[tx] = t12 - t11, v7[tx] = t11 - t13;
    v8[tx] = t20 - t22, v9[tx] = t21 + t22, v10[tx] = t22 - t21, v11[tx] = t21 - t23;
    v12[tx] = t30 - t32, v13[tx] = t31 + t32, v14[tx] = t32 - t31, v15[tx] = t31 - t33;
  }
}

// V[xi][ci][t - t0] for the tiles [t0, t1) of the image d (strides ds: channel, row,
// column); V[xi] starts at xi * xs. The block's input rows are first copied zero-padded
// (2 tw + 2 columns) and split into even and odd columns, xp:(Ci, R, 2, tw + 1),
// R = 2 (tile rows) + 2: the transforms then read unit-stride vectors without bounds.
KN_NO_MEMCPY_CALLS inline void transform_input(const Plan& p, const float* d, const int64_t* ds, int64_t t0,
                                               int64_t t1, int64_t xs, Scratch& s) {
  const int64_t nb = t1 - t0, ty0 = t0 / p.tw, ty1 = (t1 - 1) / p.tw + 1;
  const int64_t R = 2 * (ty1 - ty0) + 2, wp = 2 * p.tw + 2, half = p.tw + 1, rs = 2 * half;
  s.xp.resize(static_cast<size_t>(p.Ci * R * rs + 2 * kLanes));
  std::fill(s.xp.end() - 2 * kLanes, s.xp.end(), 0.0f);
  s.row.resize(static_cast<size_t>(wp));
  const int64_t lo = std::min(p.pw, wp), hi = std::min(wp, p.pw + p.Wi);  // input columns in a row
  float* row = s.row.data();
  for (int64_t ci = 0; ci < p.Ci; ++ci)
    for (int64_t r = 0; r < R; ++r) {
      const int64_t h = 2 * ty0 - p.ph + r;
      if (h < 0 || h >= p.Hi || hi <= lo) {  // a padding row
        float* dst = s.xp.data() + (ci * R + r) * rs;
        for (int64_t k = 0; k < rs; ++k) dst[k] = 0.0f;
        continue;
      }
      const float* src = d + ci * ds[0] + h * ds[1];
      for (int64_t k = 0; k < lo; ++k) row[k] = 0.0f;
      if (ds[2] == 1) {
        for (int64_t k = lo; k < hi; ++k) row[k] = src[k - lo];
      } else {
        for (int64_t k = lo; k < hi; ++k) row[k] = src[(k - lo) * ds[2]];
      }
      for (int64_t k = hi; k < wp; ++k) row[k] = 0.0f;
      float* dst = s.xp.data() + (ci * R + r) * rs;
      split_even_odd(row, half, dst, dst + half);
    }
  for (int64_t ci = 0; ci < p.Ci; ++ci)
    for (int64_t ty = ty0; ty < ty1; ++ty) {
      const int64_t x0 = std::max<int64_t>(0, t0 - ty * p.tw), x1 = std::min<int64_t>(p.tw, t1 - ty * p.tw);
      const float* e = s.xp.data() + (ci * R + 2 * (ty - ty0)) * rs;
      float* v = s.V.data() + ci * nb + (ty * p.tw - t0);
      input_tiles(x0, x0 + round_up_lanes(x1 - x0), e, e + half, e + rs, e + rs + half, e + 2 * rs,
                  e + 2 * rs + half, e + 3 * rs, e + 3 * rs + half, v, v + xs, v + 2 * xs, v + 3 * xs,
                  v + 4 * xs, v + 5 * xs, v + 6 * xs, v + 7 * xs, v + 8 * xs, v + 9 * xs, v + 10 * xs,
                  v + 11 * xs, v + 12 * xs, v + 13 * xs, v + 14 * xs, v + 15 * xs);
    }
}

// A^T M A + b of the tiles [x0, x1) of one output channel's tile row, m_xi[tx] = M[xi]:
// the two output rows' values at columns 2 (tx - x0) + {0, 1} of r0 and r1 (restrict
// parameters, as input_tiles).
KN_SIMD_CLONES inline void output_tiles(
    int64_t x0, int64_t x1, float b, const float* __restrict__ m0, const float* __restrict__ m1,
    const float* __restrict__ m2, const float* __restrict__ m3, const float* __restrict__ m4,
    const float* __restrict__ m5, const float* __restrict__ m6, const float* __restrict__ m7,
    const float* __restrict__ m8, const float* __restrict__ m9, const float* __restrict__ m10,
    const float* __restrict__ m11, const float* __restrict__ m12, const float* __restrict__ m13,
    const float* __restrict__ m14, const float* __restrict__ m15, float* __restrict__ r0,
    float* __restrict__ r1) {
  for (int64_t tx = x0; tx < x1; ++tx) {
    // A^T M: s0_j = M0j + M1j + M2j, s1_j = M1j - M2j - M3j
    const float s00 = m0[tx] + m4[tx] + m8[tx], s01 = m1[tx] + m5[tx] + m9[tx],
                s02 = m2[tx] + m6[tx] + m10[tx], s03 = m3[tx] + m7[tx] + m11[tx];
    const float s10 = m4[tx] - m8[tx] - m12[tx], s11 = m5[tx] - m9[tx] - m13[tx],
                s12 = m6[tx] - m10[tx] - m14[tx], s13 = m7[tx] - m11[tx] - m15[tx];
    const int64_t q = 2 * (tx - x0);
    r0[q] = s00 + s01 + s02 + b;
    r0[q + 1] = s01 - s02 - s03 + b;
    r1[q] = s10 + s11 + s12 + b;
    r1[q + 1] = s11 - s12 - s13 + b;
  }
}

// y tiles [t0, t1) = A^T M A + bias (M[xi] at xi * xs), written into the image y
// (strides ys), clipped to Ho x Wo.
KN_NO_MEMCPY_CALLS inline void transform_output(const Plan& p, const float* M, int64_t t0, int64_t t1,
                                                int64_t xs, const float* bias, float* y, const int64_t* ys,
                                                Scratch& s) {
  const int64_t nb = t1 - t0;
  s.row0.resize(static_cast<size_t>(2 * (p.tw + kLanes)));
  s.row1.resize(static_cast<size_t>(2 * (p.tw + kLanes)));
  for (int64_t co = 0; co < p.Co; ++co) {
    const float b = bias ? bias[co] : 0.0f;
    float* yc = y + co * ys[0];
    for (int64_t ty = t0 / p.tw; ty * p.tw < t1; ++ty) {
      const int64_t x0 = std::max<int64_t>(0, t0 - ty * p.tw), x1 = std::min<int64_t>(p.tw, t1 - ty * p.tw);
      const float* m = M + co * nb + (ty * p.tw - t0);
      output_tiles(x0, x0 + round_up_lanes(x1 - x0), b, m, m + xs, m + 2 * xs, m + 3 * xs, m + 4 * xs,
                   m + 5 * xs, m + 6 * xs, m + 7 * xs, m + 8 * xs, m + 9 * xs, m + 10 * xs, m + 11 * xs,
                   m + 12 * xs, m + 13 * xs, m + 14 * xs, m + 15 * xs, s.row0.data(), s.row1.data());
      const int64_t w0 = 2 * x0, w1 = std::min(p.Wo, 2 * x1);
      for (int a = 0; a < 2; ++a) {
        const int64_t oh = 2 * ty + a;
        if (oh >= p.Ho) break;
        const float* r = a ? s.row1.data() : s.row0.data();
        float* dst = yc + oh * ys[1];
        if (ys[2] == 1) {
          for (int64_t ow = w0; ow < w1; ++ow) dst[ow] = r[ow - w0];
        } else {
          for (int64_t ow = w0; ow < w1; ++ow) dst[ow * ys[2]] = r[ow - w0];
        }
      }
    }
  }
}

// out[n] = conv(in[n]) + bias for n in [0, N): in:(N, Ci, Hi, Wi) with strides is,
// out:(N, Co, Ho, Wo) with strides os; U from transform_weights.
inline void run(const Plan& p, int64_t N, const float* in, const int64_t* is, const std::vector<float>& U,
                const float* bias, float* out, const int64_t* os, int threads) {
  const int64_t items = N * p.blocks;
  parallel_for(items, 1, threads, [&](int64_t i0, int64_t i1) {
    static thread_local Scratch s;  // kept: no page faults on every call
    const int64_t vxs = p.Ci * p.block + kLanes, mxs = p.Co * p.block + kLanes;
    if (s.V.size() < static_cast<size_t>(16 * vxs)) s.V.assign(static_cast<size_t>(16 * vxs), 0.0f);
    if (s.M.size() < static_cast<size_t>(16 * mxs)) s.M.assign(static_cast<size_t>(16 * mxs), 0.0f);
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / p.blocks, t0 = item % p.blocks * p.block;
      const int64_t t1 = std::min(p.tiles, t0 + p.block), nb = t1 - t0;
      const int64_t xsv = p.Ci * nb + kLanes, xsm = p.Co * nb + kLanes;
      transform_input(p, in + n * is[0], is + 1, t0, t1, xsv, s);
      for (int xi = 0; xi < 16; ++xi) {
        const MatrixView<const float> u{U.data() + xi * p.Co * p.Ci, p.Co, p.Ci, p.Ci, 1};
        const MatrixView<const float> v{s.V.data() + xi * xsv, p.Ci, nb, nb, 1};
        const MatrixView<float> m{s.M.data() + xi * xsm, p.Co, nb, nb, 1};
        blas::gemm<float>(u, v, m, 1.0f, 0.0f, 1);
      }
      transform_output(p, s.M.data(), t0, t1, xsm, bias, out + n * os[0], os + 1, s);
    }
  });
}

// E[xi][tx] = (A dy A^T)[xi] of the tiles [x0, x1) of one output channel's tile row, from
// the tile row's two dy rows split into even (e_a) and odd (o_a) columns, zero-padded:
// dy's tile is [e0 o0; e1 o1] at tx. (Restrict parameters, as input_tiles.)
KN_SIMD_CLONES inline void grad_tiles(
    int64_t x0, int64_t x1, const float* __restrict__ e0, const float* __restrict__ o0,
    const float* __restrict__ e1, const float* __restrict__ o1, float* __restrict__ v0,
    float* __restrict__ v1, float* __restrict__ v2, float* __restrict__ v3, float* __restrict__ v4,
    float* __restrict__ v5, float* __restrict__ v6, float* __restrict__ v7, float* __restrict__ v8,
    float* __restrict__ v9, float* __restrict__ v10, float* __restrict__ v11, float* __restrict__ v12,
    float* __restrict__ v13, float* __restrict__ v14, float* __restrict__ v15) {
  for (int64_t tx = x0; tx < x1; ++tx) {
    const float a = e0[tx], b = o0[tx], c = e1[tx], d = o1[tx];
    // A dy: rows [a b], [a+c b+d], [a-c b-d], [-c -d]; then each row [p q] -> [p, p+q, p-q, -q]
    const float p1 = a + c, q1 = b + d, p2 = a - c, q2 = b - d;
    v0[tx] = a, v1[tx] = a + b, v2[tx] = a - b, v3[tx] = -b;
    v4[tx] = p1, v5[tx] = p1 + q1, v6[tx] = p1 - q1, v7[tx] = -q1;
    v8[tx] = p2, v9[tx] = p2 + q2, v10[tx] = p2 - q2, v11[tx] = -q2;
    v12[tx] = -c, v13[tx] = -c - d, v14[tx] = d - c, v15[tx] = d;
  }
}

// E[xi][co][t - t0] for the tiles [t0, t1) of dy's image (strides ds: channel, row, column),
// E[xi] at xi * xs. dy rows are copied zero-padded to 2 tw columns and split.
KN_NO_MEMCPY_CALLS inline void transform_grad(const Plan& p, const float* dy, const int64_t* ds, int64_t t0,
                                              int64_t t1, int64_t xs, Scratch& s) {
  const int64_t nb = t1 - t0, half = p.tw + kLanes, wp = 2 * p.tw;
  s.dyp.assign(static_cast<size_t>(4 * half), 0.0f);  // even/odd of the tile row's two rows
  s.row.resize(static_cast<size_t>(wp));
  float* row = s.row.data();
  for (int64_t co = 0; co < p.Co; ++co)
    for (int64_t ty = t0 / p.tw; ty * p.tw < t1; ++ty) {
      for (int a = 0; a < 2; ++a) {
        float* e = s.dyp.data() + 2 * a * half;
        const int64_t oh = 2 * ty + a;
        if (oh >= p.Ho) {
          for (int64_t k = 0; k < 2 * half; ++k) e[k] = 0.0f;
          continue;
        }
        const float* src = dy + co * ds[0] + oh * ds[1];
        if (ds[2] == 1) {
          for (int64_t k = 0; k < p.Wo; ++k) row[k] = src[k];
        } else {
          for (int64_t k = 0; k < p.Wo; ++k) row[k] = src[k * ds[2]];
        }
        for (int64_t k = p.Wo; k < wp; ++k) row[k] = 0.0f;
        split_even_odd(row, p.tw, e, e + half);
      }
      const int64_t x0 = std::max<int64_t>(0, t0 - ty * p.tw), x1 = std::min<int64_t>(p.tw, t1 - ty * p.tw);
      const float* e = s.dyp.data();
      float* v = s.E.data() + co * nb + (ty * p.tw - t0);
      grad_tiles(x0, x0 + round_up_lanes(x1 - x0), e, e + half, e + 2 * half, e + 3 * half, v, v + xs,
                 v + 2 * xs, v + 3 * xs, v + 4 * xs, v + 5 * xs, v + 6 * xs, v + 7 * xs, v + 8 * xs, v + 9 * xs,
                 v + 10 * xs, v + 11 * xs, v + 12 * xs, v + 13 * xs, v + 14 * xs, v + 15 * xs);
    }
}

// dw = G^T (sum of the images' and tiles' E V^T) G: x:(N, Ci, Hi, Wi) (strides xs_),
// dy:(N, Co, Ho, Wo) (strides ds), dw:(Co, Ci, 3, 3) (strides ws). The plan is the
// forward's (x -> y).
inline void weight_grad(const Plan& p, int64_t N, const float* x, const int64_t* xs_, const float* dy,
                        const int64_t* ds, float* dw, const int64_t* ws, int threads) {
  const int64_t items = N * p.blocks, UC = 16 * p.Co * p.Ci;
  // Reduction groups of consecutive items, fixed by the shapes: at most 16, and at most
  // 2^22 partial elements (16 MB) in all unless that leaves fewer than 4 groups (then
  // up to 4: C = O = 512 has 16 MB per partial).
  const int64_t groups = std::max<int64_t>(
      1, std::min<int64_t>({items, 16, std::max<int64_t>(4, (int64_t(1) << 22) / UC)}));
  // The partials live in a buffer the calling thread keeps (as layer_norm's): a fresh
  // one per call would be page-faulted in on every training step. Past 2^22 elements
  // it is allocated per call instead of kept.
  static thread_local std::vector<float> part_cache;
  std::vector<float> part_once;
  const size_t part_size = static_cast<size_t>(groups * UC);
  std::vector<float>& part_buf = part_size <= (size_t(1) << 22) ? part_cache : part_once;
  if (part_buf.size() < part_size) part_buf.resize(part_size);
  float* const parts = part_buf.data();
  // One group: its GEMMs may use the threads (blas::reproducible_threads keeps the bits).
  const int gemm_threads = groups == 1 ? blas::reproducible_threads(threads) : 1;
  parallel_for(groups, 1, threads, [&](int64_t g0, int64_t g1) {
    static thread_local Scratch s;
    const int64_t vxs = p.Ci * p.block + kLanes, exs = p.Co * p.block + kLanes;
    if (s.V.size() < static_cast<size_t>(16 * vxs)) s.V.assign(static_cast<size_t>(16 * vxs), 0.0f);
    if (s.E.size() < static_cast<size_t>(16 * exs)) s.E.assign(static_cast<size_t>(16 * exs), 0.0f);
    for (int64_t grp = g0; grp < g1; ++grp) {
      float* part = parts + grp * UC;
      const int64_t first = items * grp / groups, last = items * (grp + 1) / groups;
      for (int64_t item = first; item < last; ++item) {
        const int64_t n = item / p.blocks, t0 = item % p.blocks * p.block;
        const int64_t t1 = std::min(p.tiles, t0 + p.block), nb = t1 - t0;
        const int64_t xsv = p.Ci * nb + kLanes, xse = p.Co * nb + kLanes;
        transform_input(p, x + n * xs_[0], xs_ + 1, t0, t1, xsv, s);
        transform_grad(p, dy + n * ds[0], ds + 1, t0, t1, xse, s);
        for (int xi = 0; xi < 16; ++xi) {
          const MatrixView<const float> e{s.E.data() + xi * xse, p.Co, nb, nb, 1};
          const MatrixView<const float> vt{s.V.data() + xi * xsv, nb, p.Ci, 1, nb};  // V[xi]^T
          const MatrixView<float> du{part + xi * p.Co * p.Ci, p.Co, p.Ci, p.Ci, 1};
          blas::gemm<float>(e, vt, du, 1.0f, item == first ? 0.0f : 1.0f, gemm_threads);
        }
      }
    }
  });
  // dw[co, ci] = G^T dU G, dU summed over the groups in order, in double (for one co at
  // a time, rows of ci: unit-stride reads of the partials).
  parallel_for(p.Co, 1, threads, [&](int64_t c0, int64_t c1) {
    std::vector<double> sum(static_cast<size_t>(16 * p.Ci));
    for (int64_t co = c0; co < c1; ++co) {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t grp = 0; grp < groups; ++grp)
        for (int xi = 0; xi < 16; ++xi) {
          const float* src = parts + grp * UC + (xi * p.Co + co) * p.Ci;
          double* acc = sum.data() + xi * p.Ci;
          for (int64_t ci = 0; ci < p.Ci; ++ci) acc[ci] += src[ci];
        }
      for (int64_t ci = 0; ci < p.Ci; ++ci) {
        double u[4][4];
        for (int xi = 0; xi < 16; ++xi) u[xi / 4][xi % 4] = sum[xi * p.Ci + ci];
        double z[3][4];  // G^T dU
        for (int j = 0; j < 4; ++j) {
          z[0][j] = u[0][j] + 0.5 * (u[1][j] + u[2][j]);
          z[1][j] = 0.5 * (u[1][j] - u[2][j]);
          z[2][j] = 0.5 * (u[1][j] + u[2][j]) + u[3][j];
        }
        for (int i = 0; i < 3; ++i) {  // (G^T dU) G
          const double r[3] = {z[i][0] + 0.5 * (z[i][1] + z[i][2]), 0.5 * (z[i][1] - z[i][2]),
                               0.5 * (z[i][1] + z[i][2]) + z[i][3]};
          for (int j = 0; j < 3; ++j) dw[co * ws[0] + ci * ws[1] + i * ws[2] + j * ws[3]] = float(r[j]);
        }
      }
    }
  });
}

}  // namespace kn::cpu::winograd
