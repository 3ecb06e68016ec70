// Direct AVX-512 convolution for small float32 convs (LeNet-sized): forward and dw.
// Included by conv2d.cpp only; used for groups 1, stride 1, dilation 1, small C*kH*kW
// and O, on CPUs with AVX-512F (else conv2d.cpp takes its im2col + GEMM path).
//
// Why: with few channels the im2col GEMMs are very skinny (LeNet conv1: M = 6, K = 25)
// and OpenBLAS spends most of its time packing; im2col itself writes kH*kW copies of x.
//
// "Extended rows": each image is copied once into a zero-padded buffer
// xp:(C, Hp, Wp), Hp = H + 2 ph, Wp = W + 2 pw, flattened. An output pixel (oh, ow)
// is given the flat index q = oh*Wp + ow, and then
//     y[o, q] = b[o] + sum_{c,i,j} w[o,c,i,j] * xp[c*Hp*Wp + i*Wp + j + q]
// for every q in [0, Ho*Wp): a shifted contiguous vector for each (c, i, j). The
// positions with ow >= Wo are computed and thrown away (Wo/Wp of the work is useful).
//     dw[o,c,i,j] = sum_n sum_q dyx[n, o, q] * xp[n, c*Hp*Wp + i*Wp + j + q]
// with dyx = dy in the same extended layout, zero at ow >= Wo, so the thrown-away
// positions add nothing.
//
// Vectors of 16 floats along q, outputs blocked in registers: forward 8 channels x 3
// vectors (weights broadcast), dw 6 channels x 4 shifts. Per output element the order
// of the (c, i, j) terms is fixed, so the forward result does not depend on threads;
// dw sums per image block (blocks fixed by the shapes), lanes and blocks added in a
// fixed order in double: bit-identical for any thread count.
#pragma once

#include <algorithm>
#include <array>
#include <utility>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define KN_CONV_DIRECT 1
#define KN_AVX512 __attribute__((target("avx512f")))
#else
#define KN_CONV_DIRECT 0
#endif

namespace kn::cpu::direct {

struct Plan {
  int64_t C, H, W, O, kH, kW, ph, pw, Ho, Wo;
  int64_t Hp, Wp, plane;  // padded image
  int64_t K;              // C*kH*kW
  int64_t Pq;             // Ho*Wp rounded up to kQBlock: extended positions computed
  int64_t xp_size;        // padded image + slack for the shifted reads, all zero-filled
};

constexpr int64_t kVec = 16, kFwdV = 3, kFwdO = 8, kQBlock = kVec * kFwdV;
constexpr int kDwO = 6, kDwK = 4;

inline bool cpu_ok() {
#if KN_CONV_DIRECT
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return ok;
#else
  return false;
#endif
}

// Whether the direct kernels should take this conv (float32 checked by the caller).
inline bool applies(int64_t G, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t C,
                    int64_t O, int64_t kH, int64_t kW, int64_t Ho, int64_t Wo) {
  if (!cpu_ok() || G != 1 || sh != 1 || sw != 1 || dh != 1 || dw != 1) return false;
  if (Ho <= 0 || Wo <= 0 || C <= 0 || O <= 0) return false;
  // Small channel counts only: beyond this, im2col + OpenBLAS's GEMM is faster.
  return C * kH * kW <= 400 && O <= 32 && Wo >= 8;
}

inline Plan make_plan(int64_t C, int64_t H, int64_t W, int64_t O, int64_t kH, int64_t kW,
                      int64_t ph, int64_t pw, int64_t Ho, int64_t Wo) {
  Plan p{C, H, W, O, kH, kW, ph, pw, Ho, Wo, 0, 0, 0, 0, 0, 0};
  p.Hp = H + 2 * ph, p.Wp = W + 2 * pw, p.plane = p.Hp * p.Wp, p.K = C * kH * kW;
  p.Pq = (Ho * p.Wp + kQBlock - 1) / kQBlock * kQBlock;
  const int64_t max_shift = (C - 1) * p.plane + (kH - 1) * p.Wp + (kW - 1);
  p.xp_size = std::max(C * p.plane, max_shift + p.Pq) + kVec;
  return p;
}

// xp = x[n] (C, H, W with strides xs[1..3]) zero-padded; xp has p.xp_size elements.
template <typename T>
void pad_image(const Plan& p, const T* xn, const int64_t* xs, float* xp) {
  std::memset(xp, 0, static_cast<size_t>(p.xp_size) * sizeof(float));
  for (int64_t c = 0; c < p.C; ++c)
    for (int64_t h = 0; h < p.H; ++h) {
      const T* src = xn + c * xs[1] + h * xs[2];
      float* dst = xp + c * p.plane + (h + p.ph) * p.Wp + p.pw;
      if (xs[3] == 1) {
        for (int64_t w = 0; w < p.W; ++w) dst[w] = src[w];
      } else {
        for (int64_t w = 0; w < p.W; ++w) dst[w] = src[w * xs[3]];
      }
    }
}

#if KN_CONV_DIRECT

// y[o0 : o0+OB, q0 : q0 + 48] (row stride ldy) for one image. wk: weights as (K, O),
// at column o0. shifts[k]: xp offset of term k = (c, i, j).
template <int OB>
KN_AVX512 void fwd_tile(const float* xp, const int64_t* shifts, int64_t K, const float* wk,
                        int64_t O, const float* bias, float* y, int64_t ldy) {
  __m512 acc[OB][kFwdV];
  _Pragma("GCC unroll 32")
  for (int o = 0; o < OB; ++o) {
    const __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.0f);
    _Pragma("GCC unroll 32")
    for (int v = 0; v < kFwdV; ++v) acc[o][v] = b;
  }
  for (int64_t k = 0; k < K; ++k) {
    const float* xs = xp + shifts[k];
    __m512 xv[kFwdV];
    _Pragma("GCC unroll 32")
    for (int v = 0; v < kFwdV; ++v) xv[v] = _mm512_loadu_ps(xs + v * kVec);
    const float* wr = wk + k * O;
    _Pragma("GCC unroll 32")
    for (int o = 0; o < OB; ++o) {
      const __m512 wb = _mm512_set1_ps(wr[o]);
      _Pragma("GCC unroll 32")
      for (int v = 0; v < kFwdV; ++v) acc[o][v] = _mm512_fmadd_ps(wb, xv[v], acc[o][v]);
    }
  }
  _Pragma("GCC unroll 32")
  for (int o = 0; o < OB; ++o)
    _Pragma("GCC unroll 32")
    for (int v = 0; v < kFwdV; ++v) _mm512_storeu_ps(y + o * ldy + v * kVec, acc[o][v]);
}

using FwdTile = void (*)(const float*, const int64_t*, int64_t, const float*, int64_t,
                         const float*, float*, int64_t);
inline FwdTile fwd_tile_for(int ob) {
  static const FwdTile table[kFwdO] = {fwd_tile<1>, fwd_tile<2>, fwd_tile<3>, fwd_tile<4>,
                                       fwd_tile<5>, fwd_tile<6>, fwd_tile<7>, fwd_tile<8>};
  return table[ob - 1];
}

// acc[o][k] (16 lanes each, row stride ldacc vectors) += sum_t dyx[o, t] * xp[shift_k + t]
// over t in [0, Pq), for OB channels and KB terms.
template <int OB, int KB>
KN_AVX512 void dw_tile(const float* dyx, int64_t ldd, const float* xp, const int64_t* shifts,
                       int64_t Pq, float* acc, int64_t ldacc) {
  __m512 a[OB][KB];
  _Pragma("GCC unroll 32")
  for (int o = 0; o < OB; ++o)
    _Pragma("GCC unroll 32")
    for (int k = 0; k < KB; ++k) a[o][k] = _mm512_loadu_ps(acc + (o * ldacc + k) * kVec);
  for (int64_t t = 0; t < Pq; t += kVec) {
    __m512 d[OB];
    _Pragma("GCC unroll 32")
    for (int o = 0; o < OB; ++o) d[o] = _mm512_loadu_ps(dyx + o * ldd + t);
    _Pragma("GCC unroll 32")
    for (int k = 0; k < KB; ++k) {
      const __m512 xv = _mm512_loadu_ps(xp + shifts[k] + t);
      _Pragma("GCC unroll 32")
      for (int o = 0; o < OB; ++o) a[o][k] = _mm512_fmadd_ps(d[o], xv, a[o][k]);
    }
  }
  _Pragma("GCC unroll 32")
  for (int o = 0; o < OB; ++o)
    _Pragma("GCC unroll 32")
    for (int k = 0; k < KB; ++k) _mm512_storeu_ps(acc + (o * ldacc + k) * kVec, a[o][k]);
}

using DwTile = void (*)(const float*, int64_t, const float*, const int64_t*, int64_t, float*,
                        int64_t);
template <int OB>
DwTile dw_tile_k(int kb) {
  static const DwTile table[kDwK] = {dw_tile<OB, 1>, dw_tile<OB, 2>, dw_tile<OB, 3>,
                                     dw_tile<OB, 4>};
  return table[kb - 1];
}
inline DwTile dw_tile_for(int ob, int kb) {
  switch (ob) {
    case 1: return dw_tile_k<1>(kb);
    case 2: return dw_tile_k<2>(kb);
    case 3: return dw_tile_k<3>(kb);
    case 4: return dw_tile_k<4>(kb);
    case 5: return dw_tile_k<5>(kb);
    default: return dw_tile_k<6>(kb);
  }
}

// ---- channel-vectorised kernels (O a multiple of 16): a vector holds 16 output channels.
// No thrown-away positions; pixels are listed by their offset in the padded image
// (poff = oh*Wp + ow), so a tile may span several output rows.

constexpr int kCvK = 24;

// acc[k*ldacc + o] += sum_p dyT[p*ldd + o] * xp[poff[p] + shifts[k]], k < KB, o < 16,
// p in [0, P) in order.
template <int KB>
KN_AVX512 void dw_cv_tile(const float* dyT, int64_t ldd, int64_t P, const int64_t* poff,
                          const float* xp, const int64_t* shifts, float* acc, int64_t ldacc) {
  __m512 a[KB];
  int64_t sh[KB];
  _Pragma("GCC unroll 32")
  for (int k = 0; k < KB; ++k) a[k] = _mm512_loadu_ps(acc + k * ldacc), sh[k] = shifts[k];
  for (int64_t p = 0; p < P; ++p) {
    const __m512 d = _mm512_loadu_ps(dyT + p * ldd);
    const float* base = xp + poff[p];
    _Pragma("GCC unroll 32")
    for (int k = 0; k < KB; ++k) a[k] = _mm512_fmadd_ps(d, _mm512_set1_ps(base[sh[k]]), a[k]);
  }
  _Pragma("GCC unroll 32")
  for (int k = 0; k < KB; ++k) _mm512_storeu_ps(acc + k * ldacc, a[k]);
}

using DwCvTile = void (*)(const float*, int64_t, int64_t, const int64_t*, const float*,
                          const int64_t*, float*, int64_t);
template <size_t... I>
constexpr std::array<DwCvTile, sizeof...(I)> dw_cv_table(std::index_sequence<I...>) {
  return {dw_cv_tile<int(I) + 1>...};
}
inline DwCvTile dw_cv_tile_for(int kb) {
  static constexpr auto table = dw_cv_table(std::make_index_sequence<kCvK>{});
  return table[kb - 1];
}

// A tile of RH output rows x RW consecutive pixels: out[(h*RW + r)*16 + o] for the pixel at
// padded offset base + h*Wp + r.
template <int RH, int RW>
KN_AVX512 void fwd_cv_rows(const float* xp, const int64_t* shifts, int64_t K, const float* wk,
                           int64_t O, int64_t base, int64_t Wp, const float* bias, float* out) {
  __m512 acc[RH][RW];
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  _Pragma("GCC unroll 32")
  for (int h = 0; h < RH; ++h)
    _Pragma("GCC unroll 32")
    for (int r = 0; r < RW; ++r) acc[h][r] = b;
  for (int64_t k = 0; k < K; ++k) {
    const __m512 wv = _mm512_loadu_ps(wk + k * O);
    const float* xs = xp + base + shifts[k];
    _Pragma("GCC unroll 32")
    for (int h = 0; h < RH; ++h) {
      const float* row = xs + h * Wp;
      _Pragma("GCC unroll 32")
      for (int r = 0; r < RW; ++r) acc[h][r] = _mm512_fmadd_ps(wv, _mm512_set1_ps(row[r]), acc[h][r]);
    }
  }
  _Pragma("GCC unroll 32")
  for (int h = 0; h < RH; ++h)
    _Pragma("GCC unroll 32")
    for (int r = 0; r < RW; ++r) _mm512_storeu_ps(out + (h * RW + r) * kVec, acc[h][r]);
}

constexpr int kCvRowsW = 12, kCvRowsH = 4;
using FwdCvRows = void (*)(const float*, const int64_t*, int64_t, const float*, int64_t, int64_t,
                           int64_t, const float*, float*);
template <int RH, size_t... I>
constexpr std::array<FwdCvRows, sizeof...(I)> fwd_cv_rows_w(std::index_sequence<I...>) {
  return {fwd_cv_rows<RH, int(I) + 1>...};
}
inline FwdCvRows fwd_cv_rows_for(int rh, int rw) {
  static constexpr std::array<std::array<FwdCvRows, kCvRowsW>, kCvRowsH> table = {
      fwd_cv_rows_w<1>(std::make_index_sequence<kCvRowsW>{}),
      fwd_cv_rows_w<2>(std::make_index_sequence<kCvRowsW>{}),
      fwd_cv_rows_w<3>(std::make_index_sequence<kCvRowsW>{}),
      fwd_cv_rows_w<4>(std::make_index_sequence<kCvRowsW>{})};
  return table[rh - 1][rw - 1];
}

#endif  // KN_CONV_DIRECT

inline std::vector<int64_t> shifts_of(const Plan& p) {
  std::vector<int64_t> s(static_cast<size_t>(p.K));
  for (int64_t c = 0; c < p.C; ++c)
    for (int64_t i = 0; i < p.kH; ++i)
      for (int64_t j = 0; j < p.kW; ++j) s[(c * p.kH + i) * p.kW + j] = c * p.plane + i * p.Wp + j;
  return s;
}

// Forward of one padded image into yx:(O, Pq). wk: (K, O).
inline void forward_image(const Plan& p, const float* xp, const int64_t* shifts, const float* wk,
                          const float* bias, float* yx) {
#if KN_CONV_DIRECT
  for (int64_t q0 = 0; q0 < p.Pq; q0 += kQBlock) {
    for (int64_t o0 = 0; o0 < p.O; o0 += kFwdO) {
      const int ob = static_cast<int>(std::min<int64_t>(kFwdO, p.O - o0));
      fwd_tile_for(ob)(xp + q0, shifts, p.K, wk + o0, p.O, bias ? bias + o0 : nullptr,
                       yx + o0 * p.Pq + q0, p.Pq);
    }
  }
#else
  (void)p, (void)xp, (void)shifts, (void)wk, (void)bias, (void)yx;
#endif
}

// acc:(O, K, 16) += the dw terms of one image. dyx:(O, Pq) extended dy, zero off-image.
inline void dw_image(const Plan& p, const float* dyx, const float* xp, const int64_t* shifts,
                     float* acc) {
#if KN_CONV_DIRECT
  for (int64_t o0 = 0; o0 < p.O; o0 += kDwO) {
    const int ob = static_cast<int>(std::min<int64_t>(kDwO, p.O - o0));
    for (int64_t k0 = 0; k0 < p.K; k0 += kDwK) {
      const int kb = static_cast<int>(std::min<int64_t>(kDwK, p.K - k0));
      dw_tile_for(ob, kb)(dyx + o0 * p.Pq, p.Pq, xp, shifts + k0, p.Pq,
                          acc + (o0 * p.K + k0) * kVec, p.K);
    }
  }
#else
  (void)p, (void)dyx, (void)xp, (void)shifts, (void)acc;
#endif
}

}  // namespace kn::cpu::direct

namespace kn::cpu::direct {

inline bool channel_vectorised(const Plan& p) { return p.O % kVec == 0; }

// Offsets in the padded image of the output pixels, in raster order.
inline std::vector<int64_t> pixel_offsets(const Plan& p) {
  std::vector<int64_t> v(static_cast<size_t>(p.Ho * p.Wo));
  for (int64_t oh = 0; oh < p.Ho; ++oh)
    for (int64_t ow = 0; ow < p.Wo; ++ow) v[oh * p.Wo + ow] = oh * p.Wp + ow;
  return v;
}

// Channel-vectorised forward of one padded image straight into yn = y[n] (strides ys,
// dims 1..3). wk: (K, O). Tiles of up to 4 rows x 12 pixels (at most 24 accumulators).
inline void forward_image_cv(const Plan& p, const float* xp, const int64_t* shifts,
                             const float* wk, const float* bias, float* yn, const int64_t* ys) {
#if KN_CONV_DIRECT
  const int64_t rw_max = std::min<int64_t>(kCvRowsW, p.Wo);
  const int64_t rh_max = std::max<int64_t>(1, std::min<int64_t>(kCvRowsH, 24 / rw_max));
  float tile[kCvRowsH * kCvRowsW * kVec];
  for (int64_t o0 = 0; o0 < p.O; o0 += kVec)
    for (int64_t oh0 = 0; oh0 < p.Ho; oh0 += rh_max) {
      const int rh = static_cast<int>(std::min<int64_t>(rh_max, p.Ho - oh0));
      for (int64_t ow0 = 0; ow0 < p.Wo; ow0 += rw_max) {
        const int rw = static_cast<int>(std::min<int64_t>(rw_max, p.Wo - ow0));
        fwd_cv_rows_for(rh, rw)(xp, shifts, p.K, wk + o0, p.O, oh0 * p.Wp + ow0, p.Wp,
                                bias ? bias + o0 : nullptr, tile);
        for (int64_t o = 0; o < kVec; ++o)
          for (int h = 0; h < rh; ++h) {
            float* dst = yn + (o0 + o) * ys[1] + (oh0 + h) * ys[2] + ow0 * ys[3];
            const float* src = tile + h * rw * kVec + o;
            if (ys[3] == 1) {
              for (int r = 0; r < rw; ++r) dst[r] = src[r * kVec];
            } else {
              for (int r = 0; r < rw; ++r) dst[r * ys[3]] = src[r * kVec];
            }
          }
      }
    }
#else
  (void)p, (void)xp, (void)shifts, (void)wk, (void)bias, (void)yn, (void)ys;
#endif
}

// acc:(K, O) += the dw terms of one image; dyT:(P, O) pixel-major dy of the image.
inline void dw_image_cv(const Plan& p, const float* dyT, const float* xp, const int64_t* shifts,
                        const int64_t* poff, float* acc) {
#if KN_CONV_DIRECT
  const int64_t P = p.Ho * p.Wo;
  for (int64_t o0 = 0; o0 < p.O; o0 += kVec)
    for (int64_t k0 = 0; k0 < p.K; k0 += kCvK) {
      const int kb = static_cast<int>(std::min<int64_t>(kCvK, p.K - k0));
      dw_cv_tile_for(kb)(dyT + o0, p.O, P, poff, xp, shifts + k0, acc + k0 * p.O + o0, p.O);
    }
#else
  (void)p, (void)dyT, (void)xp, (void)shifts, (void)poff, (void)acc;
#endif
}

}  // namespace kn::cpu::direct
