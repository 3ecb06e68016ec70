// pykernels._C: the embedding bindings (kn_embedding_forward / _backward / _renorm of
// kernels/embedding.h).
#include "bindings/common.hpp"
#include "kernels/embedding.h"

using namespace knpy;

KN_BINDINGS(embedding) {
  m.def(
      "embedding_forward",
      [](py::handle weight, py::handle indices, py::handle y, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_embedding_forward";
        const TensorArg W(weight, op, "weight", In), I(indices, op, "indices", In),
            Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_embedding_forward(W.get(), I.get(), Y.get(), &e); });
      },
      "weight"_a, "indices"_a, "y"_a, KN_EXEC_ARGS,
      "y[i..., :] = weight[indices[i...], :].  weight:(V,D) float, indices:(*) int32/int64 "
      "-> y:(*,D), written in place; an index outside [0, V) raises KernelError.");

  m.def(
      "embedding_backward",
      [](int64_t padding_idx, bool scale_grad_by_freq, py::handle dy, py::handle indices,
         py::handle dweight, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_embedding_backward";
        const kn_embedding_params p{padding_idx, scale_grad_by_freq ? 1 : 0};
        const TensorArg DY(dy, op, "dy", In), I(indices, op, "indices", In),
            DW(dweight, op, "dweight", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_embedding_backward(&p, DY.get(), I.get(), DW.get(), &e); });
      },
      "padding_idx"_a, "scale_grad_by_freq"_a, "dy"_a, "indices"_a, "dweight"_a, KN_EXEC_ARGS,
      "dweight:(V,D)[v] = sum of dy[i] over indices[i] == v (/ count when scale_grad_by_freq), "
      "0 for unused rows and padding_idx (-1 = none); deterministic.");

  m.def(
      "embedding_renorm",
      [](double max_norm, double norm_type, py::handle weight, py::handle indices,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_embedding_renorm";
        const TensorArg W(weight, op, "weight", Out), I(indices, op, "indices", In);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_embedding_renorm(max_norm, norm_type, W.get(), I.get(), &e); });
      },
      "max_norm"_a, "norm_type"_a, "weight"_a, "indices"_a, KN_EXEC_ARGS,
      "In place: each row of weight named by indices whose norm_type-norm exceeds max_norm "
      "is scaled by max_norm / (norm + 1e-7).");
}
