/* kernels/pool2d.h -- 2-D max and average pooling.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_POOL2D_H_
#define KERNELS_POOL2D_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* The output size of max pooling over an (height, width) input under p, as the
 * formula above: out[0] = Ho, out[1] = Wo. height, width >= 0. A parameter out of
 * range is KN_ERR_INVALID_ARGUMENT, an input smaller than the window
 * KN_ERR_SHAPE_MISMATCH (as kn_max_pool2d_forward would report them). For callers
 * that allocate y and indices themselves (pykernels' C++ autograd node). */
KN_API kn_status kn_max_pool2d_output_size(const kn_max_pool2d_params* p, int64_t height,
                                           int64_t width, int64_t* out);

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_POOL2D_H_ */
