/*
 * kernels/core.h -- the types and library functions of the libkernels C ABI.
 *
 * Included by kernels/kernels.h (the one header a C program includes), as is
 * one header per operator (kernels/<op>.h). It is plain C99: no C++ types, and no C++
 * exception ever crosses it. Every function returns a kn_status; on failure
 * kn_last_error() returns a one-line message naming the op, the argument and
 * what was expected versus given.
 *
 * Conventions for every operator
 * ------------------------------
 *  - Tensors are passed as non-owning kn_tensor views. The caller owns all
 *    memory, allocates every output, and keeps it alive for the call (and,
 *    for CUDA, until the work queued on ex->stream has finished).
 *  - Outputs are overwritten (=), never accumulated into (+=).
 *  - Any strides are accepted, in ELEMENTS: transposed and sliced views,
 *    negative strides, and stride 0 (broadcast) on inputs. An output must not
 *    overlap itself: ordered by |stride|, each of its dims (longer than 1)
 *    must step past everything the smaller dims span -- true of every view
 *    made by slicing, transposing or permuting dense memory; stride 0 fails.
 *    An output must not overlap any other argument's byte range. Element-wise
 *    ops allow an output that is exactly an input (same data, same strides):
 *    in-place.
 *  - Every argument is validated before any memory is touched.
 *  - All tensors of one call live on one device. CPU tensors run the CPU
 *    kernels (OpenMP threads, OpenBLAS for GEMM); CUDA tensors run the CUDA
 *    kernels, queued on ex->stream without any device synchronisation or
 *    allocation. A CUDA tensor given to a build without CUDA is
 *    KN_ERR_NOT_BUILT.
 *  - `ex` may be NULL: default stream, default threads, no workspace.
 *  - Entry points are thread-safe: many threads may call concurrently.
 *
 * Shapes are written outermost first, e.g. x:(N,in) means shape[0] = N.
 */
#ifndef KERNELS_CORE_H_
#define KERNELS_CORE_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#  define KN_API __attribute__((visibility("default")))
#else
#  define KN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions */

#define KN_ABI_VERSION_MAJOR 0 /* bumped on a layout or signature break       */
#define KN_ABI_VERSION_MINOR 8 /* additive changes only; a changed fn gets _v2 */
#define KN_MAX_DIMS 8

/* ----------------------------------------------------------------- status */

typedef enum {
  KN_OK = 0,
  KN_ERR_INVALID_ARGUMENT,   /* NULL where not allowed, bad enum, bad ndim, overlap */
  KN_ERR_SHAPE_MISMATCH,     /* tensors whose shapes do not agree              */
  KN_ERR_UNSUPPORTED,        /* dtype/device/layout not implemented            */
  KN_ERR_NOT_BUILT,          /* e.g. a CUDA tensor, library built without CUDA */
  KN_ERR_WORKSPACE_TOO_SMALL,
  KN_ERR_OUT_OF_MEMORY,
  KN_ERR_BACKEND,            /* CUDA / cuBLAS / OpenBLAS failure               */
  KN_ERR_INTERNAL
} kn_status;

/* Device codes equal DLPack's kDLCPU / kDLCUDA. */
typedef enum { KN_DEVICE_CPU = 1, KN_DEVICE_CUDA = 2 } kn_device_type;

typedef enum {
  KN_FLOAT32 = 0, KN_FLOAT64, KN_FLOAT16, KN_BFLOAT16,
  KN_INT32, KN_INT64, KN_UINT8, KN_BOOL
} kn_dtype;

/* A non-owning view of a strided array. */
typedef struct {
  void*   data;        /* first element, storage offset already applied      */
  int32_t dtype;       /* a kn_dtype                                          */
  int32_t device_type; /* a kn_device_type                                    */
  int32_t device_id;   /* CUDA ordinal; 0 for CPU                             */
  int32_t ndim;        /* 0 (a scalar) .. KN_MAX_DIMS                         */
  int64_t shape[KN_MAX_DIMS];   /* outermost first; entries >= 0              */
  int64_t strides[KN_MAX_DIMS]; /* in ELEMENTS, always set; 0 and negative OK */
} kn_tensor;

/* Per-call execution context. A NULL kn_exec* means all defaults. */
typedef struct {
  void*    stream;          /* cudaStream_t for CUDA ops; NULL = legacy default stream; ignored on CPU */
  void*    workspace;       /* caller-allocated scratch on the op's device (no op needs it yet) */
  size_t   workspace_bytes;
  int32_t  num_threads;     /* CPU: 0 = library default, 1 = serial, n = at most n threads */
  uint32_t flags;           /* reserved, must be 0 */
} kn_exec;

/* ------------------------------------------------------------ the library */

/* A static string such as "KN_ERR_SHAPE_MISMATCH"; never NULL. */
KN_API const char* kn_status_string(kn_status s);

/* The message of the most recent kn_* call on THIS thread if it failed, or
 * "" if it succeeded (every call clears it on entry). The pointer stays valid
 * until the next kn_* call on this thread. */
KN_API const char* kn_last_error(void);

/* (KN_ABI_VERSION_MAJOR << 16) | KN_ABI_VERSION_MINOR of the loaded library.
 * Compare the major part with the header you compiled against. */
KN_API uint32_t kn_abi_version(void);

/* The release, e.g. "0.2.0". */
KN_API const char* kn_version_string(void);

/* 1 if this build contains the CUDA kernels, else 0. (Whether a GPU is
 * present at run time is the caller's business: cudaGetDeviceCount.) */
KN_API int32_t kn_has_cuda(void);

/* Library default CPU thread count used when kn_exec.num_threads is 0.
 * n >= 1; n = 0 restores the default (the OpenMP default, i.e. the number of
 * cores or OMP_NUM_THREADS). Negative n is KN_ERR_INVALID_ARGUMENT. */
KN_API kn_status kn_set_num_threads(int32_t n);

/* The current default CPU thread count (what 0 in kn_exec means). */
KN_API int32_t kn_get_num_threads(void);

/* A static one-line description of the CPU BLAS in use (MKL on Intel CPUs
 * where it loads, else OpenBLAS), e.g. "OpenBLAS 0.3.21 ... core=SkylakeX
 * (core type SkylakeX chosen by libkernels from CPUID)". Loads the BLAS if
 * it is not loaded yet. On failure returns NULL and sets kn_last_error().
 * See docs/abi.md, "BLAS". */
KN_API const char* kn_blas_info(void);

/* A static one-line description of the CPU and of what THIS process's CPU
 * dispatch chose, as "key=value" items separated by "; " (values contain no
 * ';'; unknown values read "unknown"), e.g.
 *   "cpu=Intel(R) Xeon(R) Processor; vendor=GenuineIntel; family=6; model=167;
 *    arch=x86_64; isa=avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,avx;
 *    l1d=48K; l2=2M; l3=480M; elementwise=avx512f (target_clones);
 *    softmax=avx512f (target_clones);
 *    gemm_ladder=avx512 6x32 micro-kernel, small float32 GEMMs routed to it;
 *    sdpa_softmax=avx512; conv2d_direct=avx512;
 *    blas=SkylakeX (core type SkylakeX chosen by libkernels from CPUID)"
 * Built once per process (thread-safe); loads OpenBLAS if it is not loaded
 * yet (a BLAS that cannot be loaded reads "blas=unavailable (...)"). Returns
 * NULL and sets kn_last_error() only when out of memory. Keys may be added;
 * see docs/abi.md, "CPU dispatch". (ABI minor 8.) */
KN_API const char* kn_cpu_info(void);

/* -------------------------------------------------------------- operators
 * Each operator is a forward/backward pair. Supported dtypes: KN_FLOAT32 and
 * KN_FLOAT64; all float tensors of one call share one dtype. */

/* How a loss reduces its element-wise values (numbered as torch's). */
typedef enum {
  KN_REDUCTION_NONE = 0, /* out has the input's shape                 */
  KN_REDUCTION_MEAN = 1, /* out is a scalar (ndim 0): sum / numel     */
  KN_REDUCTION_SUM  = 2  /* out is a scalar (ndim 0)                  */
} kn_reduction;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_CORE_H_ */
