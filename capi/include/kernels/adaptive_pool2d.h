/* kernels/adaptive_pool2d.h -- 2-D adaptive average and max pooling.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_ADAPTIVE_POOL2D_H_
#define KERNELS_ADAPTIVE_POOL2D_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Adaptive pooling (as torch.nn.functional.adaptive_avg_pool2d and
 * adaptive_max_pool2d): the output size (Ho, Wo) is taken from the output
 * tensor's shape; any Ho, Wo >= 0 (larger than the input, not dividing it).
 * Output row oh pools the input rows [floor(oh H / Ho), ceil((oh + 1) H / Ho)),
 * column ow the columns [floor(ow W / Wo), ceil((ow + 1) W / Wo)) (torch's
 * bins: never empty, neighbours may overlap by one row or column).
 *
 * Empty tensors, as torch: N may be 0 everywhere and Ho, Wo may be 0 in the
 * forwards; H = 0 or W = 0 is KN_ERR_SHAPE_MISMATCH everywhere; C = 0 is
 * accepted by the average forward only; the backwards refuse a dy with C, Ho
 * or Wo = 0 (KN_ERR_SHAPE_MISMATCH), as torch's backwards do.
 * float32/float64, any strides (outputs must not overlap themselves or the
 * inputs). Threaded over (n, c) planes; results are bitwise the same for any
 * thread count. */

/* Average forward:  x:(N,C,H,W) -> y:(N,C,Ho,Wo), y = mean of x over the bin. */
KN_API kn_status kn_adaptive_avg_pool2d_forward(const kn_tensor* x, const kn_tensor* y,
                                                const kn_exec* ex);

/* Average backward:  dy:(N,C,Ho,Wo) -> dx:(N,C,H,W),
 *   dx[n,c,h,w] = sum over the bins (oh, ow) containing (h, w), in (oh, ow)
 *   order, of dy[n,c,oh,ow] / (bin height * bin width).
 * Computed as a gather over input pixels on both devices: deterministic and
 * bitwise equal between the CPU and CUDA. */
KN_API kn_status kn_adaptive_avg_pool2d_backward(const kn_tensor* dy, const kn_tensor* dx,
                                                 const kn_exec* ex);

/* Max forward:  x:(N,C,H,W) -> y:(N,C,Ho,Wo)        the bin's maximum
 *                               indices:(N,C,Ho,Wo) int32 or int64: the argmax as
 *                                                   the flat index h*W + w
 * as kn_max_pool2d_forward and torch: the first maximum wins ties, a NaN wins
 * over numbers (the last NaN of the bin), a bin of -inf gives its first element.
 * int32 indices are refused (KN_ERR_UNSUPPORTED) when H * W > INT32_MAX. */
KN_API kn_status kn_adaptive_max_pool2d_forward(const kn_tensor* x, const kn_tensor* y,
                                                const kn_tensor* indices, const kn_exec* ex);

/* Max backward:  dy, indices:(N,C,Ho,Wo) from the forward -> dx:(N,C,H,W)
 *   dx[n,c,i] = sum of dy[n,c,o] over the o with indices[n,c,o] == i (0 elsewhere),
 *   in (oh, ow) order. As kn_max_pool2d_backward: index -1 contributes nothing;
 * any other index outside [0, H*W) is KN_ERR_INVALID_ARGUMENT on the CPU (dx is
 * then unspecified); CUDA gathers over the bins covering each input element,
 * so an index outside its own bin contributes nothing there. */
KN_API kn_status kn_adaptive_max_pool2d_backward(const kn_tensor* dy, const kn_tensor* indices,
                                                 const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_ADAPTIVE_POOL2D_H_ */
