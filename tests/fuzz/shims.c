/* C shims for the entry points with enum-typed parameters (kn_reduction,
 * kn_gelu_approximate). A C caller may pass any int through an enum
 * parameter; a C++ caller cannot convert an out-of-range int to an enum
 * without undefined behaviour. So the harness calls these. */
#include "kernels/kernels.h"

kn_status fz_mse_loss_forward(int32_t reduction, const kn_tensor* input, const kn_tensor* target,
                              const kn_tensor* out, const kn_exec* ex) {
  return kn_mse_loss_forward((kn_reduction)reduction, input, target, out, ex);
}

kn_status fz_mse_loss_backward(int32_t reduction, const kn_tensor* dout, const kn_tensor* input,
                               const kn_tensor* target, const kn_tensor* dinput,
                               const kn_tensor* dtarget, const kn_exec* ex) {
  return kn_mse_loss_backward((kn_reduction)reduction, dout, input, target, dinput, dtarget, ex);
}

kn_status fz_gelu_forward(int32_t approximate, const kn_tensor* x, const kn_tensor* y,
                          const kn_exec* ex) {
  return kn_gelu_forward((kn_gelu_approximate)approximate, x, y, ex);
}

kn_status fz_gelu_backward(int32_t approximate, const kn_tensor* dy, const kn_tensor* x,
                           const kn_tensor* dx, const kn_exec* ex) {
  return kn_gelu_backward((kn_gelu_approximate)approximate, dy, x, dx, ex);
}
