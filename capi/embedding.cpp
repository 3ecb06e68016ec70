// C entry points of embedding: validate the parameters and the tensors (weight (V, D),
// indices of any shape (*) and dtype int32/int64, y / dy of shape (*indices.shape, D)),
// then run the CPU or CUDA kernel (kernels/cpu/embedding.cpp, kernels/cuda/embedding.cu).
// The index VALUES are checked by the kernels, which read them (the CPU ones before
// writing anything).
#include <cmath>
#include <string>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/embedding.hpp"

namespace {

using kn::capi::Kind;
using kn::capi::OpValidator;

// indices has at most KN_MAX_DIMS - 1 dims (rows has one more: the feature dim).
void check_index_ndim(OpValidator& v, const kn_tensor& indices) {
  v.require(indices.ndim < KN_MAX_DIMS, KN_ERR_SHAPE_MISMATCH, "indices: at most ",
            KN_MAX_DIMS - 1, " dims (the output has one more), got ", indices.ndim);
}

// rows (y or dy) must have shape (*indices.shape, D).
void check_rows(OpValidator& v, const kn_tensor& rows, const char* name, const kn_tensor& indices,
                int64_t D, const char* d_from) {
  bool ok = rows.ndim == indices.ndim + 1 && rows.shape[indices.ndim] == D;
  for (int d = 0; ok && d < indices.ndim; ++d) ok = rows.shape[d] == indices.shape[d];
  if (ok) return;
  kn_tensor want = indices;
  want.ndim = indices.ndim + 1;
  want.shape[indices.ndim] = D;
  v.require(false, KN_ERR_SHAPE_MISMATCH, name, ": expected shape ", kn::shape_string(want),
            " ((*indices.shape, D) with D = ", D, " from ", d_from, "), got ",
            kn::shape_string(rows));
}

}  // namespace

extern "C" {

kn_status kn_embedding_forward(const kn_tensor* weight, const kn_tensor* indices,
                               const kn_tensor* y, const kn_exec* ex) {
  return kn::capi::guard("kn_embedding_forward", [&] {
    OpValidator v("kn_embedding_forward");
    const kn_tensor& W = v.input(weight, "weight", 2);
    const kn_tensor& I = v.input(indices, "indices", -1, Kind::Index);
    check_index_ndim(v, I);
    const kn_tensor& Y = v.output(y, "y");
    check_rows(v, Y, "y", I, W.shape[1], "weight");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::embedding_forward(W, I, Y, ctx); },
        [&](const auto& ctx) { kn::cuda::embedding_forward(W, I, Y, ctx); });
  });
}

kn_status kn_embedding_backward(const kn_embedding_params* p, const kn_tensor* dy,
                                const kn_tensor* indices, const kn_tensor* dweight,
                                const kn_exec* ex) {
  return kn::capi::guard("kn_embedding_backward", [&] {
    OpValidator v("kn_embedding_backward");
    v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
    const kn_embedding_params P = *p;  // one snapshot
    v.expect_range(P.scale_grad_by_freq, "p->scale_grad_by_freq", 0, 1);
    const kn_tensor& DY = v.input(dy, "dy");
    const kn_tensor& I = v.input(indices, "indices", -1, Kind::Index);
    check_index_ndim(v, I);
    const kn_tensor& DW = v.output(dweight, "dweight", 2);
    check_rows(v, DY, "dy", I, DW.shape[1], "dweight");
    v.require(P.padding_idx >= -1 && P.padding_idx < DW.shape[0], KN_ERR_INVALID_ARGUMENT,
              "p->padding_idx: expected -1 (none) or a row in [0, ", DW.shape[0], "), got ",
              P.padding_idx);
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::embedding_backward(P, DY, I, DW, ctx); },
        [&](const auto& ctx) { kn::cuda::embedding_backward(P, DY, I, DW, ctx); });
  });
}

kn_status kn_embedding_renorm(double max_norm, double norm_type, const kn_tensor* weight,
                              const kn_tensor* indices, const kn_exec* ex) {
  return kn::capi::guard("kn_embedding_renorm", [&] {
    OpValidator v("kn_embedding_renorm");
    // Written so that NaN fails too.
    v.require(max_norm >= 0.0 && std::isfinite(max_norm), KN_ERR_INVALID_ARGUMENT,
              "max_norm: expected a finite value >= 0, got ", max_norm);
    v.require(norm_type > 0.0, KN_ERR_INVALID_ARGUMENT,
              "norm_type: expected a value > 0 (inf allowed), got ", norm_type);
    // indices first: weight is written, so it is the output checked against it for overlap.
    const kn_tensor& I = v.input(indices, "indices", -1, Kind::Index);
    const kn_tensor& W = v.output(weight, "weight", 2);
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::embedding_renorm(max_norm, norm_type, W, I, ctx); },
        [&](const auto& ctx) { kn::cuda::embedding_renorm(max_norm, norm_type, W, I, ctx); });
  });
}

}  // extern "C"
