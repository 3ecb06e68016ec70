// Conv2d on CUDA: direct kernels, no workspace, no allocation.
//
//   x:(N,C,H,W)  w:(O,C/G,kH,kW)  b:(O)?  ->  y:(N,O,Ho,Wo);  G groups, Cg = C/G, Og = O/G
//   forward:  y[n,o,oh,ow] = b[o] + sum_{c<Cg,i,j} x[n, g*Cg+c, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
//                                                  * w[o,c,i,j]          (g = o / Og)
//             one thread per output element (grid-stride), accumulating in T.
//   dx[n,c,ih,iw] = sum_{o in group, i, j: ih = oh*sh-ph+i*dh, iw = ow*sw-pw+j*dw}
//                       dy[n,o,oh,ow] w[o, c%Cg, i, j]
//             one thread per input element, gathering from the outputs whose windows
//             cover it (no atomics), accumulating in T.
//   dw[o,c,i,j] = sum_{n,oh,ow} dy[n,o,oh,ow] x[n, g*Cg+c, oh*sh-ph+i*dh, ow*sw-pw+j*dw]
//             one block per weight element: its threads stride over N*Ho*Wo in double,
//             then block_sum (a fixed order: deterministic).
//   db[o]     = sum_{n,oh,ow} dy[n,o,oh,ow]: one block per channel, likewise.
// Any strides: every tensor is indexed with its own element strides (a 4-D strides
// struct passed by value). Launched on ctx.stream only; nothing for zero elements.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/ops/conv2d.hpp"

namespace kn::cuda {
namespace {

struct Geometry {
  int64_t N, C, H, W, O, kH, kW, Ho, Wo;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t Cg, Og;
};

struct Strides4 {
  int64_t s[4];
};

Strides4 strides_of(const kn_tensor& t) { return {{t.strides[0], t.strides[1], t.strides[2], t.strides[3]}}; }

Geometry make_geometry(const kn_conv2d_params& p, int64_t N, int64_t C, int64_t H, int64_t W,
                       int64_t O, int64_t kH, int64_t kW, int64_t Ho, int64_t Wo) {
  Geometry g{};
  g.N = N, g.C = C, g.H = H, g.W = W, g.O = O, g.kH = kH, g.kW = kW, g.Ho = Ho, g.Wo = Wo;
  g.sh = p.stride[0], g.sw = p.stride[1], g.ph = p.padding[0], g.pw = p.padding[1];
  g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.Cg = C / p.groups, g.Og = O / p.groups;
  return g;
}

constexpr int kThreads = 256;          // element-wise kernels
constexpr int kReduceThreads = 256;    // one block per reduced element (a multiple of 32)
constexpr int64_t kMaxReduceBlocks = 65535;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(Geometry g, const T* x, Strides4 xs, const T* w, Strides4 ws, const T* b,
                   int64_t bs, T* y, Strides4 ys, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += step) {
    int64_t t = idx;
    const int64_t ow = t % g.Wo;
    t /= g.Wo;
    const int64_t oh = t % g.Ho;
    t /= g.Ho;
    const int64_t o = t % g.O, n = t / g.O;
    const int64_t c0 = (o / g.Og) * g.Cg;
    T acc = b ? b[o * bs] : T(0);
    for (int64_t c = 0; c < g.Cg; ++c) {
      const T* xc = x + n * xs.s[0] + (c0 + c) * xs.s[1];
      const T* wc = w + o * ws.s[0] + c * ws.s[1];
      for (int64_t i = 0; i < g.kH; ++i) {
        const int64_t ih = oh * g.sh - g.ph + i * g.dh;
        if (ih < 0 || ih >= g.H) continue;
        for (int64_t j = 0; j < g.kW; ++j) {
          const int64_t iw = ow * g.sw - g.pw + j * g.dw;
          if (iw < 0 || iw >= g.W) continue;
          acc += xc[ih * xs.s[2] + iw * xs.s[3]] * wc[i * ws.s[2] + j * ws.s[3]];
        }
      }
    }
    y[n * ys.s[0] + o * ys.s[1] + oh * ys.s[2] + ow * ys.s[3]] = acc;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    input_grad_kernel(Geometry g, const T* dy, Strides4 dys, const T* w, Strides4 ws, T* dx,
                      Strides4 dxs, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += step) {
    int64_t t = idx;
    const int64_t iw = t % g.W;
    t /= g.W;
    const int64_t ih = t % g.H;
    t /= g.H;
    const int64_t c = t % g.C, n = t / g.C;
    const int64_t grp = c / g.Cg, cl = c % g.Cg;
    T acc = T(0);
    for (int64_t i = 0; i < g.kH; ++i) {
      const int64_t th = ih + g.ph - i * g.dh;  // = oh * sh
      if (th < 0 || th % g.sh != 0) continue;
      const int64_t oh = th / g.sh;
      if (oh >= g.Ho) continue;
      for (int64_t j = 0; j < g.kW; ++j) {
        const int64_t tw = iw + g.pw - j * g.dw;
        if (tw < 0 || tw % g.sw != 0) continue;
        const int64_t ow = tw / g.sw;
        if (ow >= g.Wo) continue;
        const T* d = dy + n * dys.s[0] + oh * dys.s[2] + ow * dys.s[3];
        const T* wk = w + cl * ws.s[1] + i * ws.s[2] + j * ws.s[3];
        for (int64_t ol = 0; ol < g.Og; ++ol) {
          const int64_t o = grp * g.Og + ol;
          acc += d[o * dys.s[1]] * wk[o * ws.s[0]];
        }
      }
    }
    dx[n * dxs.s[0] + c * dxs.s[1] + ih * dxs.s[2] + iw * dxs.s[3]] = acc;
  }
}

// One block per weight element e = ((o*Cg + c)*kH + i)*kW + j (blocks loop when there
// are more elements than blocks).
template <typename T>
__global__ void __launch_bounds__(kReduceThreads)
    weight_grad_kernel(Geometry g, const T* dy, Strides4 dys, const T* x, Strides4 xs, T* dw,
                       Strides4 dws, int64_t elements) {
  const int64_t positions = g.N * g.Ho * g.Wo;
  for (int64_t e = blockIdx.x; e < elements; e += gridDim.x) {
    int64_t t = e;
    const int64_t j = t % g.kW;
    t /= g.kW;
    const int64_t i = t % g.kH;
    t /= g.kH;
    const int64_t c = t % g.Cg, o = t / g.Cg;
    const int64_t xc = (o / g.Og) * g.Cg + c;
    double acc = 0.0;
    for (int64_t q = threadIdx.x; q < positions; q += blockDim.x) {
      const int64_t ow = q % g.Wo, oh = q / g.Wo % g.Ho, n = q / (g.Wo * g.Ho);
      const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
      acc += double(dy[n * dys.s[0] + o * dys.s[1] + oh * dys.s[2] + ow * dys.s[3]]) *
             double(x[n * xs.s[0] + xc * xs.s[1] + ih * xs.s[2] + iw * xs.s[3]]);
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) dw[o * dws.s[0] + c * dws.s[1] + i * dws.s[2] + j * dws.s[3]] = T(acc);
    __syncthreads();  // block_sum's shared memory is reused by the next element
  }
}

template <typename T>
__global__ void __launch_bounds__(kReduceThreads)
    bias_grad_kernel(Geometry g, const T* dy, Strides4 dys, T* db, int64_t dbs) {
  const int64_t positions = g.N * g.Ho * g.Wo;
  for (int64_t o = blockIdx.x; o < g.O; o += gridDim.x) {
    double acc = 0.0;
    for (int64_t q = threadIdx.x; q < positions; q += blockDim.x) {
      const int64_t ow = q % g.Wo, oh = q / g.Wo % g.Ho, n = q / (g.Wo * g.Ho);
      acc += double(dy[n * dys.s[0] + o * dys.s[1] + oh * dys.s[2] + ow * dys.s[3]]);
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) db[o * dbs] = T(acc);
    __syncthreads();
  }
}

unsigned reduce_blocks(int64_t elements) {
  return static_cast<unsigned>(std::min(elements, kMaxReduceBlocks));
}

}  // namespace

void conv2d_forward(const kn_conv2d_params& p, const kn_tensor& x, const kn_tensor& w,
                    const kn_tensor* b, const kn_tensor& y, const CudaContext& ctx) {
  CudaCall call("kn_conv2d_forward", x, ctx);
  const Geometry g = make_geometry(p, x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0],
                                   w.shape[2], w.shape[3], y.shape[2], y.shape[3]);
  const int64_t total = numel(y);
  if (total == 0) return;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    const LaunchConfig cfg = call.grid_stride(total, kThreads);
    forward_kernel<T><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
        g, data_as<const T>(x), strides_of(x), data_as<const T>(w), strides_of(w),
        b ? data_as<const T>(*b) : nullptr, b ? b->strides[0] : 0, data_as<T>(y), strides_of(y),
        total);
    call.check_launch("conv2d forward_kernel");
  });
}

void conv2d_backward(const kn_conv2d_params& p, const kn_tensor& dy, const kn_tensor* x,
                     const kn_tensor* w, const kn_tensor* dx, const kn_tensor* dw,
                     const kn_tensor* db, const CudaContext& ctx) {
  CudaCall call("kn_conv2d_backward", dy, ctx);
  // C, H, W from x or dx and kH, kW from w or dw (validated to agree); when neither is
  // given, only db is requested and they are not used.
  const kn_tensor* in = x ? x : dx;
  const kn_tensor* ker = w ? w : dw;
  const Geometry g = make_geometry(p, dy.shape[0], in ? in->shape[1] : 0, in ? in->shape[2] : 0,
                                   in ? in->shape[3] : 0, dy.shape[1], ker ? ker->shape[2] : 1,
                                   ker ? ker->shape[3] : 1, dy.shape[2], dy.shape[3]);
  dispatch_float(dy.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    if (db && g.O > 0) {
      bias_grad_kernel<T><<<reduce_blocks(g.O), kReduceThreads, 0, call.stream()>>>(
          g, data_as<const T>(dy), strides_of(dy), data_as<T>(*db), db->strides[0]);
      call.check_launch("conv2d bias_grad_kernel");
    }
    if (dw && numel(*dw) > 0) {
      const int64_t elements = numel(*dw);
      weight_grad_kernel<T><<<reduce_blocks(elements), kReduceThreads, 0, call.stream()>>>(
          g, data_as<const T>(dy), strides_of(dy), data_as<const T>(*x), strides_of(*x),
          data_as<T>(*dw), strides_of(*dw), elements);
      call.check_launch("conv2d weight_grad_kernel");
    }
    if (dx && numel(*dx) > 0) {
      const int64_t total = numel(*dx);
      const LaunchConfig cfg = call.grid_stride(total, kThreads);
      input_grad_kernel<T><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
          g, data_as<const T>(dy), strides_of(dy), data_as<const T>(*w), strides_of(*w),
          data_as<T>(*dx), strides_of(*dx), total);
      call.check_launch("conv2d input_grad_kernel");
    }
  });
}

}  // namespace kn::cuda
