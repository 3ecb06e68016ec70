// Conv2d on the CPU: im2col + GEMM through the BLAS; small float32 convs (groups 1,
// stride 1, dilation 1, C*kH*kW <= 400, O <= 32, e.g. LeNet's) take direct AVX-512
// kernels for the forward and dw instead (conv2d_direct.hpp: im2col's GEMMs are too
// skinny there), dx stays on im2col + GEMM. Other float32 3x3 stride-1 convs with >= 16
// channels in and out (ResNet's) take Winograd F(2x2, 3x3) for the forward and dx
// (conv2d_winograd.hpp: 2.25x fewer multiply-adds, no im2col); their dw stays here.
//
//   x:(N,C,H,W)  w:(O,C/G,kH,kW)  b:(O)?  ->  y:(N,O,Ho,Wo);  G groups, Cg = C/G, Og = O/G,
//   K = Cg*kH*kW (one column per output pixel), P = Ho*Wo.
//
//   cols_g[n]:(K,P)   cols[(c,i,j), (oh,ow)] = x[n, g*Cg+c, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
//                     (0 outside the input: zero padding)                     [im2col]
//   forward:  y[n, g]:(Og,P)  = w_g:(Og,K) cols_g[n]:(K,P) + b_g
//   backward: dw_g:(Og,K)     = sum_n dy[n,g]:(Og,P) cols_g[n]^T:(P,K)
//             dcols:(K,P)     = w_g^T:(K,Og) dy[n,g]:(Og,P),
//             dx[n, g]        = col2im(dcols): each column entry added back to the input
//                               pixel it was read from                        [col2im]
//             db[o]           = sum_{n,oh,ow} dy[n,o,oh,ow]
// A 1x1, stride-1, unpadded conv needs no im2col: cols_g[n] is x[n, g] viewed
// as a (Cg, H*W) matrix (when its H and W strides merge).
//
// Images are processed in chunks (about 2^17 column elements each, fixed by the shapes):
// one im2col buffer and one GEMM per chunk and group. Threads: with enough chunks
// (>= 2 * threads), the chunks are split over the threads, each with its own buffers and
// single-threaded GEMMs; otherwise one chunk at a time, with OpenBLAS's threads.
// Any input and output strides: im2col reads strided x, GEMM takes strided views
// (packing only where BLAS cannot take them), dy is gathered per chunk, and dx whose
// (C, H, W) dims are not dense goes through a contiguous temporary.
//
// dw is deterministic: the images are cut into blocks fixed by the shapes alone (at most
// 16), each block accumulates its partial dw in T through GEMM (beta = 1 from its second
// chunk on), and the partials are added in double in block order; a block's GEMMs run on
// blas::reproducible_threads (one thread with MKL). db sums in double per channel. So dw
// and db are bit-identical for any thread count.
#include <algorithm>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv2d_direct.hpp"
#include "kernels/cpu/conv2d_winograd.hpp"
#include "kernels/internal/blas.hpp"
#include "kernels/internal/cpu_info.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/conv2d.hpp"

namespace kn::cpu {
namespace {

// a * b for a, b >= 0, or INT64_MAX where that overflows.
inline int64_t saturated_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

// Elements of a scratch buffer of a x b; a product past int64 could never be
// allocated: std::bad_alloc, KN_ERR_OUT_OF_MEMORY at the C boundary.
inline size_t buffer_elems(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw std::bad_alloc();
  return static_cast<size_t>(r);
}

struct Geometry {
  int64_t N, C, H, W, O, kH, kW, Ho, Wo;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t G, Cg, Og, K, P;
  bool direct;  // 1x1, stride 1, no padding, no dilation: cols are x itself
};

Geometry make_geometry(const kn_conv2d_params& p, int64_t N, int64_t C, int64_t H, int64_t W,
                       int64_t O, int64_t kH, int64_t kW, int64_t Ho, int64_t Wo) {
  Geometry g{};
  g.N = N, g.C = C, g.H = H, g.W = W, g.O = O, g.kH = kH, g.kW = kW, g.Ho = Ho, g.Wo = Wo;
  g.sh = p.stride[0], g.sw = p.stride[1], g.ph = p.padding[0], g.pw = p.padding[1];
  g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.G = p.groups, g.Cg = C / g.G, g.Og = O / g.G;
  // K and P fit in int64 whenever y (forward) or dy (backward) is non-empty,
  // the only case the kernels use them in (they return earlier otherwise):
  // w holds O*K elements and y or dy N*O*P. Saturated, never wrapped, anyway.
  g.K = saturated_mul(saturated_mul(g.Cg, kH), kW), g.P = saturated_mul(Ho, Wo);
  g.direct = kH == 1 && kW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  return g;
}

// Outputs o in [lo, hi) read input o*s + a inside [0, in).
inline void valid_range(int64_t a, int64_t s, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  lo = a >= 0 ? 0 : (-a + s - 1) / s;
  hi = in - 1 - a < 0 ? 0 : (in - 1 - a) / s + 1;
  lo = std::min(lo, out);
  hi = std::max(lo, std::min(hi, out));
}

// t[n, c0 : c0+rows] as a (rows, H*W) matrix, if t's last two dims merge into one stride.
template <typename T>
bool plane_view(const kn_tensor& t, int64_t n, int64_t c0, int64_t rows, MatrixView<T>& out) {
  const int64_t h = t.shape[2], w = t.shape[3], s2 = t.strides[2], s3 = t.strides[3];
  int64_t col;
  if (h == 1) col = s3;
  else if (w == 1) col = s2;
  else if (s2 == s3 * w) col = s3;
  else return false;
  out = {static_cast<T*>(t.data) + n * t.strides[0] + c0 * t.strides[1], rows, h * w,
         t.strides[1], col};
  return true;
}

// im2col copies and zeroes many short rows (Wo elements): calls to memcpy/memset cost
// more than the copies, so keep GCC from turning the loops below into such calls
// (KN_NO_MEMCPY_CALLS, kernels/internal/simd.hpp).

template <typename T>
KN_NO_MEMCPY_CALLS inline void zero_row(T* r, int64_t n) {
  for (int64_t q = 0; q < n; ++q) r[q] = T(0);
}

// cols:(K,P) with row stride ld, from x[n, g*Cg : (g+1)*Cg] (xn points at its first
// channel).
template <typename T>
KN_NO_MEMCPY_CALLS void im2col(const Geometry& g, const T* xn, const int64_t* xs, T* cols, int64_t ld) {
  for (int64_t c = 0; c < g.Cg; ++c) {
    const T* xc = xn + c * xs[1];
    for (int64_t i = 0; i < g.kH; ++i) {
      const int64_t ah = i * g.dh - g.ph;
      int64_t oh_lo, oh_hi;
      valid_range(ah, g.sh, g.H, g.Ho, oh_lo, oh_hi);
      for (int64_t j = 0; j < g.kW; ++j) {
        const int64_t aw = j * g.dw - g.pw;
        int64_t ow_lo, ow_hi;
        valid_range(aw, g.sw, g.W, g.Wo, ow_lo, ow_hi);
        T* row = cols + ((c * g.kH + i) * g.kW + j) * ld;
        zero_row(row, oh_lo * g.Wo);
        if (g.sw == 1 && xs[3] == 1 && ow_lo == 0 && ow_hi == g.Wo) {  // whole rows: no zeros
          // Offsets from oh inside the loop, not a running `src += sh * xs[2]`:
          // with a conv stride larger than the input that product (formed once
          // more after the last row) can overflow int64.
          T* dst = row + oh_lo * g.Wo;
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh, dst += g.Wo) {
            const T* src = xc + (oh * g.sh + ah) * xs[2] + aw;
            for (int64_t ow = 0; ow < g.Wo; ++ow) dst[ow] = src[ow];
          }
          zero_row(row + oh_hi * g.Wo, g.P - oh_hi * g.Wo);
          continue;
        }
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          T* r = row + oh * g.Wo;
          const T* xr = xc + (oh * g.sh + ah) * xs[2];
          zero_row(r, ow_lo);
          if (g.sw == 1 && xs[3] == 1) {
            const T* src = xr + aw;
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) r[ow] = src[ow];
          } else {
            // (ow sw + aw) < W for every valid ow: the index fits, sw * xs[3] may not.
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) r[ow] = xr[(ow * g.sw + aw) * xs[3]];
          }
          zero_row(r + ow_hi, g.Wo - ow_hi);
        }
        zero_row(row + oh_hi * g.Wo, g.P - oh_hi * g.Wo);
      }
    }
  }
}

// out:(Cg,H,W) contiguous += col2im(cols:(K,P) with row stride ld). Each input pixel is
// owned by one image and group, so concurrent calls on different images never touch the
// same memory.
template <typename T>
void col2im(const Geometry& g, const T* cols, int64_t ld, T* out) {
  if (g.H == 0 || g.W == 0) return;  // no input pixel receives anything (out may be NULL)
  for (int64_t c = 0; c < g.Cg; ++c) {
    T* oc = out + c * g.H * g.W;
    for (int64_t i = 0; i < g.kH; ++i) {
      const int64_t ah = i * g.dh - g.ph;
      int64_t oh_lo, oh_hi;
      valid_range(ah, g.sh, g.H, g.Ho, oh_lo, oh_hi);
      for (int64_t j = 0; j < g.kW; ++j) {
        const int64_t aw = j * g.dw - g.pw;
        int64_t ow_lo, ow_hi;
        valid_range(aw, g.sw, g.W, g.Wo, ow_lo, ow_hi);
        const T* row = cols + ((c * g.kH + i) * g.kW + j) * ld;
        if (g.sw == 1 && ow_lo == 0 && ow_hi == g.Wo) {  // whole rows
          const T* src = row + oh_lo * g.Wo;
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh, src += g.Wo) {
            T* dst = oc + (oh * g.sh + ah) * g.W + aw;  // as in im2col: no sh * W step
            for (int64_t ow = 0; ow < g.Wo; ++ow) dst[ow] += src[ow];
          }
          continue;
        }
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          const T* r = row + oh * g.Wo;
          T* dst = oc + (oh * g.sh + ah) * g.W + aw;
          if (g.sw == 1) {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dst[ow] += r[ow];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dst[ow * g.sw] += r[ow];
          }
        }
      }
    }
  }
}

// w as an (O, K) matrix: a view when its (C/G, kH, kW) dims are contiguous, else a
// packed copy in `buf`.
template <typename T>
MatrixView<const T> weight_matrix(const kn_tensor& w, const Geometry& g, std::vector<T>& buf) {
  const int64_t* s = w.strides;
  const T* data = data_as<const T>(w);
  const bool dense = (g.kW == 1 || s[3] == 1) && (g.kH == 1 || s[2] == g.kW) &&
                     (g.Cg == 1 || s[1] == g.kH * g.kW);
  if (dense) return {data, g.O, g.K, g.O > 1 ? s[0] : g.K, 1};
  buf.resize(static_cast<size_t>(g.O * g.K));
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < g.Cg; ++c)
      for (int64_t i = 0; i < g.kH; ++i)
        for (int64_t j = 0; j < g.kW; ++j)
          buf[((o * g.Cg + c) * g.kH + i) * g.kW + j] =
              data[o * s[0] + c * s[1] + i * s[2] + j * s[3]];
  return {buf.data(), g.O, g.K, g.K, 1};
}

// Images per chunk: the columns of a chunk of images, side by side, are one GEMM
// operand of (K, images * P), about 2^17 elements (fits in L2) and at most 64 images.
// Depends on the shapes only. A 1x1 direct conv uses x itself: one image per chunk.
int64_t chunk_images(const Geometry& g) {
  if (g.direct) return 1;
  const int64_t per_image = std::max<int64_t>(1, saturated_mul(g.K, g.P));
  return std::clamp<int64_t>((int64_t(1) << 17) / per_image, 1, 64);
}

// The columns of images [n0, n1), group grp: (K, (n1-n0)*P), image n at column (n-n0)*P.
// A view of x for a 1x1 direct conv of one image whose planes merge; else im2col into buf.
template <typename T>
MatrixView<const T> columns(const Geometry& g, const kn_tensor& x, int64_t n0, int64_t n1,
                            int64_t grp, std::vector<T>& buf) {
  MatrixView<const T> v;
  if (g.direct && n1 - n0 == 1 && plane_view<const T>(x, n0, grp * g.Cg, g.Cg, v)) return v;
  const int64_t ld = (n1 - n0) * g.P;
  buf.resize(buffer_elems(g.K, ld));
  for (int64_t n = n0; n < n1; ++n)
    im2col<T>(g, data_as<const T>(x) + n * x.strides[0] + grp * g.Cg * x.strides[1], x.strides,
              buf.data() + (n - n0) * g.P, ld);
  return {buf.data(), g.K, ld, ld, 1};
}

// t[n0:n1, grp*rows : (grp+1)*rows] as a (rows, (n1-n0)*P) matrix: a view for one image
// whose planes merge, else a packed copy in buf.
template <typename T>
MatrixView<const T> gather_planes(const kn_tensor& t, int64_t n0, int64_t n1, int64_t grp,
                                  int64_t rows, std::vector<T>& buf) {
  MatrixView<const T> v;
  if (n1 - n0 == 1 && plane_view<const T>(t, n0, grp * rows, rows, v)) return v;
  const int64_t h = t.shape[2], w = t.shape[3], P = h * w, ld = (n1 - n0) * P;
  const int64_t* s = t.strides;
  buf.resize(buffer_elems(rows, ld));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = n0; n < n1; ++n) {
      const T* src = data_as<const T>(t) + n * s[0] + (grp * rows + r) * s[1];
      T* dst = buf.data() + r * ld + (n - n0) * P;
      if (s[3] == 1 && (h == 1 || s[2] == w)) {
        std::memcpy(dst, src, P * sizeof(T));
      } else {
        for (int64_t a = 0; a < h; ++a)
          for (int64_t c = 0; c < w; ++c) dst[a * w + c] = src[a * s[2] + c * s[3]];
      }
    }
  return {buf.data(), rows, ld, ld, 1};
}

// Whether to split the work over threads: only with enough independent pieces to share.
// The GEMMs always get ctx.num_threads: OpenBLAS (OpenMP build) runs single-threaded
// inside our parallel region by itself, and an unchanged count means no
// openblas_set_num_threads call (process state, which also sets the calling thread's
// OpenMP default, i.e. torch.get_num_threads()) from inside the region.
bool split_over_threads(int64_t pieces, int threads) { return threads > 1 && pieces >= 2 * threads; }

// ---------------------------------------------------------------- direct (small convs)

bool use_direct(const Geometry& g) {
  return direct::applies(g.G, g.sh, g.sw, g.dh, g.dw, g.C, g.O, g.kH, g.kW, g.Ho, g.Wo);
}

direct::Plan plan_of(const Geometry& g) {
  return direct::make_plan(g.C, g.H, g.W, g.O, g.kH, g.kW, g.ph, g.pw, g.Ho, g.Wo);
}

// w as (K, O): wk[k*O + o] = w[o, c, i, j], k = (c, i, j).
std::vector<float> weights_k_by_o(const Geometry& g, const kn_tensor& w) {
  const int64_t* s = w.strides;
  const float* data = data_as<const float>(w);
  std::vector<float> wk(static_cast<size_t>(g.K * g.O));
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t i = 0; i < g.kH; ++i)
        for (int64_t j = 0; j < g.kW; ++j)
          wk[((c * g.kH + i) * g.kW + j) * g.O + o] = data[o * s[0] + c * s[1] + i * s[2] + j * s[3]];
  return wk;
}

// b:(O) strided as a contiguous vector; empty without a bias.
std::vector<float> bias_vector(const kn_tensor* b, int64_t O) {
  std::vector<float> bias;
  if (b) {
    bias.resize(static_cast<size_t>(O));
    for (int64_t o = 0; o < O; ++o) bias[o] = data_as<const float>(*b)[o * b->strides[0]];
  }
  return bias;
}

void direct_forward(const Geometry& g, const kn_tensor& x, const kn_tensor& w,
                    const kn_tensor* b, const kn_tensor& y, const CpuContext& ctx) {
  const direct::Plan p = plan_of(g);
  const std::vector<float> wk = weights_k_by_o(g, w);
  const std::vector<int64_t> shifts = direct::shifts_of(p);
  const std::vector<float> bias = bias_vector(b, g.O);
  const int64_t* ys = y.strides;
  // Images per thread; small batches of small images are not worth a fork.
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, g.O * p.Pq * g.K / 64));
  const bool cv = direct::channel_vectorised(p);
  parallel_for(g.N, grain, ctx.num_threads, [&](int64_t n0, int64_t n1) {
    std::vector<float> xp(static_cast<size_t>(p.xp_size));
    std::vector<float> yx(cv ? 0 : static_cast<size_t>(g.O * p.Pq));
    for (int64_t n = n0; n < n1; ++n) {
      direct::pad_image(p, data_as<const float>(x) + n * x.strides[0], x.strides, xp.data());
      const float* bp = b ? bias.data() : nullptr;
      if (cv) {
        direct::forward_image_cv(p, xp.data(), shifts.data(), wk.data(), bp,
                                 data_as<float>(y) + n * ys[0], ys);
        continue;
      }
      direct::forward_image(p, xp.data(), shifts.data(), wk.data(), bp, yx.data());
      for (int64_t o = 0; o < g.O; ++o)
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          float* dst = data_as<float>(y) + n * ys[0] + o * ys[1] + oh * ys[2];
          const float* src = yx.data() + o * p.Pq + oh * p.Wp;
          if (ys[3] == 1) {
            std::memcpy(dst, src, static_cast<size_t>(g.Wo) * sizeof(float));
          } else {
            for (int64_t ow = 0; ow < g.Wo; ++ow) dst[ow * ys[3]] = src[ow];
          }
        }
    }
  });
}

// dw through the direct kernels. Image blocks fixed by N alone (at most 16); each block
// keeps 16-lane float accumulators per (o, k), reduced lane by lane in double at its end;
// the blocks' partials are added in block order in double.
void direct_weight_grad(const Geometry& g, const kn_tensor& dy, const kn_tensor& x,
                        const kn_tensor& dw, const CpuContext& ctx) {
  const direct::Plan p = plan_of(g);
  const std::vector<int64_t> shifts = direct::shifts_of(p);
  const int64_t OK = g.O * g.K, blocks = std::min<int64_t>(g.N, 16);
  std::vector<double> partial(static_cast<size_t>(blocks * OK));
  const int64_t* ds = dy.strides;
  const bool cv = direct::channel_vectorised(p);
  const std::vector<int64_t> poff = cv ? direct::pixel_offsets(p) : std::vector<int64_t>();
  const int64_t lanes = cv ? 1 : direct::kVec;
  parallel_for(blocks, 1, ctx.num_threads, [&](int64_t b0, int64_t b1) {
    std::vector<float> xp(static_cast<size_t>(p.xp_size));
    // cv: dy^T:(P, O); else extended dy:(O, Pq), zero off-image.
    std::vector<float> dyx(static_cast<size_t>(g.O * (cv ? g.P : p.Pq)), 0.0f);
    std::vector<float> acc(static_cast<size_t>(OK * lanes));  // cv: (K, O); else (O, K, 16)
    for (int64_t blk = b0; blk < b1; ++blk) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t n = g.N * blk / blocks; n < g.N * (blk + 1) / blocks; ++n) {
        direct::pad_image(p, data_as<const float>(x) + n * x.strides[0], x.strides, xp.data());
        for (int64_t o = 0; o < g.O; ++o)
          for (int64_t oh = 0; oh < g.Ho; ++oh) {
            const float* src = data_as<const float>(dy) + n * ds[0] + o * ds[1] + oh * ds[2];
            if (cv) {
              float* dst = dyx.data() + oh * g.Wo * g.O + o;
              for (int64_t ow = 0; ow < g.Wo; ++ow) dst[ow * g.O] = src[ow * ds[3]];
              continue;
            }
            float* dst = dyx.data() + o * p.Pq + oh * p.Wp;
            if (ds[3] == 1) {
              std::memcpy(dst, src, static_cast<size_t>(g.Wo) * sizeof(float));
            } else {
              for (int64_t ow = 0; ow < g.Wo; ++ow) dst[ow] = src[ow * ds[3]];
            }
          }
        if (cv)
          direct::dw_image_cv(p, dyx.data(), xp.data(), shifts.data(), poff.data(), acc.data());
        else
          direct::dw_image(p, dyx.data(), xp.data(), shifts.data(), acc.data());
      }
      for (int64_t e = 0; e < OK; ++e) {
        if (cv) {
          const int64_t o = e / g.K, k = e % g.K;
          partial[blk * OK + e] = acc[k * g.O + o];
          continue;
        }
        double s = 0;
        for (int64_t l = 0; l < direct::kVec; ++l) s += acc[e * direct::kVec + l];
        partial[blk * OK + e] = s;
      }
    }
  });
  float* out = data_as<float>(dw);
  const int64_t* s = dw.strides;
  for (int64_t e = 0; e < OK; ++e) {
    double acc = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) acc += partial[blk * OK + e];
    const int64_t o = e / g.K, k = e % g.K;
    const int64_t c = k / (g.kH * g.kW), i = k / g.kW % g.kH, j = k % g.kW;
    out[o * s[0] + c * s[1] + i * s[2] + j * s[3]] = float(acc);
  }
}

// ---------------------------------------------------------------- Winograd (3x3, stride 1)

bool use_winograd(const Geometry& g) {
  return winograd::applies(g.G, g.kH, g.kW, g.sh, g.sw, g.dh, g.dw, g.C, g.O, g.Ho, g.Wo);
}

// Where both the direct kernels and Winograd apply (3x3, 16 <= C <= 44, 16 <= O <= 32):
// Winograd from C * O >= 1024. Intel Xeon model 167, 2 threads, forward / backward (dx
// and dw) ms, direct vs Winograd: N=128 C=O=16 28x28 2.5 / 6.8 vs 3.1 / 7.1; C=O=24
// 4.5 / 12.7 vs 4.8 / 11.6; N=64 C=O=32 32x32 5.7 / 14.2 vs 4.9 / 11.4. The direct
// kernels' work per output grows with C like im2col's; Winograd's GEMMs get wider.
bool winograd_over_direct(const Geometry& g) { return use_winograd(g) && g.C * g.O >= 1024; }

// dx through Winograd: dx = conv(dy zero-padded by (2 - ph, 2 - pw), w flipped and
// transposed), a 3x3 stride-1 conv from O to C channels (needs ph, pw <= 2).
bool use_winograd_dx(const Geometry& g) {
  return g.ph <= 2 && g.pw <= 2 &&
         winograd::applies(g.G, g.kH, g.kW, g.sh, g.sw, g.dh, g.dw, g.O, g.C, g.H, g.W);
}

void winograd_forward(const Geometry& g, const kn_tensor& x, const kn_tensor& w, const kn_tensor* b,
                      const kn_tensor& y, const CpuContext& ctx) {
  const winograd::Plan p = winograd::make_plan(g.C, g.O, g.H, g.W, g.ph, g.pw, g.Ho, g.Wo);
  const std::vector<float> U =
      winograd::transform_weights(data_as<const float>(w), w.strides, g.O, g.C, false, ctx.num_threads);
  const std::vector<float> bias = bias_vector(b, g.O);
  winograd::run(p, g.N, data_as<const float>(x), x.strides, U, b ? bias.data() : nullptr,
                data_as<float>(y), y.strides, ctx.num_threads);
}

void winograd_dx(const Geometry& g, const kn_tensor& dy, const kn_tensor& w, const kn_tensor& dx,
                 const CpuContext& ctx) {
  const winograd::Plan p = winograd::make_plan(g.O, g.C, g.Ho, g.Wo, 2 - g.ph, 2 - g.pw, g.H, g.W);
  const std::vector<float> U =
      winograd::transform_weights(data_as<const float>(w), w.strides, g.C, g.O, true, ctx.num_threads);
  winograd::run(p, g.N, data_as<const float>(dy), dy.strides, U, nullptr, data_as<float>(dx), dx.strides,
                ctx.num_threads);
}

template <typename T>
void forward_impl(const kn_conv2d_params& p, const kn_tensor& x, const kn_tensor& w,
                  const kn_tensor* b, const kn_tensor& y, const CpuContext& ctx) {
  if (numel(y) == 0) return;  // N, O, Ho, Wo >= 1 from here on (so K and P fit)
  const Geometry g = make_geometry(p, x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0],
                                   w.shape[2], w.shape[3], y.shape[2], y.shape[3]);
  if (g.N == 0 || g.O == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (use_direct(g) && !winograd_over_direct(g)) return direct_forward(g, x, w, b, y, ctx);
    if (use_winograd(g)) return winograd_forward(g, x, w, b, y, ctx);
  }
  std::vector<T> wbuf;
  const MatrixView<const T> wm = weight_matrix<T>(w, g, wbuf);
  const T* bias = b ? data_as<const T>(*b) : nullptr;
  const int64_t bs = b ? b->strides[0] : 0;
  const int64_t per_chunk = chunk_images(g), chunks = (g.N + per_chunk - 1) / per_chunk;
  const bool split = split_over_threads(chunks, ctx.num_threads);

  auto run_chunks = [&](int64_t c0, int64_t c1) {
    std::vector<T> cols, tmp;
    for (int64_t chunk = c0; chunk < c1; ++chunk) {
      const int64_t n0 = chunk * per_chunk, n1 = std::min(g.N, n0 + per_chunk), ld = (n1 - n0) * g.P;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const MatrixView<const T> cv = columns<T>(g, x, n0, n1, grp, cols);
        const MatrixView<const T> wg{wm.data + grp * g.Og * wm.row_stride, g.Og, g.K,
                                     wm.row_stride, 1};
        MatrixView<T> yv;
        const bool in_place = n1 - n0 == 1 && plane_view<T>(y, n0, grp * g.Og, g.Og, yv);
        if (!in_place) {
          tmp.resize(buffer_elems(g.Og, ld));
          yv = {tmp.data(), g.Og, ld, ld, 1};
        }
        blas::gemm<T>(wg, cv, yv, T(1), T(0), ctx.num_threads);
        if (in_place) {
          if (!bias) continue;
          for (int64_t o = 0; o < g.Og; ++o) {
            const T bo = bias[(grp * g.Og + o) * bs];
            T* r = &yv.at(o, 0);
            if (yv.col_stride == 1) {
              for (int64_t q = 0; q < g.P; ++q) r[q] += bo;
            } else {
              for (int64_t q = 0; q < g.P; ++q) r[q * yv.col_stride] += bo;
            }
          }
          continue;
        }
        // Scatter the chunk's (Og, images * P) result into y, adding the bias.
        const int64_t* ys = y.strides;
        const bool rows_dense = ys[3] == 1 && (g.Ho == 1 || ys[2] == g.Wo);
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t o = 0; o < g.Og; ++o) {
            const int64_t oc = grp * g.Og + o;
            const T bo = bias ? bias[oc * bs] : T(0);
            const T* src = tmp.data() + o * ld + (n - n0) * g.P;
            T* dst = data_as<T>(y) + n * ys[0] + oc * ys[1];
            if (rows_dense) {
              for (int64_t q = 0; q < g.P; ++q) dst[q] = src[q] + bo;
            } else {
              for (int64_t oh = 0; oh < g.Ho; ++oh)
                for (int64_t ow = 0; ow < g.Wo; ++ow)
                  dst[oh * ys[2] + ow * ys[3]] = src[oh * g.Wo + ow] + bo;
            }
          }
      }
    }
  };
  if (split)
    parallel_for(chunks, 1, ctx.num_threads, run_chunks);
  else
    run_chunks(0, chunks);
}

// Sum of r[0], r[s], ..., r[(n-1)*s] in double, in 8 interleaved lanes (lane l takes the
// elements l, l+8, ...), then lanes 0..7 in order: a fixed order for a given n, and no
// serial chain of dependent double additions (which ran at one add per 4 cycles).
template <typename T>
KN_SIMD_CLONES acc_t<T> strided_sum(const T* r, int64_t n, int64_t s) {
  acc_t<T> lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t q = 0;
  if (s == 1) {
    for (; q + 8 <= n; q += 8)
      for (int l = 0; l < 8; ++l) lane[l] += r[q + l];
  } else {
    for (; q + 8 <= n; q += 8)
      for (int l = 0; l < 8; ++l) lane[l] += r[(q + l) * s];
  }
  for (int l = 0; q < n; ++q, ++l) lane[l] += r[q * s];
  acc_t<T> total = 0;
  for (int l = 0; l < 8; ++l) total += lane[l];
  return total;
}

// db[o] = sum_{n,oh,ow} dy[n,o,oh,ow] in double; each thread owns whole channels. A
// plane whose rows merge is summed as one row.
template <typename T>
void bias_grad(const kn_tensor& dy, const kn_tensor& db, int threads) {
  const int64_t N = dy.shape[0], O = dy.shape[1], Ho = dy.shape[2], Wo = dy.shape[3];
  const int64_t* s = dy.strides;
  const T* d = data_as<const T>(dy);
  T* out = data_as<T>(db);
  const bool merge = Ho == 1 || s[2] == s[3] * Wo;
  const int64_t rows = merge ? 1 : Ho, len = merge ? Ho * Wo : Wo;
  // Threads only for large sums: a fork/join costs more than a few 100k additions.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, N * Ho * Wo));
  parallel_for(O, grain, threads, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      acc_t<T> acc = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t oh = 0; oh < rows; ++oh)
          acc += strided_sum<T>(d + n * s[0] + o * s[1] + oh * s[2], len, s[3]);
      out[o * db.strides[0]] = T(acc);
    }
  });
}

// out = 0, any strides.
template <typename T>
void zero_fill(const kn_tensor& out, int threads) {
  parallel_rows<T, 1>({&out}, threads,
                      [](int64_t n, const std::array<T*, 1>& p, const std::array<int64_t, 1>& s) {
                        for (int64_t i = 0; i < n; ++i) p[0][i * s[0]] = T(0);
                      });
}

template <typename T>
void backward_impl(const kn_conv2d_params& p, const kn_tensor& dy, const kn_tensor* x,
                   const kn_tensor* w, const kn_tensor* dx, const kn_tensor* dw,
                   const kn_tensor* db, const CpuContext& ctx) {
  if (numel(dy) == 0) {  // N == 0 or O == 0: every gradient is 0
    for (const kn_tensor* out : {dx, dw, db})
      if (out) zero_fill<T>(*out, ctx.num_threads);
    return;
  }
  // From here on N, O, Ho, Wo >= 1, so K and P (and N * Ho * Wo) fit in int64.
  if (db) bias_grad<T>(dy, *db, ctx.num_threads);
  if (!dx && !dw) return;
  const kn_tensor& in = x ? *x : *dx;   // C, H, W
  const kn_tensor& ker = w ? *w : *dw;  // kH, kW
  const Geometry g = make_geometry(p, dy.shape[0], in.shape[1], in.shape[2], in.shape[3],
                                   dy.shape[1], ker.shape[2], ker.shape[3], dy.shape[2], dy.shape[3]);
  if (g.K == 0) return;  // C == 0: dx and dw are empty
  if constexpr (std::is_same_v<T, float>) {
    if (dw && g.N > 0 && g.O > 0 && use_direct(g) && !winograd_over_direct(g)) {
      direct_weight_grad(g, dy, *x, *dw, ctx);
      dw = nullptr;
      if (!dx) return;
    }
    if (dx && use_winograd_dx(g)) {
      winograd_dx(g, dy, *w, *dx, ctx);
      dx = nullptr;
      if (!dw) return;
    }
    if (dw && use_winograd(g)) {
      const winograd::Plan wp = winograd::make_plan(g.C, g.O, g.H, g.W, g.ph, g.pw, g.Ho, g.Wo);
      winograd::weight_grad(wp, g.N, data_as<const float>(*x), x->strides, data_as<const float>(dy),
                            dy.strides, data_as<float>(*dw), dw->strides, ctx.num_threads);
      dw = nullptr;
      if (!dx) return;
    }
  }
  std::vector<T> wbuf;
  MatrixView<const T> wm{};
  if (dx) wm = weight_matrix<T>(*w, g, wbuf);

  // Image blocks for dw's partials, fixed by the shapes, never by the thread count: at
  // most 16, at most 2^24 partial elements in all. Within a block, chunks of
  // chunk_images() images (also fixed by the shapes) accumulate into its partial.
  const int64_t OK = g.O * g.K, per_chunk = chunk_images(g);
  int64_t blocks = std::min<int64_t>((g.N + per_chunk - 1) / per_chunk, 16);
  if (dw && OK > 0) blocks = std::min(blocks, std::max<int64_t>(1, (int64_t(1) << 24) / OK));
  std::vector<T> partial(dw && blocks > 0 ? static_cast<size_t>(blocks * OK) : 0);

  const bool split = split_over_threads(blocks, ctx.num_threads);
  const bool dx_dense = dx && dx->strides[3] == 1 && (g.H == 1 || dx->strides[2] == g.W) &&
                        (g.Cg == 1 || dx->strides[1] == g.H * g.W);

  auto run_blocks = [&](int64_t b0, int64_t b1) {
    std::vector<T> cols, dcols, dxbuf, dybuf;
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t first = g.N * blk / blocks, last = g.N * (blk + 1) / blocks;
      for (int64_t n0 = first; n0 < last; n0 += per_chunk) {
        const int64_t n1 = std::min(last, n0 + per_chunk), ld = (n1 - n0) * g.P;
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const MatrixView<const T> dyv = gather_planes<T>(dy, n0, n1, grp, g.Og, dybuf);
          if (dw && g.Og > 0) {
            const MatrixView<const T> cv = columns<T>(g, *x, n0, n1, grp, cols);
            const MatrixView<T> pv{partial.data() + blk * OK + grp * g.Og * g.K, g.Og, g.K, g.K, 1};
            blas::gemm<T>(dyv, cv.t(), pv, T(1), n0 == first ? T(0) : T(1),
                          blas::reproducible_threads(ctx.num_threads));
          }
          if (!dx) continue;
          dcols.resize(buffer_elems(g.K, ld));
          const MatrixView<const T> wg{wm.data + grp * g.Og * wm.row_stride, g.Og, g.K,
                                       wm.row_stride, 1};
          blas::gemm<T>(wg.t(), dyv, MatrixView<T>{dcols.data(), g.K, ld, ld, 1}, T(1), T(0),
                        ctx.num_threads);
          const int64_t plane = g.Cg * g.H * g.W;
          for (int64_t n = n0; n < n1; ++n) {
            T* dxn = data_as<T>(*dx) + n * dx->strides[0] + grp * g.Cg * dx->strides[1];
            T* target = dxn;
            if (!dx_dense) {
              dxbuf.resize(static_cast<size_t>(plane));
              target = dxbuf.data();
            }
            std::fill(target, target + plane, T(0));
            col2im<T>(g, dcols.data() + (n - n0) * g.P, ld, target);
            if (dx_dense) continue;
            for (int64_t c = 0; c < g.Cg; ++c)
              for (int64_t ih = 0; ih < g.H; ++ih)
                for (int64_t iw = 0; iw < g.W; ++iw)
                  dxn[c * dx->strides[1] + ih * dx->strides[2] + iw * dx->strides[3]] =
                      dxbuf[(c * g.H + ih) * g.W + iw];
          }
        }
      }
    }
  };
  if (split)
    parallel_for(blocks, 1, ctx.num_threads, run_blocks);
  else
    run_blocks(0, blocks);

  if (dw) {  // dw = sum of the blocks' partials, in block order, in double
    T* out = data_as<T>(*dw);
    const int64_t* s = dw->strides;
    const int64_t grain = std::max<int64_t>(256, kElementwiseGrain / std::max<int64_t>(1, blocks));
    parallel_for(OK, grain, ctx.num_threads, [&](int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; ++e) {
        acc_t<T> acc = 0;
        for (int64_t blk = 0; blk < blocks; ++blk) acc += partial[blk * OK + e];
        const int64_t o = e / g.K, k = e % g.K;
        const int64_t c = k / (g.kH * g.kW), i = k / g.kW % g.kH, j = k % g.kW;
        out[o * s[0] + c * s[1] + i * s[2] + j * s[3]] = T(acc);
      }
    });
  }
}

}  // namespace

// Whether the direct kernels are in play on this CPU (use_direct's CPU test;
// the shapes decide per call): kn_cpu_info reports it.
const char* conv2d_direct_isa() { return direct::cpu_ok() ? "avx512" : "off"; }

void conv2d_forward(const kn_conv2d_params& p, const kn_tensor& x, const kn_tensor& w,
                    const kn_tensor* b, const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_conv2d_forward", [&](auto tag) {
    forward_impl<decltype(tag)>(p, x, w, b, y, ctx);
  });
}

void conv2d_backward(const kn_conv2d_params& p, const kn_tensor& dy, const kn_tensor* x,
                     const kn_tensor* w, const kn_tensor* dx, const kn_tensor* dw,
                     const kn_tensor* db, const CpuContext& ctx) {
  dispatch_float(dy.dtype, "kn_conv2d_backward", [&](auto tag) {
    backward_impl<decltype(tag)>(p, dy, x, w, dx, dw, db, ctx);
  });
}

}  // namespace kn::cpu
