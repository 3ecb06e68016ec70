/*
 * kernels.h -- the public C ABI of libkernels.
 *
 * This is the only public header. It is plain C99: no C++ types, and no C++
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
#ifndef KERNELS_KERNELS_H_
#define KERNELS_KERNELS_H_

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
#define KN_ABI_VERSION_MINOR 3 /* additive changes only; a changed fn gets _v2 */
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

/* A static one-line description of the CPU BLAS in use, e.g.
 * "OpenBLAS 0.3.21 ... core=SkylakeX (coretype set by libkernels)". Loads
 * OpenBLAS if it is not loaded yet. On failure returns NULL and sets
 * kn_last_error(). See docs/abi.md, "OpenBLAS". */
KN_API const char* kn_blas_info(void);

/* -------------------------------------------------------------- operators
 * Each operator is a forward/backward pair. Supported dtypes: KN_FLOAT32 and
 * KN_FLOAT64; all float tensors of one call share one dtype. */

/* Linear (fully connected):  y = x w^T + b
 *   x:(N,in)  w:(out,in)  b:(out) or NULL  ->  y:(N,out)
 * N, in, out may be 0 (in = 0 gives y = b, or zeros). */
KN_API kn_status kn_linear_forward(const kn_tensor* x, const kn_tensor* w,
                                   const kn_tensor* b, const kn_tensor* y,
                                   const kn_exec* ex);

/* Linear backward, given dy = dL/dy:(N,out) and the forward inputs:
 *   dx:(N,in)   = dy w        (NULL = not needed)
 *   dw:(out,in) = dy^T x      (NULL = not needed; x may then be NULL too)
 *   db:(out)    = sum_n dy    (NULL = not needed)
 * w may be NULL when dx is NULL. */
KN_API kn_status kn_linear_backward(const kn_tensor* dy, const kn_tensor* x,
                                    const kn_tensor* w, const kn_tensor* dx,
                                    const kn_tensor* dw, const kn_tensor* db,
                                    const kn_exec* ex);

/* ReLU:  y = max(x, 0), element-wise; x and y of one shape (any ndim).
 * y may be x itself (same data and strides): in-place. NaN propagates. */
KN_API kn_status kn_relu_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* ReLU backward:  dx = dy * (x > 0); dy, x, dx of one shape.
 * dx may be dy itself (in-place). */
KN_API kn_status kn_relu_backward(const kn_tensor* dy, const kn_tensor* x,
                                  const kn_tensor* dx, const kn_exec* ex);

/* How a loss reduces its element-wise values (numbered as torch's). */
typedef enum {
  KN_REDUCTION_NONE = 0, /* out has the input's shape                 */
  KN_REDUCTION_MEAN = 1, /* out is a scalar (ndim 0): sum / numel     */
  KN_REDUCTION_SUM  = 2  /* out is a scalar (ndim 0)                  */
} kn_reduction;

/* Mean squared error:  l = (input - target)^2, then reduced.
 *   input, target: same shape (any ndim)
 *   out: input's shape for NONE; ndim 0 for MEAN and SUM.
 * MEAN over zero elements gives NaN (as torch). Reductions accumulate in
 * double and are deterministic for any thread count. */
KN_API kn_status kn_mse_loss_forward(kn_reduction reduction,
                                     const kn_tensor* input,
                                     const kn_tensor* target,
                                     const kn_tensor* out, const kn_exec* ex);

/* MSE backward, given dout = dL/dout (input's shape for NONE, ndim 0 for
 * MEAN and SUM):
 *   dinput  = 2 (input - target) dout  [/ numel for MEAN]   (NULL = not needed)
 *   dtarget = -dinput                                       (NULL = not needed) */
KN_API kn_status kn_mse_loss_backward(kn_reduction reduction,
                                      const kn_tensor* dout,
                                      const kn_tensor* input,
                                      const kn_tensor* target,
                                      const kn_tensor* dinput,
                                      const kn_tensor* dtarget,
                                      const kn_exec* ex);

/* ----------------------------------------------------- convolution */

/* Parameters of a 2-D convolution (as torch.nn.functional.conv2d), each
 * [0] for height and [1] for width: stride >= 1, padding >= 0 (zeros, on
 * both sides), dilation >= 1; groups >= 1 divides both channel counts. */
typedef struct {
  int64_t stride[2];
  int64_t padding[2];
  int64_t dilation[2];
  int64_t groups;
} kn_conv2d_params;

/* 2-D convolution (cross-correlation, as torch.nn.functional.conv2d):
 *   y[n,o,oh,ow] = b[o] + sum_{c,i,j} x[n, g*C/groups + c, oh*s0 - p0 + i*d0, ow*s1 - p1 + j*d1]
 *                                    * w[o, c, i, j]       (g = o / (O/groups); zero padding)
 *   x:(N,C,H,W)  w:(O,C/groups,kH,kW)  b:(O) or NULL  ->  y:(N,O,Ho,Wo)
 *   Ho = (H + 2*p->padding[0] - p->dilation[0]*(kH-1) - 1) / p->stride[0] + 1 (floor; Wo alike)
 * p must not be NULL. Ho and Wo must be >= 1 (a kernel larger than the padded
 * input is KN_ERR_SHAPE_MISMATCH, as in torch); N, C, O may be 0. kH, kW >= 1.
 * y must not overlap any input. */
KN_API kn_status kn_conv2d_forward(const kn_conv2d_params* p, const kn_tensor* x,
                                   const kn_tensor* w, const kn_tensor* b,
                                   const kn_tensor* y, const kn_exec* ex);

/* 2-D convolution backward, given dy = dL/dy:(N,O,Ho,Wo) and the forward inputs:
 *   dx:(N,C,H,W)          (NULL = not needed)
 *   dw:(O,C/groups,kH,kW) (NULL = not needed)
 *   db:(O)                = sum_{n,oh,ow} dy   (NULL = not needed)
 * x may be NULL when dw is NULL, w may be NULL when dx is NULL; the sizes not
 * given by dy come from x or dx (C, H, W) and from w or dw (kH, kW), and dy's
 * (Ho, Wo) must follow from them by the formula above. dw and db are
 * deterministic: bit-identical for any thread count. */
KN_API kn_status kn_conv2d_backward(const kn_conv2d_params* p, const kn_tensor* dy,
                                    const kn_tensor* x, const kn_tensor* w,
                                    const kn_tensor* dx, const kn_tensor* dw,
                                    const kn_tensor* db, const kn_exec* ex);

/* --------------------------------------------------------- pooling */

/* 2-D max pooling (as torch.nn.functional.max_pool2d), each [0] for height
 * and [1] for width: kernel_size >= 1, stride >= 1, dilation >= 1, padding in
 * [0, kernel_size / 2] (implicit -inf, on both sides); ceil_mode 0 or 1. Each
 * value is at most INT32_MAX.
 *
 * Output size, per spatial dim (in = H or W):
 *   out = floor((in + 2 padding - dilation (kernel_size - 1) - 1
 *                + (ceil_mode ? stride - 1 : 0)) / stride) + 1
 *   and with ceil_mode, out -= 1 if (out - 1) stride >= in + padding (the last
 *   window must start inside the input or the left padding).
 * out < 1 is KN_ERR_SHAPE_MISMATCH (the input is smaller than the window);
 * a parameter out of range is KN_ERR_INVALID_ARGUMENT. */
typedef struct {
  int64_t kernel_size[2];
  int64_t stride[2];
  int64_t padding[2];
  int64_t dilation[2];
  int32_t ceil_mode;
} kn_max_pool2d_params;

/* Max pooling forward:
 *   x:(N,C,H,W) -> y:(N,C,Ho,Wo)          y = the window's maximum
 *                  indices:(N,C,Ho,Wo)    int32 or int64: the argmax as the flat
 *                                         index h*W + w into x's (H,W) plane
 * exactly as torch: the first maximum wins ties, a NaN wins over numbers (the
 * last NaN of the window), a window of -inf gives its first element. A window
 * lying wholly in the padding (possible only with dilation) gives -inf and
 * index -1. N and C may be 0. */
KN_API kn_status kn_max_pool2d_forward(const kn_max_pool2d_params* p, const kn_tensor* x,
                                       const kn_tensor* y, const kn_tensor* indices,
                                       const kn_exec* ex);

/* Max pooling backward:
 *   dy:(N,C,Ho,Wo), indices:(N,C,Ho,Wo) from the forward -> dx:(N,C,H,W)
 *   dx[n,c,i] = sum of dy[n,c,o] over the o with indices[n,c,o] == i (0 elsewhere).
 * Ho, Wo must be the output size of (H, W) under p. Index -1 contributes
 * nothing; any other index outside [0, H*W) is KN_ERR_INVALID_ARGUMENT on the
 * CPU (dx is then unspecified) and contributes nothing on CUDA. Deterministic:
 * each dx element sums its contributions in (oh, ow) order on both devices. */
KN_API kn_status kn_max_pool2d_backward(const kn_max_pool2d_params* p, const kn_tensor* dy,
                                        const kn_tensor* indices, const kn_tensor* dx,
                                        const kn_exec* ex);

/* 2-D average pooling (as torch.nn.functional.avg_pool2d): kernel_size,
 * stride, padding, ceil_mode and the output size as kn_max_pool2d_params
 * with dilation 1. count_include_pad 0 or 1; divisor_override >= 0 (0 = none).
 * The divisor of the window starting at (hs, ws) = (oh sH - pH, ow sW - pW):
 *   divisor_override if > 0; else with count_include_pad the window's size
 *   clipped to the padded input, (min(hs + kH, H + pH) - hs) x (min(ws + kW, W + pW) - ws);
 *   else the number of input elements in the window. */
typedef struct {
  int64_t kernel_size[2];
  int64_t stride[2];
  int64_t padding[2];
  int32_t ceil_mode;
  int32_t count_include_pad;
  int64_t divisor_override;
} kn_avg_pool2d_params;

/* Average pooling forward:  x:(N,C,H,W) -> y:(N,C,Ho,Wo),
 *   y = (sum of the window's input elements) / divisor. N and C may be 0. */
KN_API kn_status kn_avg_pool2d_forward(const kn_avg_pool2d_params* p, const kn_tensor* x,
                                       const kn_tensor* y, const kn_exec* ex);

/* Average pooling backward:  dy:(N,C,Ho,Wo) -> dx:(N,C,H,W),
 *   dx[n,c,h,w] = sum over the windows covering (h,w) of dy[n,c,oh,ow] / divisor.
 * Ho, Wo must be the output size of (H, W) under p. Deterministic. */
KN_API kn_status kn_avg_pool2d_backward(const kn_avg_pool2d_params* p, const kn_tensor* dy,
                                        const kn_tensor* dx, const kn_exec* ex);

/* ----------------------------------------------------- activations */

/* Activations: element-wise, x/y/dy/dx of one shape (any ndim, any strides).
 * Every forward allows y to be x itself (same data and strides: in place),
 * every backward dx to be dy itself. NaN propagates. */

/* Sigmoid:  y = 1 / (1 + exp(-x)), computed without overflow for any x
 * (exp(-|x|) only), so tiny results keep their relative precision. */
KN_API kn_status kn_sigmoid_forward(const kn_tensor* x, const kn_tensor* y,
                                    const kn_exec* ex);

/* Sigmoid backward from the forward's OUTPUT y (as torch's sigmoid_backward):
 *   dx = dy * (1 - y) * y */
KN_API kn_status kn_sigmoid_backward(const kn_tensor* dy, const kn_tensor* y,
                                     const kn_tensor* dx, const kn_exec* ex);

/* Tanh:  y = tanh(x). */
KN_API kn_status kn_tanh_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* Tanh backward from the forward's OUTPUT y:  dx = dy * (1 - y^2) */
KN_API kn_status kn_tanh_backward(const kn_tensor* dy, const kn_tensor* y,
                                  const kn_tensor* dx, const kn_exec* ex);

/* Leaky ReLU:  y = x > 0 ? x : negative_slope * x  (negative_slope finite,
 * any sign; converted to the tensors' dtype first, as torch does). */
KN_API kn_status kn_leaky_relu_forward(double negative_slope, const kn_tensor* x,
                                       const kn_tensor* y, const kn_exec* ex);

/* Leaky ReLU backward (as torch's leaky_relu_backward):
 *   dx = self > 0 ? dy : negative_slope * dy
 * `self` is the forward's input x (self_is_result = 0) or its result y
 * (self_is_result = 1, after an in-place forward; y > 0 exactly where x > 0
 * for negative_slope >= 0). self_is_result = 1 with negative_slope < 0 is
 * KN_ERR_INVALID_ARGUMENT: the sign of x cannot be recovered from y. */
KN_API kn_status kn_leaky_relu_backward(double negative_slope, int32_t self_is_result,
                                        const kn_tensor* dy, const kn_tensor* self,
                                        const kn_tensor* dx, const kn_exec* ex);

/* GELU's form (as torch's `approximate` argument). */
typedef enum {
  KN_GELU_NONE = 0, /* y = x Phi(x) = x/2 (1 + erf(x / sqrt(2)))                   */
  KN_GELU_TANH = 1  /* y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))          */
} kn_gelu_approximate;

/* GELU forward, in the form `approximate` (matches torch.nn.functional.gelu). */
KN_API kn_status kn_gelu_forward(kn_gelu_approximate approximate, const kn_tensor* x,
                                 const kn_tensor* y, const kn_exec* ex);

/* GELU backward from the forward's INPUT x (torch's gelu_backward formulas):
 *   NONE: dx = dy (Phi(x) + x phi(x)),  phi(x) = exp(-x^2/2) / sqrt(2 pi)
 *   TANH: u = sqrt(2/pi) (x + 0.044715 x^3), t = tanh(u),
 *         dx = dy (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)) */
KN_API kn_status kn_gelu_backward(kn_gelu_approximate approximate, const kn_tensor* dy,
                                  const kn_tensor* x, const kn_tensor* dx,
                                  const kn_exec* ex);

/* ---------------------------------------------- softmax and losses */

/* Softmax along `dim`:  y = exp(x - max) / sum_dim exp(x - max)
 *   x, y: one shape, ndim >= 1 (any strides); dim in [0, ndim): each 1-D row
 *   along `dim` (all other indices fixed) is normalised on its own. A row
 *   holding NaN gives NaN; +inf gives NaN (as torch). y may be x itself
 *   (in-place). Float32 uses float exp/max and a double sum per row;
 *   deterministic for any thread count. */
KN_API kn_status kn_softmax_forward(int32_t dim, const kn_tensor* x, const kn_tensor* y,
                                    const kn_exec* ex);

/* Softmax backward from the OUTPUT y:  dx = y * (dy - sum_dim(dy * y))
 *   dy, y, dx: one shape; dx may be dy or y itself (in-place). */
KN_API kn_status kn_softmax_backward(int32_t dim, const kn_tensor* dy, const kn_tensor* y,
                                     const kn_tensor* dx, const kn_exec* ex);

/* Log-softmax along `dim`:  y = x - max - log(sum_dim exp(x - max))
 * Shapes and in-place rules as kn_softmax_forward. */
KN_API kn_status kn_log_softmax_forward(int32_t dim, const kn_tensor* x, const kn_tensor* y,
                                        const kn_exec* ex);

/* Log-softmax backward from the OUTPUT y:  dx = dy - exp(y) * sum_dim(dy)
 * Shapes and in-place rules as kn_softmax_backward. */
KN_API kn_status kn_log_softmax_backward(int32_t dim, const kn_tensor* dy, const kn_tensor* y,
                                         const kn_tensor* dx, const kn_exec* ex);

/* Options of the class-index losses (kn_nll_loss_*, kn_cross_entropy_*), as
 * torch.nn.functional.nll_loss / cross_entropy:
 *   reduction        a kn_reduction
 *   ignore_index     targets equal to it contribute 0 loss, 0 weight, 0 gradient
 *   label_smoothing  in [0, 1]; must be 0 for nll_loss */
typedef struct {
  int32_t reduction;
  int64_t ignore_index;
  double  label_smoothing;
} kn_cross_entropy_params;

/* Shapes shared by the class-index losses ("rows" = the target's positions):
 *   input:  (N, C) or (N, C, d1, ..., dk) (the class dim is 1), or (C,) (unbatched)
 *   target: (N,) / (N, d1, ..., dk) / () -- int32 or int64, values in [0, C)
 *           or ignore_index
 *   weight: (C,) or NULL (= all ones); a Float tensor
 *   out:    target's shape for NONE, ndim 0 for MEAN and SUM
 *   total_weight: ndim 0, always written: sum over non-ignored rows of weight[target]
 * MEAN = sum of the rows' losses / total_weight (NaN when every target is
 * ignored or N = 0, as torch). Reductions accumulate in double in a fixed
 * order (deterministic for any thread count).
 * Out-of-range targets: the CPU kernels check every target before writing
 * anything and fail with KN_ERR_INVALID_ARGUMENT. The CUDA kernels cannot
 * report it without a synchronisation: such a row gets a NaN loss (so a MEAN
 * or SUM is NaN, and total_weight too) and NaN gradients. */

/* Negative log-likelihood of log-probabilities:
 *   loss_n = -weight[t_n] * input[n, t_n]  (0 where t_n == ignore_index) */
KN_API kn_status kn_nll_loss_forward(const kn_cross_entropy_params* p,
                                     const kn_tensor* input, const kn_tensor* target,
                                     const kn_tensor* weight, const kn_tensor* out,
                                     const kn_tensor* total_weight, const kn_exec* ex);

/* NLL backward: dinput[n, c] = -weight[c] * g_n where c == t_n, else 0, with
 *   g_n = dout[n] (NONE), dout (SUM), dout / total_weight (MEAN)
 *   dout: out's shape; total_weight: the forward's; dinput: input's shape. */
KN_API kn_status kn_nll_loss_backward(const kn_cross_entropy_params* p,
                                      const kn_tensor* dout, const kn_tensor* target,
                                      const kn_tensor* weight,
                                      const kn_tensor* total_weight,
                                      const kn_tensor* dinput, const kn_exec* ex);

/* Cross-entropy of logits (log_softmax fused into nll_loss, with torch's
 * label smoothing e):  with lse_n = log sum_c exp(input[n, c]),
 *   loss_n = (1 - e) w[t_n] (lse_n - input[n, t_n])
 *          + (e / C) sum_c w[c] (lse_n - input[n, c])      (0 where ignored)
 * Outputs: out and total_weight as kn_nll_loss_forward. No per-row state is
 * saved: the backward recomputes each row's max and log-sum-exp from input
 * (a saved lse in float32 would lose about ulp(lse) -- 1e-3 at logits of 1e4
 * -- in every gradient; recomputing costs one more exp per element). */
KN_API kn_status kn_cross_entropy_forward(const kn_cross_entropy_params* p,
                                          const kn_tensor* input, const kn_tensor* target,
                                          const kn_tensor* weight, const kn_tensor* out,
                                          const kn_tensor* total_weight,
                                          const kn_exec* ex);

/* Cross-entropy backward, with s_c = softmax(input[n, :])_c, W = sum_c w[c]:
 *   dinput[n, c] = g_n ((1 - e) w[t_n] (s_c - [c == t_n]) + (e / C)(W s_c - w[c]))
 * (0 in ignored rows), g_n as for kn_nll_loss_backward. dinput: input's shape. */
KN_API kn_status kn_cross_entropy_backward(const kn_cross_entropy_params* p,
                                           const kn_tensor* dout, const kn_tensor* input,
                                           const kn_tensor* target, const kn_tensor* weight,
                                           const kn_tensor* total_weight,
                                           const kn_tensor* dinput, const kn_exec* ex);

/* --------------------------------------------------------- dropout */

/* Dropout (training):  mask = keep(seed, i) with probability 1 - p,
 *   y = x * mask * scale,   scale = 1 / (1 - p)  (0 for p = 1: y = x * 0)
 * x, y: one float shape (any ndim, any strides); mask: that shape, dtype
 * KN_UINT8 or KN_BOOL, written as 0 / 1. p in [0, 1]: p = 0 keeps every
 * element, p = 1 drops every one. y may be x itself (in place); mask is a
 * separate output.
 *
 * The mask is a pure function of (seed, shape): element i (its LOGICAL
 * row-major index) is kept iff word (i % 4) of Philox-4x32-10(counter = i / 4,
 * key = seed) is >= floor(p * 2^32). So it is identical on CPU and CUDA, for
 * any strides and any thread count. */
KN_API kn_status kn_dropout_forward(double p, uint64_t seed, const kn_tensor* x,
                                    const kn_tensor* y, const kn_tensor* mask,
                                    const kn_exec* ex);

/* Dropout backward:  dx = dy * mask * scale (scale as in the forward; p in
 * [0, 1]). dy, dx: one float shape; mask: that shape, KN_UINT8 or KN_BOOL
 * (any nonzero byte counts as kept). dx may be dy itself (in place). */
KN_API kn_status kn_dropout_backward(double p, const kn_tensor* dy, const kn_tensor* mask,
                                     const kn_tensor* dx, const kn_exec* ex);

/* ----------------------------------------------------------- graph */

/* Generalized sparse-dense matrix multiplication (gSpMM) over a graph in CSR
 * form, rows = destination nodes:
 *
 *   indptr:  (num_dst + 1)  int32/int64, indptr[0] = 0, non-decreasing,
 *            indptr[num_dst] = E
 *   indices: (E)            int32/int64 (indptr's dtype), source node ids in
 *            [0, num_src); duplicates allowed (each is a separate edge)
 *   edge k in [0, E) goes from src = indices[k] to the row v that holds it.
 *
 *   y[v, f] = REDUCE over edges k of row v of  msg(k, f),
 *     msg = x[indices[k], f]                   (KN_GSPMM_COPY_U)
 *         = x[indices[k], f] * edge_values[k]  (KN_GSPMM_U_MUL_E)
 *   REDUCE: sum, mean (sum / row length), max, min. A row with no edges
 *   gives 0 (as torch.sparse.mm with reduce=), and receives no gradient.
 *   NaN propagates as in torch.sparse.mm: a NaN message makes the sum/mean
 *   NaN, and wins max/min (arg = the first NaN's edge).
 *
 * Dtypes: x, y, edge_values, dy, dx, dedge share one float dtype (float32 or
 * float64); indptr, indices and the transposed graph share one index dtype
 * (int32 or int64); arg is int32 or int64 on its own (int32 needs E <= 2^31-1).
 * Every tensor may have any strides (0 and negative included; outputs must
 * not overlap themselves or any other argument). The CPU kernels are
 * deterministic and independent of the thread count (each output row is
 * computed by one thread, rows split between threads by edge count). */
typedef enum {
  KN_GSPMM_COPY_U  = 0, /* message = x[src]                      */
  KN_GSPMM_U_MUL_E = 1  /* message = x[src] * edge_values[edge]  */
} kn_gspmm_message;

typedef enum {
  KN_GSPMM_SUM  = 0,
  KN_GSPMM_MEAN = 1,
  KN_GSPMM_MAX  = 2,
  KN_GSPMM_MIN  = 3
} kn_gspmm_reduce;

typedef struct {
  int32_t message;          /* kn_gspmm_message */
  int32_t reduce;           /* kn_gspmm_reduce  */
  /* 0 (the default of a zeroed struct): a CPU call checks the graph in O(E)
   * before touching memory (indptr starts at 0, is non-decreasing and ends at
   * E; every index in range). 1: the caller vouches for the graph (e.g. it
   * was checked once when built) and only the O(1) checks run. CUDA calls
   * never scan (that would need a device sync): their kernels skip an
   * out-of-range index instead of reading out of bounds. */
  int32_t skip_index_check;
} kn_gspmm_params;

/* Transpose of a CSR graph (its CSC form), for the backward pass:
 *   indptr:(num_dst+1), indices:(E)  ->
 *   t_indptr:(num_src+1), t_indices:(E) destination ids, t_edge_ids:(E) the
 *   position k of each edge in the forward CSR.
 * num_src is t_indptr's length - 1. All five tensors share one index dtype.
 * Within each source's list the edges are in increasing k (deterministic).
 * Build it once per graph and keep it: every backward call reuses it. */
KN_API kn_status kn_csr_transpose(const kn_tensor* indptr, const kn_tensor* indices,
                                  const kn_tensor* t_indptr, const kn_tensor* t_indices,
                                  const kn_tensor* t_edge_ids, const kn_exec* ex);

/* gSpMM forward (see above):
 *   indptr:(num_dst+1) indices:(E)  edge_values:(E) float, required for
 *   U_MUL_E (NULL for COPY_U)  x:(num_src, F) any strides  ->  y:(num_dst, F)
 *   arg:(num_dst, F) int32/int64 for MAX/MIN (NULL for SUM/MEAN): the edge
 *   position k that won each y[v, f] (first one on ties), -1 for an empty
 *   row. Keep it for the backward.
 *   edge_values must be NULL for COPY_U and arg NULL for SUM/MEAN
 *   (KN_ERR_INVALID_ARGUMENT otherwise). A bad graph on the CPU (unless
 *   p->skip_index_check) is KN_ERR_INVALID_ARGUMENT naming the first
 *   offending entry, e.g. "kn_gspmm_forward: indices[17] = 40 is out of
 *   range [0, 34)"; nothing is written then. */
KN_API kn_status kn_gspmm_forward(const kn_gspmm_params* p, const kn_tensor* indptr,
                                  const kn_tensor* indices, const kn_tensor* edge_values,
                                  const kn_tensor* x, const kn_tensor* y,
                                  const kn_tensor* arg, const kn_exec* ex);

/* gSpMM backward, given dy = dL/dy:(num_dst, F):
 *   dx:(num_src, F) (NULL = not needed) through the transposed graph
 *     (t_indptr, t_indices, t_edge_ids from kn_csr_transpose; needed only
 *     for dx):  dx[u] = sum over edges k = (u -> v) of dy[v] * d msg / d x
 *   dedge:(E) (NULL = not needed; U_MUL_E only): dedge[k] = sum_f dy[v, f]
 *     * x[u, f] * (1/len(v) for MEAN; [arg[v, f] == k] for MAX/MIN);
 *     needs x.
 *   edge_values: as in the forward (U_MUL_E, needed for dx);
 *   arg: the forward's arg output (MAX/MIN; NULL for SUM/MEAN).
 *   num_src is dx's rows, else x's, else t_indptr's length - 1. x: required
 *   for dedge, optional otherwise. dedge and edge_values must be NULL for
 *   COPY_U. The CPU check of the graph (unless p->skip_index_check) covers
 *   indptr always, indices when dedge is requested, and t_indptr (0 .. E),
 *   t_indices (in [0, num_dst)), t_edge_ids (in [0, E)) when dx is.
 *   Each output element is written by one thread: deterministic, no atomics. */
KN_API kn_status kn_gspmm_backward(const kn_gspmm_params* p, const kn_tensor* dy,
                                   const kn_tensor* indptr, const kn_tensor* indices,
                                   const kn_tensor* t_indptr, const kn_tensor* t_indices,
                                   const kn_tensor* t_edge_ids,
                                   const kn_tensor* edge_values, const kn_tensor* x,
                                   const kn_tensor* arg, const kn_tensor* dx,
                                   const kn_tensor* dedge, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_KERNELS_H_ */
