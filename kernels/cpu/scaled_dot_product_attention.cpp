// Scaled dot-product attention on the CPU: the simple row-at-a-time kernel
// (maths in capi/include/kernels/scaled_dot_product_attention.h).
//
//   forward, per query row (b, i):   s_j = scale q_i.k_j + m_ij   (j < S)
//                                    lse_i = log sum_j exp(s_j)
//                                    out_i = sum_j exp(s_j - lse_i) z_ij/(1-p) v_j
//   backward, per query row:         P_j  = exp(s_j - lse_i)
//                                    dP_j = z_ij/(1-p) dout_i.v_j
//                                    D_i  = dout_i.out_i      (= sum_j P_j dP_j)
//                                    dS_j = P_j (dP_j - D_i)
//                                    dq_i = scale sum_j dS_j k_j
//                                    dk_j += scale dS_j q_i,  dv_j += P_j z_ij/(1-p) dout_i
//
// Only O(S) scratch per row (the row's scores), never L x S.
// Threading: forward over (batch, row); backward over batch positions, each
// accumulating its dk / dv in its own buffer (when k / v are broadcast over
// batch dims) that is then summed in batch order: the same bits for any
// thread count.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/internal/attention_layout.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/philox.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/scaled_dot_product_attention.hpp"

namespace kn::cpu {
namespace {

using Params = kn_scaled_dot_product_attention_params;

// Everything a row needs: strides of the last two dims, sizes, the layout.
struct Geometry {
  AttentionBatch batch;
  int nb;
  int64_t L, S, E, Ev;
  // [row stride, column stride] of each operand's last two dims
  int64_t q_r, q_c, k_r, k_c, v_r, v_c, o_r, o_c, m_r, m_c, lse_r;
};

Geometry geometry(const kn_tensor& q, const kn_tensor& k, const kn_tensor& v, const kn_tensor* m,
                  const kn_tensor& out, const kn_tensor& lse) {
  Geometry g;
  g.nb = q.ndim - 2;
  const int nb = g.nb;
  g.batch.set(AttentionBatch::Q, &q, nb);
  g.batch.set(AttentionBatch::K, &k, nb);
  g.batch.set(AttentionBatch::V, &v, nb);
  g.batch.set(AttentionBatch::MASK, m, nb);
  g.batch.set(AttentionBatch::OUT, &out, nb);
  g.batch.set(AttentionBatch::LSE, &lse, nb);
  g.L = q.shape[nb], g.E = q.shape[nb + 1], g.S = k.shape[nb], g.Ev = v.shape[nb + 1];
  g.q_r = q.strides[nb], g.q_c = q.strides[nb + 1];
  g.k_r = k.strides[nb], g.k_c = k.strides[nb + 1];
  g.v_r = v.strides[nb], g.v_c = v.strides[nb + 1];
  g.o_r = out.strides[nb], g.o_c = out.strides[nb + 1];
  g.lse_r = lse.strides[nb];
  g.m_r = (m && m->shape[nb] != 1) ? m->strides[nb] : 0;
  g.m_c = (m && m->shape[nb + 1] != 1) ? m->strides[nb + 1] : 0;
  return g;
}

// The additive mask value of (b, i, j): 0 / -inf for bool masks and
// is_causal, the value for float masks.
template <typename T>
struct MaskReader {
  const kn_tensor* m;
  bool causal;
  const Geometry& g;
  double at(int64_t moff, int64_t i, int64_t j) const {
    if (causal && j > i) return -std::numeric_limits<double>::infinity();
    if (!m) return 0.0;
    const int64_t off = moff + i * g.m_r + j * g.m_c;
    if (m->dtype == KN_BOOL || m->dtype == KN_UINT8)
      return static_cast<const uint8_t*>(m->data)[off] ? 0.0
                                                       : -std::numeric_limits<double>::infinity();
    return static_cast<double>(static_cast<const T*>(m->data)[off]);
  }
};

// The dropout factor z_ij / (1 - p) of logical element (b * L + i) * S + j.
struct DropoutFactor {
  double p, scale;
  uint64_t seed, threshold;
  bool on;
  explicit DropoutFactor(const Params& pr)
      : p(pr.dropout_p),
        scale(dropout_scale(pr.dropout_p)),
        seed(pr.seed),
        threshold(dropout_threshold(pr.dropout_p)),
        on(pr.dropout_p > 0.0) {}
  double at(uint64_t flat) const {
    if (!on) return 1.0;
    const Philox4 r = philox_group(seed, flat / 4);
    return r.v[flat % 4] >= threshold ? scale : 0.0;
  }
};

// The scores of row (b, i) into s[0..S), in double; returns the row's max
// (-inf for a fully masked row).
template <typename T>
double row_scores(const Geometry& g, const Params& p, const MaskReader<T>& mask, const T* q,
                  const T* k, int64_t moff, int64_t i, double* s) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < g.S; ++j) {
    const double mv = mask.at(moff, i, j);
    double dot = 0;
    if (mv != -std::numeric_limits<double>::infinity())
      for (int64_t e = 0; e < g.E; ++e)
        dot += static_cast<double>(q[i * g.q_r + e * g.q_c]) * k[j * g.k_r + e * g.k_c];
    s[j] = p.scale * dot + mv;
    if (s[j] > mx) mx = s[j];
  }
  return mx;
}

template <typename T>
void forward(const Params& p, const kn_tensor& q, const kn_tensor& k, const kn_tensor& v,
             const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse, int threads) {
  const Geometry g = geometry(q, k, v, m, out, lse);
  const int64_t rows = g.batch.count * g.L;
  if (rows == 0) return;
  const MaskReader<T> mask{m, p.is_causal != 0, g};
  const DropoutFactor drop(p);
  parallel_for(rows, 1, threads, [&](int64_t begin, int64_t end) {
    std::vector<double> s(static_cast<size_t>(g.S)), acc(static_cast<size_t>(g.Ev));
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / g.L, i = r % g.L;
      const T* Q = static_cast<const T*>(q.data) + g.batch.offset(b, AttentionBatch::Q);
      const T* K = static_cast<const T*>(k.data) + g.batch.offset(b, AttentionBatch::K);
      const T* V = static_cast<const T*>(v.data) + g.batch.offset(b, AttentionBatch::V);
      T* O = static_cast<T*>(out.data) + g.batch.offset(b, AttentionBatch::OUT) + i * g.o_r;
      T* LSE = static_cast<T*>(lse.data) + g.batch.offset(b, AttentionBatch::LSE) + i * g.lse_r;
      const int64_t moff = g.batch.offset(b, AttentionBatch::MASK);
      const double mx = row_scores(g, p, mask, Q, K, moff, i, s.data());
      std::fill(acc.begin(), acc.end(), 0.0);
      if (mx == -std::numeric_limits<double>::infinity()) {  // fully masked (or S = 0)
        *LSE = static_cast<T>(mx);
        for (int64_t e = 0; e < g.Ev; ++e) O[e * g.o_c] = T(0);
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < g.S; ++j) sum += s[j] = std::exp(s[j] - mx);
      const double lse_i = mx + std::log(sum);
      const uint64_t base = static_cast<uint64_t>(r) * static_cast<uint64_t>(g.S);
      for (int64_t j = 0; j < g.S; ++j) {
        const double w = s[j] / sum * drop.at(base + static_cast<uint64_t>(j));
        if (w == 0.0) continue;
        for (int64_t e = 0; e < g.Ev; ++e) acc[e] += w * V[j * g.v_r + e * g.v_c];
      }
      *LSE = static_cast<T>(lse_i);
      for (int64_t e = 0; e < g.Ev; ++e) O[e * g.o_c] = static_cast<T>(acc[e]);
    }
  });
}

template <typename T>
void backward(const Params& p, const kn_tensor& dout, const kn_tensor& q, const kn_tensor& k,
              const kn_tensor& v, const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse,
              const kn_tensor* dq, const kn_tensor* dk, const kn_tensor* dv, int threads) {
  Geometry g = geometry(q, k, v, m, out, lse);
  g.batch.set(AttentionBatch::DOUT, &dout, g.nb);
  g.batch.set(AttentionBatch::DQ, dq, g.nb);
  g.batch.set(AttentionBatch::DK, dk, g.nb);
  g.batch.set(AttentionBatch::DV, dv, g.nb);
  const int64_t nbatch = g.batch.count;
  const MaskReader<T> mask{m, p.is_causal != 0, g};
  const DropoutFactor drop(p);
  const int nb = g.nb;
  // Per batch position, dk and dv partials (S x E, S x Ev, in double) summed
  // afterwards in batch order into the (possibly broadcast) dk / dv.
  const size_t SE = static_cast<size_t>(g.S * g.E), SEv = static_cast<size_t>(g.S * g.Ev);
  std::vector<double> pk(dk ? static_cast<size_t>(nbatch) * SE : 0);
  std::vector<double> pv(dv ? static_cast<size_t>(nbatch) * SEv : 0);
  parallel_for(nbatch, 1, threads, [&](int64_t begin, int64_t end) {
    std::vector<double> s(static_cast<size_t>(g.S)), dqa(static_cast<size_t>(g.E));
    for (int64_t b = begin; b < end; ++b) {
      const T* Q = static_cast<const T*>(q.data) + g.batch.offset(b, AttentionBatch::Q);
      const T* K = static_cast<const T*>(k.data) + g.batch.offset(b, AttentionBatch::K);
      const T* V = static_cast<const T*>(v.data) + g.batch.offset(b, AttentionBatch::V);
      const T* O = static_cast<const T*>(out.data) + g.batch.offset(b, AttentionBatch::OUT);
      const T* DO = static_cast<const T*>(dout.data) + g.batch.offset(b, AttentionBatch::DOUT);
      const T* LSE = static_cast<const T*>(lse.data) + g.batch.offset(b, AttentionBatch::LSE);
      T* DQ = dq ? static_cast<T*>(dq->data) + g.batch.offset(b, AttentionBatch::DQ) : nullptr;
      double* PK = dk ? pk.data() + static_cast<size_t>(b) * SE : nullptr;
      double* PV = dv ? pv.data() + static_cast<size_t>(b) * SEv : nullptr;
      const int64_t moff = g.batch.offset(b, AttentionBatch::MASK);
      const int64_t do_r = dout.strides[nb], do_c = dout.strides[nb + 1];
      for (int64_t i = 0; i < g.L; ++i) {
        std::fill(dqa.begin(), dqa.end(), 0.0);
        const double lse_i = LSE[i * g.lse_r];
        if (lse_i != -std::numeric_limits<double>::infinity()) {
          row_scores(g, p, mask, Q, K, moff, i, s.data());
          double D = 0;
          for (int64_t e = 0; e < g.Ev; ++e)
            D += static_cast<double>(DO[i * do_r + e * do_c]) * O[i * g.o_r + e * g.o_c];
          const uint64_t base =
              (static_cast<uint64_t>(b) * static_cast<uint64_t>(g.L) + static_cast<uint64_t>(i)) *
              static_cast<uint64_t>(g.S);
          for (int64_t j = 0; j < g.S; ++j) {
            const double P = std::exp(s[j] - lse_i);
            if (P == 0.0) continue;
            const double z = drop.at(base + static_cast<uint64_t>(j));
            double dP = 0;
            if (z != 0.0) {
              for (int64_t e = 0; e < g.Ev; ++e)
                dP += static_cast<double>(DO[i * do_r + e * do_c]) * V[j * g.v_r + e * g.v_c];
              dP *= z;
              if (PV)
                for (int64_t e = 0; e < g.Ev; ++e)
                  PV[j * g.Ev + e] += P * z * DO[i * do_r + e * do_c];
            }
            const double dS = P * (dP - D) * p.scale;
            for (int64_t e = 0; e < g.E; ++e) dqa[e] += dS * K[j * g.k_r + e * g.k_c];
            if (PK)
              for (int64_t e = 0; e < g.E; ++e) PK[j * g.E + e] += dS * Q[i * g.q_r + e * g.q_c];
          }
        }
        if (DQ) {
          const int64_t r = dq->strides[nb], c = dq->strides[nb + 1];
          for (int64_t e = 0; e < g.E; ++e) DQ[i * r + e * c] = static_cast<T>(dqa[e]);
        }
      }
    }
  });
  // Sum the partials into dk / dv: each output batch position takes the
  // batch positions that map onto it, in batch order.
  auto reduce = [&](const kn_tensor* d, AttentionBatch::Operand which, const std::vector<double>& part,
                    int64_t cols) {
    if (!d) return;
    const int64_t r = d->strides[nb], c = d->strides[nb + 1];
    T* base = static_cast<T*>(d->data);
    // Distinct output batch positions: iterate d's own batch (sizes of d).
    int64_t dcount = 1;
    for (int dd = 0; dd < nb; ++dd) dcount *= d->shape[dd];
    std::vector<double> acc(static_cast<size_t>(g.S * cols));
    for (int64_t ob = 0; ob < dcount; ++ob) {
      std::fill(acc.begin(), acc.end(), 0.0);
      // Offset of output position ob in d (row-major over d's batch dims).
      int64_t off = 0, rem = ob;
      for (int dd = nb - 1; dd >= 0; --dd) {
        off += (rem % d->shape[dd]) * d->strides[dd];
        rem /= d->shape[dd];
      }
      for (int64_t b = 0; b < nbatch; ++b)
        if (g.batch.offset(b, which) == off) {
          const double* src = part.data() + static_cast<size_t>(b) * static_cast<size_t>(g.S * cols);
          for (int64_t x = 0; x < g.S * cols; ++x) acc[x] += src[x];
        }
      for (int64_t j = 0; j < g.S; ++j)
        for (int64_t e = 0; e < cols; ++e) base[off + j * r + e * c] = static_cast<T>(acc[j * cols + e]);
    }
  };
  reduce(dk, AttentionBatch::DK, pk, g.E);
  reduce(dv, AttentionBatch::DV, pv, g.Ev);
}

}  // namespace

void scaled_dot_product_attention_forward(const Params& p, const kn_tensor& q, const kn_tensor& k,
                                          const kn_tensor& v, const kn_tensor* mask,
                                          const kn_tensor& out, const kn_tensor& lse,
                                          const CpuContext& ctx) {
  dispatch_float(q.dtype, "kn_scaled_dot_product_attention_forward", [&](auto tag) {
    forward<decltype(tag)>(p, q, k, v, mask, out, lse, ctx.num_threads);
  });
}

void scaled_dot_product_attention_backward(const Params& p, const kn_tensor& dout,
                                           const kn_tensor& q, const kn_tensor& k,
                                           const kn_tensor& v, const kn_tensor* mask,
                                           const kn_tensor& out, const kn_tensor& lse,
                                           const kn_tensor* dq, const kn_tensor* dk,
                                           const kn_tensor* dv, const CpuContext& ctx) {
  dispatch_float(q.dtype, "kn_scaled_dot_product_attention_backward", [&](auto tag) {
    backward<decltype(tag)>(p, dout, q, k, v, mask, out, lse, dq, dk, dv, ctx.num_threads);
  });
}

}  // namespace kn::cpu
