/* kernels/conv2d.h -- 2-D convolution.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_CONV2D_H_
#define KERNELS_CONV2D_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_CONV2D_H_ */
