// Scaled dot-product attention on CUDA: not written yet (a placeholder so that
// the C entry links; it reports KN_ERR_UNSUPPORTED).
#include "kernels/internal/error.hpp"
#include "kernels/ops/scaled_dot_product_attention.hpp"

namespace kn::cuda {

void scaled_dot_product_attention_forward(const kn_scaled_dot_product_attention_params&,
                                          const kn_tensor&, const kn_tensor&, const kn_tensor&,
                                          const kn_tensor*, const kn_tensor&, const kn_tensor&,
                                          const CudaContext&) {
  fail(KN_ERR_UNSUPPORTED, "kn_scaled_dot_product_attention_forward: CUDA is not implemented yet");
}

void scaled_dot_product_attention_backward(const kn_scaled_dot_product_attention_params&,
                                           const kn_tensor&, const kn_tensor&, const kn_tensor&,
                                           const kn_tensor&, const kn_tensor*, const kn_tensor&,
                                           const kn_tensor&, const kn_tensor*, const kn_tensor*,
                                           const kn_tensor*, const CudaContext&) {
  fail(KN_ERR_UNSUPPORTED, "kn_scaled_dot_product_attention_backward: CUDA is not implemented yet");
}

}  // namespace kn::cuda
