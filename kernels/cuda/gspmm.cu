// gSpMM on CUDA (maths as kernels/cpu/gspmm.cpp).
//
//   forward:  one warp per destination row v (grid-stride over rows), lanes
//             over f (coalesced x row reads), each lane looping over the row's
//             edges in order; MAX / MIN keep the winning edge (first on ties,
//             a NaN wins and stays) in arg.
//   dx:       one warp per source row u over the transposed graph, lanes
//             over f, edges in t order: each dx element written by one lane.
//   dedge:    one warp per destination row; per edge, lanes take f, f + 32,
//             ... and a warp-shuffle tree sums them (fixed order).
//   csr_transpose: zero t_indptr, count edges per source (integer atomics)
//             into t_indptr[u], one block scans it (t_indptr[u] = end of u's
//             segment, t_indptr[U] = E), the fill decrements t_indptr[u] with
//             an integer atomic (leaving t_indptr[u] = start of u), then one
//             thread per source sorts its segment by edge position (insertion
//             sort: the atomic fill order is arbitrary, the result is not).
//
// Deterministic (no float atomics), no allocation, no sync, only ctx.stream.
// CUDA calls are not scanned by capi/ (that would need a sync): an index out
// of range is skipped (an edge whose source is out of range contributes
// nothing; an indptr entry is clamped to [0, E]) instead of read out of bounds.
#include "kernels/cuda/common.cuh"
#include "kernels/ops/gspmm.hpp"

namespace kn::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr int kScanThreads = 1024;

// A strided 1-d index tensor, read as int64.
template <typename I>
struct DIdx {
  const I* p;
  int64_t s;
  __device__ __forceinline__ int64_t operator[](int64_t i) const { return static_cast<int64_t>(p[i * s]); }
};

template <typename I>
DIdx<I> didx(const kn_tensor& t) {
  return {static_cast<const I*>(t.data), t.strides[0]};
}

__device__ __forceinline__ int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

__device__ __forceinline__ int64_t warp_id() {
  return int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
}
__device__ __forceinline__ int64_t warp_count() { return int64_t(gridDim.x) * kWarpsPerBlock; }

// ---------------------------------------------------------------- forward

template <typename T, typename I>
struct FwdArgs {
  DIdx<I> ip, ix;
  int64_t V, U, E, F;
  const T* w;
  int64_t ws;
  const T* x;
  int64_t xs0, xs1;
  T* y;
  int64_t ys0, ys1;
  void* arg;
  int64_t as0, as1;
  bool arg64, mean;
  int reduce;  // kn_gspmm_reduce
};

template <typename T, typename I>
__global__ void __launch_bounds__(kThreads) gspmm_forward_kernel(FwdArgs<T, I> a) {
  const int lane = threadIdx.x & 31;
  for (int64_t v = warp_id(); v < a.V; v += warp_count()) {
    const int64_t k0 = clamp64(a.ip[v], 0, a.E), k1 = clamp64(a.ip[v + 1], k0, a.E);
    for (int64_t f = lane; f < a.F; f += 32) {
      T acc = T(0);
      int64_t at = -1;
      const bool arg_red = a.reduce == KN_GSPMM_MAX || a.reduce == KN_GSPMM_MIN;
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t u = a.ix[k];
        if (u < 0 || u >= a.U) continue;
        const T m = a.x[u * a.xs0 + f * a.xs1] * (a.w ? a.w[k * a.ws] : T(1));
        if (!arg_red) {
          acc += m;
        } else {
          const bool better = a.reduce == KN_GSPMM_MAX ? m > acc : m < acc;
          if (at < 0 || better || (m != m && acc == acc)) acc = m, at = k;
        }
      }
      if (a.mean && k1 > k0) acc = acc / static_cast<T>(k1 - k0);
      a.y[v * a.ys0 + f * a.ys1] = acc;  // 0 for an empty row (at < 0: acc untouched)
      if (arg_red) {
        if (a.arg64)
          static_cast<int64_t*>(a.arg)[v * a.as0 + f * a.as1] = at;
        else
          static_cast<int32_t*>(a.arg)[v * a.as0 + f * a.as1] = static_cast<int32_t>(at);
      }
    }
  }
}

// ---------------------------------------------------------------- backward

template <typename T, typename I, typename A>
struct BwdArgs {
  DIdx<I> ip, ix, tp, ti, te;
  int64_t V, U, E, F;
  const T* w;
  int64_t ws;
  const T* dy;
  int64_t dys0, dys1;
  const T* x;
  int64_t xs0, xs1;
  const A* arg;
  int64_t as0, as1;
  T* dx;
  int64_t dxs0, dxs1;
  T* de;
  int64_t des;
  bool mean, arg_red;
};

template <typename T, typename I, typename A>
__global__ void __launch_bounds__(kThreads) gspmm_dx_kernel(BwdArgs<T, I, A> a) {
  const int lane = threadIdx.x & 31;
  for (int64_t u = warp_id(); u < a.U; u += warp_count()) {
    const int64_t t0 = clamp64(a.tp[u], 0, a.E), t1 = clamp64(a.tp[u + 1], t0, a.E);
    for (int64_t f = lane; f < a.F; f += 32) {
      T acc = T(0);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t v = a.ti[t], k = a.te[t];
        if (v < 0 || v >= a.V || k < 0 || k >= a.E) continue;
        T c = a.w ? a.w[k * a.ws] : T(1);
        if (a.arg_red) {
          if (static_cast<int64_t>(a.arg[v * a.as0 + f * a.as1]) != k) continue;
        } else if (a.mean) {
          const int64_t len = a.ip[v + 1] - a.ip[v];
          if (len <= 0) continue;
          c = c / static_cast<T>(len);
        }
        acc += a.dy[v * a.dys0 + f * a.dys1] * c;
      }
      a.dx[u * a.dxs0 + f * a.dxs1] = acc;
    }
  }
}

template <typename T, typename I, typename A>
__global__ void __launch_bounds__(kThreads) gspmm_dedge_kernel(BwdArgs<T, I, A> a) {
  const int lane = threadIdx.x & 31;
  for (int64_t v = warp_id(); v < a.V; v += warp_count()) {
    const int64_t k0 = clamp64(a.ip[v], 0, a.E), k1 = clamp64(a.ip[v + 1], k0, a.E);
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t u = a.ix[k];
      const bool ok = u >= 0 && u < a.U;
      T s = T(0);
      if (ok)
        for (int64_t f = lane; f < a.F; f += 32) {
          if (a.arg_red && static_cast<int64_t>(a.arg[v * a.as0 + f * a.as1]) != k) continue;
          s += a.dy[v * a.dys0 + f * a.dys1] * a.x[u * a.xs0 + f * a.xs1];
        }
      for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
      if (lane == 0) {
        if (!a.arg_red && a.mean) s = s / static_cast<T>(k1 - k0);
        a.de[k * a.des] = s;
      }
    }
  }
}

// ---------------------------------------------------------------- transpose

template <typename I>
__device__ __forceinline__ int64_t atomic_add_index(I* p, I delta) {
  if constexpr (sizeof(I) == 8) {
    return static_cast<int64_t>(atomicAdd(reinterpret_cast<unsigned long long*>(p),
                                          static_cast<unsigned long long>(delta)));
  } else {
    return static_cast<int64_t>(atomicAdd(reinterpret_cast<int*>(p), static_cast<int>(delta)));
  }
}

template <typename I>
__global__ void zero_kernel(I* p, int64_t s, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i * s] = I(0);
}

template <typename I>
__global__ void count_kernel(DIdx<I> ix, int64_t E, int64_t U, I* tp, int64_t tps) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < E; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t u = ix[k];
    if (u >= 0 && u < U) atomic_add_index<I>(tp + u * tps, I(1));
  }
}

// One block: tp[0..U) = inclusive prefix sums of the counts, tp[U] = total.
template <typename I>
__global__ void __launch_bounds__(kScanThreads) scan_kernel(I* tp, int64_t s, int64_t U) {
  __shared__ long long part[kScanThreads];
  const int tid = threadIdx.x;
  const int64_t chunk = (U + kScanThreads - 1) / kScanThreads;
  const int64_t b = tid * chunk, e = b + chunk < U ? b + chunk : U;
  long long sum = 0;
  for (int64_t i = b; i < e; ++i) sum += static_cast<long long>(tp[i * s]);
  part[tid] = sum;
  __syncthreads();
  if (tid == 0) {
    long long run = 0;
    for (int j = 0; j < kScanThreads; ++j) {
      const long long t = part[j];
      part[j] = run;
      run += t;
    }
    tp[U * s] = static_cast<I>(run);
  }
  __syncthreads();
  long long run = part[tid];
  for (int64_t i = b; i < e; ++i) {
    run += static_cast<long long>(tp[i * s]);
    tp[i * s] = static_cast<I>(run);
  }
}

// One warp per destination row: each edge takes a slot of its source's segment.
template <typename I>
__global__ void __launch_bounds__(kThreads) fill_kernel(DIdx<I> ip, DIdx<I> ix, int64_t V, int64_t U,
                                                        int64_t E, I* tp, int64_t tps, I* ti,
                                                        int64_t tis, I* te, int64_t tes) {
  const int lane = threadIdx.x & 31;
  for (int64_t v = warp_id(); v < V; v += warp_count()) {
    const int64_t k0 = clamp64(ip[v], 0, E), k1 = clamp64(ip[v + 1], k0, E);
    for (int64_t k = k0 + lane; k < k1; k += 32) {
      const int64_t u = ix[k];
      if (u < 0 || u >= U) continue;
      const int64_t pos = atomic_add_index<I>(tp + u * tps, I(-1)) - 1;
      if (pos < 0 || pos >= E) continue;  // only with a bad (overlapping-row) indptr
      ti[pos * tis] = static_cast<I>(v);
      te[pos * tes] = static_cast<I>(k);
    }
  }
}

// One thread per source: sort its segment by edge position.
template <typename I>
__global__ void sort_kernel(const I* tp, int64_t tps, int64_t U, I* ti, int64_t tis, I* te, int64_t tes) {
  for (int64_t u = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; u < U; u += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = tp[u * tps], e = tp[(u + 1) * tps];
    for (int64_t i = b + 1; i < e; ++i) {
      const I key = te[i * tes], val = ti[i * tis];
      int64_t j = i - 1;
      while (j >= b && te[j * tes] > key) {
        te[(j + 1) * tes] = te[j * tes];
        ti[(j + 1) * tis] = ti[j * tis];
        --j;
      }
      te[(j + 1) * tes] = key;
      ti[(j + 1) * tis] = val;
    }
  }
}

}  // namespace

void csr_transpose(const kn_tensor& indptr, const kn_tensor& indices, const kn_tensor& t_indptr,
                   const kn_tensor& t_indices, const kn_tensor& t_edge_ids, const CudaContext& ctx) {
  CudaCall call("kn_csr_transpose", indptr, ctx);
  dispatch_index(indptr.dtype, call.op(), [&](auto itag) {
    using I = decltype(itag);
    const int64_t V = indptr.shape[0] - 1, U = t_indptr.shape[0] - 1, E = indices.shape[0];
    I* tp = static_cast<I*>(t_indptr.data);
    I* ti = static_cast<I*>(t_indices.data);
    I* te = static_cast<I*>(t_edge_ids.data);
    const int64_t tps = t_indptr.strides[0], tis = t_indices.strides[0], tes = t_edge_ids.strides[0];
    const cudaStream_t st = call.stream();
    LaunchConfig cfg = call.grid_stride(U + 1, kThreads);
    zero_kernel<I><<<cfg.blocks, cfg.threads, 0, st>>>(tp, tps, U + 1);
    call.check_launch("zero_kernel");
    if (E > 0 && U > 0) {
      cfg = call.grid_stride(E, kThreads);
      count_kernel<I><<<cfg.blocks, cfg.threads, 0, st>>>(didx<I>(indices), E, U, tp, tps);
      call.check_launch("count_kernel");
    }
    if (U > 0) {
      scan_kernel<I><<<1, kScanThreads, 0, st>>>(tp, tps, U);
      call.check_launch("scan_kernel");
    }
    if (E > 0 && U > 0 && V > 0) {
      cfg = call.grid_stride(V * 32, kThreads);
      fill_kernel<I><<<cfg.blocks, cfg.threads, 0, st>>>(didx<I>(indptr), didx<I>(indices), V, U, E, tp,
                                                          tps, ti, tis, te, tes);
      call.check_launch("fill_kernel");
      cfg = call.grid_stride(U, 128);
      sort_kernel<I><<<cfg.blocks, cfg.threads, 0, st>>>(tp, tps, U, ti, tis, te, tes);
      call.check_launch("sort_kernel");
    }
  });
}

void gspmm_forward(const kn_gspmm_params& p, const kn_tensor& indptr, const kn_tensor& indices,
                   const kn_tensor* edge_values, const kn_tensor& x, const kn_tensor& y,
                   const kn_tensor* arg, const CudaContext& ctx) {
  CudaCall call("kn_gspmm_forward", indptr, ctx);
  const int64_t V = indptr.shape[0] - 1, F = x.shape[1];
  if (V == 0 || F == 0) return;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indptr.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      FwdArgs<T, I> a{};
      a.ip = didx<I>(indptr), a.ix = didx<I>(indices);
      a.V = V, a.U = x.shape[0], a.E = indices.shape[0], a.F = F;
      if (edge_values && p.message == KN_GSPMM_U_MUL_E)
        a.w = static_cast<const T*>(edge_values->data), a.ws = edge_values->strides[0];
      a.x = static_cast<const T*>(x.data), a.xs0 = x.strides[0], a.xs1 = x.strides[1];
      a.y = static_cast<T*>(y.data), a.ys0 = y.strides[0], a.ys1 = y.strides[1];
      if (arg)
        a.arg = arg->data, a.as0 = arg->strides[0], a.as1 = arg->strides[1], a.arg64 = arg->dtype == KN_INT64;
      a.mean = p.reduce == KN_GSPMM_MEAN;
      a.reduce = p.reduce;
      const LaunchConfig cfg = call.grid_stride(V * 32, kThreads);
      gspmm_forward_kernel<T, I><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(a);
      call.check_launch("gspmm_forward_kernel");
    });
  });
}

void gspmm_backward(const kn_gspmm_params& p, const kn_tensor& dy, const kn_tensor& indptr,
                    const kn_tensor& indices, const kn_tensor* t_indptr, const kn_tensor* t_indices,
                    const kn_tensor* t_edge_ids, const kn_tensor* edge_values, const kn_tensor* x,
                    const kn_tensor* arg, const kn_tensor* dx, const kn_tensor* dedge,
                    const CudaContext& ctx) {
  CudaCall call("kn_gspmm_backward", indptr, ctx);
  dispatch_float(dy.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indptr.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      dispatch_index(arg ? arg->dtype : KN_INT64, call.op(), [&](auto atag) {
        using A = decltype(atag);
        BwdArgs<T, I, A> a{};
        a.ip = didx<I>(indptr), a.ix = didx<I>(indices);
        if (t_indptr) a.tp = didx<I>(*t_indptr);
        if (t_indices) a.ti = didx<I>(*t_indices);
        if (t_edge_ids) a.te = didx<I>(*t_edge_ids);
        a.V = indptr.shape[0] - 1, a.E = indices.shape[0], a.F = dy.shape[1];
        a.U = dx ? dx->shape[0] : x ? x->shape[0] : 0;
        if (edge_values && p.message == KN_GSPMM_U_MUL_E)
          a.w = static_cast<const T*>(edge_values->data), a.ws = edge_values->strides[0];
        a.dy = static_cast<const T*>(dy.data), a.dys0 = dy.strides[0], a.dys1 = dy.strides[1];
        if (x) a.x = static_cast<const T*>(x->data), a.xs0 = x->strides[0], a.xs1 = x->strides[1];
        if (arg) a.arg = static_cast<const A*>(arg->data), a.as0 = arg->strides[0], a.as1 = arg->strides[1];
        a.mean = p.reduce == KN_GSPMM_MEAN;
        a.arg_red = p.reduce == KN_GSPMM_MAX || p.reduce == KN_GSPMM_MIN;
        if (dx && numel(*dx) > 0) {
          a.dx = static_cast<T*>(dx->data), a.dxs0 = dx->strides[0], a.dxs1 = dx->strides[1];
          const LaunchConfig cfg = call.grid_stride(a.U * 32, kThreads);
          gspmm_dx_kernel<T, I, A><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(a);
          call.check_launch("gspmm_dx_kernel");
        }
        if (dedge && numel(*dedge) > 0 && a.V > 0) {
          a.de = static_cast<T*>(dedge->data), a.des = dedge->strides[0];
          const LaunchConfig cfg = call.grid_stride(a.V * 32, kThreads);
          gspmm_dedge_kernel<T, I, A><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(a);
          call.check_launch("gspmm_dedge_kernel");
        }
      });
    });
  });
}

}  // namespace kn::cuda
