// pykernels._C: the scaled_dot_product_attention bindings
// (kernels/scaled_dot_product_attention.h).
//
// The kn_scaled_dot_product_attention_params fields come first as plain
// arguments (scale, dropout_p, seed, is_causal), then the tensors in C order;
// attn_mask and the backward's dq, dk, dv may be None (NULL).
#include "bindings/common.hpp"
#include "kernels/scaled_dot_product_attention.h"

using namespace knpy;

namespace {

kn_scaled_dot_product_attention_params make_params(double scale, double dropout_p,
                                                   std::uint64_t seed, bool is_causal) {
  kn_scaled_dot_product_attention_params p{};
  p.scale = scale;
  p.dropout_p = dropout_p;
  p.seed = seed;
  p.is_causal = is_causal ? 1 : 0;
  return p;
}

}  // namespace

KN_BINDINGS(scaled_dot_product_attention) {
  m.def(
      "scaled_dot_product_attention_forward",
      [](double scale, double dropout_p, std::uint64_t seed, bool is_causal, py::handle q,
         py::handle k, py::handle v, py::handle attn_mask, py::handle out, py::handle lse,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_scaled_dot_product_attention_forward";
        const auto p = make_params(scale, dropout_p, seed, is_causal);
        const TensorArg Q(q, op, "q", In), K(k, op, "k", In), V(v, op, "v", In),
            M(attn_mask, op, "attn_mask", In, Optional), O(out, op, "out", Out),
            LSE(lse, op, "lse", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_scaled_dot_product_attention_forward(&p, Q.get(), K.get(), V.get(), M.get(),
                                                         O.get(), LSE.get(), &e);
        });
      },
      "scale"_a, "dropout_p"_a, "seed"_a, "is_causal"_a, "q"_a, "k"_a, "v"_a,
      "attn_mask"_a.none(true), "out"_a, "lse"_a, KN_EXEC_ARGS,
      "q:(*B,L,E), k:(*Bk,S,E), v:(*Bv,S,Ev), attn_mask:(*Bm,L',S') or None (batch dims of "
      "k, v, mask: q's or 1) -> out:(*B,L,Ev), lse:(*B,L), written in place.");

  m.def(
      "scaled_dot_product_attention_backward",
      [](double scale, double dropout_p, std::uint64_t seed, bool is_causal, py::handle dout,
         py::handle q, py::handle k, py::handle v, py::handle attn_mask, py::handle out,
         py::handle lse, py::handle dq, py::handle dk, py::handle dv, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_scaled_dot_product_attention_backward";
        const auto p = make_params(scale, dropout_p, seed, is_causal);
        const TensorArg DO(dout, op, "dout", In), Q(q, op, "q", In), K(k, op, "k", In),
            V(v, op, "v", In), M(attn_mask, op, "attn_mask", In, Optional),
            O(out, op, "out", In), LSE(lse, op, "lse", In), DQ(dq, op, "dq", Out, Optional),
            DK(dk, op, "dk", Out, Optional), DV(dv, op, "dv", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_scaled_dot_product_attention_backward(&p, DO.get(), Q.get(), K.get(), V.get(),
                                                          M.get(), O.get(), LSE.get(), DQ.get(),
                                                          DK.get(), DV.get(), &e);
        });
      },
      "scale"_a, "dropout_p"_a, "seed"_a, "is_causal"_a, "dout"_a, "q"_a, "k"_a, "v"_a,
      "attn_mask"_a.none(true), "out"_a, "lse"_a, "dq"_a.none(true), "dk"_a.none(true),
      "dv"_a.none(true), KN_EXEC_ARGS,
      "dout:(*B,L,Ev), q, k, v, attn_mask (as the forward), out, lse (the forward's) -> dq, dk, "
      "dv (each None = not needed; broadcast batch dims summed), written in place.");

  m.def(
      "scaled_dot_product_attention_lse_shape",
      [](py::handle q) {
        const char* op = "kn_scaled_dot_product_attention_lse_shape";
        const TensorArg Q(q, op, "q", In);
        int32_t ndim = 0;
        int64_t shape[KN_MAX_DIMS] = {};
        call([&] { return kn_scaled_dot_product_attention_lse_shape(Q.get(), &ndim, shape); });
        py::tuple t(ndim);
        for (int32_t d = 0; d < ndim; ++d) t[d] = py::int_(shape[d]);
        return t;
      },
      "q"_a, "The shape of the forward's lse for this q:(*B,L,E): (*B, L).");
}
