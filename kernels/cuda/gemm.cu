// GEMM and column sums on strided matrix views, on CUDA: written once for
// every op built on them (linear, rnn). See gemm.cuh.
//
// GEMM, c = alpha a b + beta c on strided MatrixViews (a transpose is a view
// with swapped strides, as on the CPU, kernels/internal/blas.hpp):
//   - cuBLAS (when built with KN_WITH_CUBLAS) wherever the layout maps onto
//     its column-major interface: a row-major view (col stride 1) is the
//     column-major transpose, a column-major view (row stride 1) is itself;
//   - otherwise the built-in tiled kernel below, which takes any row and
//     column strides (negative, 0) directly, so nothing is ever packed into
//     a temporary copy (no allocation per call).
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#ifdef KN_WITH_CUBLAS
#include <cublas_v2.h>
#endif

#include "kernels/cuda/gemm.cuh"

namespace kn::cuda {
namespace {

// ----------------------------------------------------- built-in tiled GEMM
//
// c:(M,N) = alpha a:(M,K) b:(K,N) + beta c. A block computes a kTile x kTile
// tile of c, walking K in steps of kTileK through shared-memory tiles of a and
// b; each of its 16 x 16 threads owns a 4 x 4 register tile of c at rows
// ty + 16 i and columns tx + 16 j (so neighbouring threads touch neighbouring
// shared-memory words: no bank conflicts when reading the tiles).

constexpr int kTile = 64, kTileK = 16, kThreadsX = 16, kThreadsY = 16;
constexpr int kMicro = kTile / kThreadsX;  // 4
constexpr int kGemmThreads = kThreadsX * kThreadsY;

template <typename T>
struct GemmArgs {
  const T* a;
  const T* b;
  T* c;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs, c_cs;  // element strides, any sign
  int64_t M, N, K;
  T alpha, beta;
  // Which tile dim consecutive threads load: the one with the unit-ish stride,
  // so global loads coalesce for row-major and for transposed operands alike.
  bool a_k_fast, b_n_fast;
};

template <typename T>
__global__ void __launch_bounds__(kGemmThreads) gemm_tiled_kernel(GemmArgs<T> g) {
  // +1 column of padding: loads that walk the k dim write down a column.
  __shared__ T As[kTileK][kTile + 1];  // As[k][m]
  __shared__ T Bs[kTileK][kTile + 1];  // Bs[k][n]
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int64_t m0 = int64_t(blockIdx.x) * kTile;
  const int64_t tiles_n = (g.N + kTile - 1) / kTile;

  // gridDim.y is limited to 65535: loop over the column tiles it does not cover.
  for (int64_t tn = blockIdx.y; tn < tiles_n; tn += gridDim.y) {
    const int64_t n0 = tn * kTile;
    T acc[kMicro][kMicro] = {};
    for (int64_t k0 = 0; k0 < g.K; k0 += kTileK) {
      // Each thread loads kTile * kTileK / kGemmThreads = 4 elements of each tile.
#pragma unroll
      for (int r = 0; r < kTile * kTileK / kGemmThreads; ++r) {
        const int l = tid + r * kGemmThreads;
        const int ak = g.a_k_fast ? l % kTileK : l / kTile;
        const int am = g.a_k_fast ? l / kTileK : l % kTile;
        const int64_t gm = m0 + am, gk = k0 + ak;
        As[ak][am] = gm < g.M && gk < g.K ? g.a[gm * g.a_rs + gk * g.a_cs] : T(0);
        const int bn = g.b_n_fast ? l % kTile : l / kTileK;
        const int bk = g.b_n_fast ? l / kTile : l % kTileK;
        const int64_t gn = n0 + bn, gk2 = k0 + bk;
        Bs[bk][bn] = gn < g.N && gk2 < g.K ? g.b[gk2 * g.b_rs + gn * g.b_cs] : T(0);
      }
      __syncthreads();
#pragma unroll
      for (int k = 0; k < kTileK; ++k) {
        T af[kMicro], bf[kMicro];
#pragma unroll
        for (int i = 0; i < kMicro; ++i) af[i] = As[k][ty + kThreadsY * i];
#pragma unroll
        for (int j = 0; j < kMicro; ++j) bf[j] = Bs[k][tx + kThreadsX * j];
#pragma unroll
        for (int i = 0; i < kMicro; ++i)
#pragma unroll
          for (int j = 0; j < kMicro; ++j) acc[i][j] += af[i] * bf[j];
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < kMicro; ++i) {
      const int64_t m = m0 + ty + kThreadsY * i;
      if (m >= g.M) continue;
#pragma unroll
      for (int j = 0; j < kMicro; ++j) {
        const int64_t n = n0 + tx + kThreadsX * j;
        if (n >= g.N) continue;
        T* c = g.c + m * g.c_rs + n * g.c_cs;
        // beta == 0 ignores c's old contents, NaN included (BLAS semantics).
        *c = g.beta == T(0) ? g.alpha * acc[i][j] : g.alpha * acc[i][j] + g.beta * *c;
      }
    }
  }
}

template <typename T>
void gemm_tiled(CudaCall& call, MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c,
                T alpha, T beta) {
  // Writes coalesce along n (threadIdx.x): for a column-major c compute
  // c^T = b^T a^T instead, whose rows are c's columns.
  if (c.rows > 1 && c.cols > 1 && std::llabs(c.row_stride) < std::llabs(c.col_stride)) {
    const MatrixView<const T> at = a.t();
    a = b.t(), b = at, c = c.t();
  }
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  const GemmArgs<T> g{a.data,         b.data,         c.data, a.row_stride, a.col_stride,
                      b.row_stride,   b.col_stride,   c.row_stride, c.col_stride, M, N, K,
                      alpha,          beta,
                      std::llabs(a.col_stride) <= std::llabs(a.row_stride),
                      std::llabs(b.col_stride) <= std::llabs(b.row_stride)};
  const int64_t tiles_m = (M + kTile - 1) / kTile, tiles_n = (N + kTile - 1) / kTile;
  if (tiles_m > INT32_MAX)
    fail(KN_ERR_UNSUPPORTED, call.op(), ": GEMM with ", M, " rows exceeds the CUDA grid");
  const dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(std::min<int64_t>(tiles_n, 65535)));
  gemm_tiled_kernel<T><<<grid, dim3(kThreadsX, kThreadsY), 0, call.stream()>>>(g);
  call.check_launch("gemm_tiled_kernel");
}

// --------------------------------------------------------------- cuBLAS
#ifdef KN_WITH_CUBLAS

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

void check_cublas(cublasStatus_t s, const char* op, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(KN_ERR_BACKEND, op, ": ", what, " failed: ", cublas_status_name(s));
}

// cuBLAS handles, one per (thread, device), created on first use: creating a
// handle is the only allocation the CUDA kernels ever make. A thread that
// exits hands its handles to a process-wide pool for the next new thread
// (no leak with thread churn); handles are never destroyed, because at
// process exit the CUDA context may already be gone (as PyTorch does).
struct HandlePool {
  std::mutex mutex;
  std::vector<std::pair<int, cublasHandle_t>> free;
};

HandlePool& handle_pool() {
  static HandlePool* pool = new HandlePool;  // intentionally leaked, see above
  return *pool;
}

struct ThreadHandles {
  std::vector<std::pair<int, cublasHandle_t>> mine;
  ~ThreadHandles() {
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.free.insert(pool.free.end(), mine.begin(), mine.end());
  }
};

cublasHandle_t cublas_handle(const CudaCall& call) {
  thread_local ThreadHandles handles;
  for (const auto& [device, handle] : handles.mine)
    if (device == call.device()) return handle;
  cublasHandle_t handle = nullptr;
  {
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (auto it = pool.free.begin(); it != pool.free.end(); ++it)
      if (it->first == call.device()) {
        handle = it->second;
        pool.free.erase(it);
        break;
      }
  }
  if (!handle) check_cublas(cublasCreate(&handle), call.op(), "cublasCreate");
  handles.mine.emplace_back(call.device(), handle);
  return handle;
}

// v as column-major storage with leading dimension ld (>= rows), if its
// strides allow; strides of size-1 dims never matter and are ignored. The
// mirror image of the CPU's row_major() in kernels/internal/blas.cpp.
template <typename T>
bool column_major(const MatrixView<T>& v, int64_t& ld) {
  if (v.rows > 1 && v.row_stride != 1) return false;
  ld = v.cols > 1 ? v.col_stride : std::max<int64_t>(1, v.rows);
  return ld >= std::max<int64_t>(1, v.rows) && ld <= INT32_MAX;
}

// An operand as cuBLAS takes it: op(x) with x column-major, leading dim ld.
template <typename T>
bool cublas_operand(const MatrixView<const T>& v, cublasOperation_t& op, int64_t& ld) {
  if (column_major(v, ld)) return op = CUBLAS_OP_N, true;
  if (column_major(v.t(), ld)) return op = CUBLAS_OP_T, true;
  return false;
}

// c = alpha a b + beta c through cuBLAS; false (nothing done) when a layout
// or an extent does not fit its interface. Requires M, N, K > 0.
template <typename T>
bool gemm_cublas(CudaCall& call, MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c,
                 T alpha, T beta) {
  int64_t ldc;
  if (!column_major(c, ldc)) {
    // A row-major c is a column-major c^T = b^T a^T.
    if (!column_major(c.t(), ldc)) return false;
    const MatrixView<const T> at = a.t();
    a = b.t(), b = at, c = c.t();
  }
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return false;
  cublasOperation_t op_a, op_b;
  int64_t lda, ldb;
  if (!cublas_operand(a, op_a, lda) || !cublas_operand(b, op_b, ldb)) return false;

  cublasHandle_t handle = cublas_handle(call);
  // Every call: the handle is shared by all calls of this thread on this device.
  check_cublas(cublasSetStream(handle, call.stream()), call.op(), "cublasSetStream");
  cublasStatus_t s;
  if constexpr (sizeof(T) == 4)
    s = cublasSgemm(handle, op_a, op_b, int(M), int(N), int(K), &alpha, a.data, int(lda), b.data,
                    int(ldb), &beta, c.data, int(ldc));
  else
    s = cublasDgemm(handle, op_a, op_b, int(M), int(N), int(K), &alpha, a.data, int(lda), b.data,
                    int(ldb), &beta, c.data, int(ldc));
  check_cublas(s, call.op(), sizeof(T) == 4 ? "cublasSgemm" : "cublasDgemm");
  return true;
}

#endif  // KN_WITH_CUBLAS

// c = alpha a b + beta c;  a:(M,K) b:(K,N) c:(M,N), any strides.
// beta == 0 ignores c's old contents; K == 0 gives beta c (defined here, not
// left to cuBLAS).
}  // namespace

template <typename T>
void gemm(CudaCall& call, MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha,
          T beta) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M == 0 || N == 0) return;
  if (K == 0 && beta == T(1)) return;  // c = 1 c
#ifdef KN_WITH_CUBLAS
  if (K > 0 && gemm_cublas<T>(call, a, b, c, alpha, beta)) return;
#endif
  gemm_tiled<T>(call, a, b, c, alpha, beta);
}

// --------------------------------------------------------- column sums

namespace {

// db[c] = sum_r dy[r, c]. A block owns 32 columns; its 32 x 8 threads each
// sum every 8th row of one column in double, then row 0 of the block adds the
// 8 partials in order: deterministic, and a warp reads 32 neighbouring
// columns of one row (coalesced for a row-major dy).
constexpr int kSumCols = 32, kSumRows = 8;

template <typename T>
__global__ void __launch_bounds__(kSumCols * kSumRows)
    column_sum_kernel(const T* dy, int64_t rows, int64_t cols, int64_t rs, int64_t cs, T* db,
                      int64_t db_stride) {
  __shared__ double partial[kSumRows][kSumCols];
  const int64_t col = int64_t(blockIdx.x) * kSumCols + threadIdx.x;
  double acc = 0.0;
  if (col < cols)
    for (int64_t r = threadIdx.y; r < rows; r += kSumRows) acc += double(dy[r * rs + col * cs]);
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    double sum = 0.0;
#pragma unroll
    for (int i = 0; i < kSumRows; ++i) sum += partial[i][threadIdx.x];
    db[col * db_stride] = T(sum);
  }
}

}  // namespace

template <typename T>
void column_sum(CudaCall& call, MatrixView<const T> a, T* out, int64_t out_stride) {
  if (a.cols == 0) return;
  const int64_t blocks = (a.cols + kSumCols - 1) / kSumCols;
  if (blocks > INT32_MAX)
    fail(KN_ERR_UNSUPPORTED, call.op(), ": a column sum of ", a.cols, " columns exceeds the CUDA grid");
  column_sum_kernel<T><<<static_cast<unsigned>(blocks), dim3(kSumCols, kSumRows), 0,
                         call.stream()>>>(a.data, a.rows, a.cols, a.row_stride, a.col_stride, out,
                                          out_stride);
  call.check_launch("column_sum_kernel");
}

template void gemm<float>(CudaCall&, MatrixView<const float>, MatrixView<const float>,
                          MatrixView<float>, float, float);
template void gemm<double>(CudaCall&, MatrixView<const double>, MatrixView<const double>,
                           MatrixView<double>, double, double);
template void column_sum<float>(CudaCall&, MatrixView<const float>, float*, int64_t);
template void column_sum<double>(CudaCall&, MatrixView<const double>, double*, int64_t);

}  // namespace kn::cuda
