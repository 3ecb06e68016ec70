/*
 * kernels/kernels.h -- the public C ABI of libkernels: the one header a C
 * program includes. Plain C99; no C++ exception ever crosses it.
 *
 * Read top to bottom:
 *   kernels/core.h   the conventions every operator follows (ownership,
 *                    strides, in-place, validation, devices, threads), the
 *                    types (kn_tensor, kn_exec, kn_status, kn_dtype), and the
 *                    library functions (kn_last_error, kn_set_num_threads...)
 *   kernels/<op>.h   one header per operator (or small family), each a
 *                    documented forward/backward pair of kn_<op>_* entry points
 *
 * A program may include a single operator's header instead (it includes
 * core.h); the library is the same. New operators add their line below
 * (`make new-op` does; tests/python/test_layout.py checks that every header
 * in this directory is listed).
 */
#ifndef KERNELS_KERNELS_H_
#define KERNELS_KERNELS_H_

#include "kernels/core.h"

/* Operators, alphabetical. */
#include "kernels/adaptive_pool2d.h"
#include "kernels/batch_norm.h"
#include "kernels/celu.h"
#include "kernels/conv2d.h"
#include "kernels/cross_entropy.h"
#include "kernels/dropout.h"
#include "kernels/elu.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/group_norm.h"
#include "kernels/gspmm.h"
#include "kernels/hardsigmoid.h"
#include "kernels/hardswish.h"
#include "kernels/hardtanh.h"
#include "kernels/layer_norm.h"
#include "kernels/leaky_relu.h"
#include "kernels/linear.h"
#include "kernels/mish.h"
#include "kernels/mse_loss.h"
#include "kernels/nll_loss.h"
#include "kernels/pool2d.h"
#include "kernels/relu.h"
#include "kernels/relu6.h"
#include "kernels/rnn.h"
#include "kernels/scaled_dot_product_attention.h"
#include "kernels/sigmoid.h"
#include "kernels/silu.h"
#include "kernels/softmax.h"
#include "kernels/softplus.h"
#include "kernels/tanh.h"

#endif /* KERNELS_KERNELS_H_ */
