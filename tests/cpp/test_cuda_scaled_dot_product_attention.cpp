// CUDA scaled_dot_product_attention against the CPU kernel, through the C ABI
// (conventions: test_cuda_kernels.cpp; the CPU kernel has its own suite
// against a naive reference). Skips without a GPU.
//
// Each case builds q, k, v (and the mask) as strided views of random storage
// on both devices, runs the forward on the CPU and on the GPU and compares
// the whole storage of out and lse (guards included, -inf lse of fully masked
// rows exactly); then uploads the CPU's out / lse so that both backwards see
// the same saved tensors, runs the backward on both and compares dq, dk, dv.
// Covered: float32 / float64, causal (L < S and L > S), bool / uint8 / float
// masks with broadcast batch, row and column dims, fully masked rows, GQA
// (k, v broadcast over a group dim; k and v broadcast differently), q / k / v
// as views of one packed projection, transposed / sliced / reversed /
// broadcast layouts, Philox dropout (the same keep bits as the CPU: the
// outputs agree), L and S not multiples of the tiles (16 / 32 rows), sizes 0,
// head dims up to 300, gradients requested one at a time, determinism, and
// head dims too large for shared memory (KN_ERR_UNSUPPORTED).
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cuda_util.hpp"
#include "kernels/kernels.h"

namespace {

using namespace kn_cuda_test;

Shape cat(const Shape& a, const Shape& b) {
  Shape s = a;
  s.insert(s.end(), b.begin(), b.end());
  return s;
}

struct Case {
  std::string name;
  Shape qb, kb, vb;  // batch dims of q, k, v
  int64_t L, S, E, Ev;
  int mask = 0;  // 0: none, 1: bool, 2: uint8, 3: float
  Shape mb;      // the mask's batch dims
  bool mrow1 = false, mcol1 = false;  // the mask broadcast over rows / columns
  bool causal = false;
  double dropout = 0;
  Layout lin = Layout::Contiguous, lout = Layout::Contiguous;
  bool packed = false;  // q, k, v: views of one (N, L, 3, H, E) projection (qb = kb = vb = {N, H})
  int grads = 7;        // 1: dq, 2: dk, 4: dv

  Case(std::string n, Shape q, Shape k, Shape v, int64_t l, int64_t s, int64_t e, int64_t ev)
      : name(std::move(n)), qb(std::move(q)), kb(std::move(k)), vb(std::move(v)), L(l), S(s), E(e), Ev(ev) {}
  Case& with_mask(int kind, Shape batch, bool row1 = false, bool col1 = false) {
    mask = kind, mb = std::move(batch), mrow1 = row1, mcol1 = col1;
    return *this;
  }
  Case& causal_() { causal = true; return *this; }
  Case& drop(double p) { dropout = p; return *this; }
  Case& layouts(Layout in, Layout out) { lin = in, lout = out; return *this; }
  Case& packed_() { packed = true; return *this; }
  Case& only(int g) { grads = g; return *this; }
};

std::vector<Case> cases() {
  using LY = Layout;
  std::vector<Case> c;
  c.push_back(Case("plain", {2, 3}, {2, 3}, {2, 3}, 37, 45, 16, 24));
  c.push_back(Case("no batch dims", {}, {}, {}, 19, 70, 8, 5).layouts(LY::Transposed, LY::Sliced));
  c.push_back(Case("causal L > S", {2}, {2}, {2}, 70, 50, 32, 32).causal_().layouts(LY::Sliced, LY::Transposed));
  c.push_back(Case("causal L < S", {3}, {3}, {3}, 20, 77, 12, 20).causal_().layouts(LY::Reversed, LY::Reversed));
  c.push_back(Case("bool mask, broadcast batch and rows", {2, 3}, {2, 3}, {2, 3}, 33, 41, 16, 16)
                  .with_mask(1, {1, 3}, true, false)
                  .causal_());
  c.push_back(Case("uint8 mask, fully masked row", {2, 2}, {2, 2}, {2, 2}, 17, 35, 8, 8)
                  .with_mask(2, {2, 1})
                  .layouts(LY::Transposed, LY::Contiguous));
  c.push_back(Case("bool mask broadcast over columns", {3}, {3}, {3}, 9, 12, 4, 4).with_mask(1, {1}, false, true));
  c.push_back(Case("float mask, -inf and a fully masked row", {2, 2}, {2, 2}, {2, 2}, 40, 33, 16, 8)
                  .with_mask(3, {1, 1})
                  .layouts(LY::Sliced, LY::Reversed));
  c.push_back(Case("float mask broadcast, causal, dropout", {2, 2}, {2, 2}, {2, 2}, 48, 48, 8, 8)
                  .with_mask(3, {2, 1}, true, false)
                  .causal_()
                  .drop(0.25));
  c.push_back(Case("GQA", {2, 2, 3}, {2, 2, 1}, {2, 2, 1}, 33, 40, 8, 12));
  c.push_back(Case("GQA causal dropout", {2, 2, 3}, {2, 2, 1}, {2, 2, 1}, 50, 50, 16, 16).causal_().drop(0.3));
  c.push_back(Case("k and v broadcast differently", {2, 3}, {1, 3}, {2, 1}, 21, 34, 8, 8)
                  .layouts(LY::Broadcast, LY::Transposed));
  c.push_back(Case("k and v broadcast differently, dk only", {2, 3}, {1, 3}, {2, 1}, 21, 34, 8, 8).only(2));
  c.push_back(Case("dv only", {2, 3}, {2, 3}, {2, 3}, 21, 34, 8, 8).only(4));
  c.push_back(Case("dq only", {2, 3}, {2, 3}, {2, 3}, 21, 34, 8, 8).only(1).causal_());
  c.push_back(Case("dropout 0.5", {2, 2}, {2, 2}, {2, 2}, 65, 70, 16, 16).drop(0.5));
  c.push_back(Case("dropout 1: out 0", {2}, {2}, {2}, 10, 12, 4, 4).drop(1.0));
  c.push_back(Case("packed projection", {2, 3}, {2, 3}, {2, 3}, 40, 40, 16, 16).packed_());
  c.push_back(Case("packed projection, causal, mask, dropout", {2, 2}, {2, 2}, {2, 2}, 66, 66, 8, 8)
                  .packed_()
                  .causal_()
                  .with_mask(1, {1, 2})
                  .drop(0.1));
  c.push_back(Case("head dim 128", {2}, {2}, {2}, 40, 50, 128, 128).causal_());
  c.push_back(Case("head dims 300 and 40", {1}, {1}, {1}, 18, 20, 300, 40));
  c.push_back(Case("L = 0", {2}, {2}, {2}, 0, 7, 4, 4));
  c.push_back(Case("S = 0", {2}, {2}, {2}, 7, 0, 4, 4));
  c.push_back(Case("S = 0 causal", {2}, {2}, {2}, 7, 0, 4, 4).causal_());
  c.push_back(Case("batch 0, k broadcast", {0, 2}, {1, 2}, {1, 2}, 5, 6, 4, 4));
  c.push_back(Case("E = 0", {2}, {2}, {2}, 5, 6, 0, 3));
  c.push_back(Case("Ev = 0", {2}, {2}, {2}, 5, 6, 3, 0));
  c.push_back(Case("one row, one key", {1}, {1}, {1}, 1, 1, 1, 1).causal_());
  return c;
}

// Element pointer of logical index idx in a host descriptor.
template <typename T>
T* at(const kn_tensor& t, const Shape& idx) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides[d];
  return static_cast<T*>(t.data) + off;
}

// Storage compared as same_storage, but equal values (+-inf) agree too.
template <typename T>
::testing::AssertionResult close_storage(const Buffer<T>& b, double rtol, double atol) {
  const std::vector<T> gpu = b.download();
  const std::vector<T>& cpu = b.host();
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double c = cpu[i], g = gpu[i];
    const bool ok = c == g || (std::isnan(c) && std::isnan(g)) || std::fabs(c - g) <= atol + rtol * std::fabs(c);
    if (!ok)
      return ::testing::AssertionFailure() << "storage element " << i << " (view offset "
                                           << int64_t(i) - Buffer<T>::kGuard << "): cpu " << c
                                           << ", cuda " << g << " (of " << cpu.size() << ")";
  }
  return ::testing::AssertionSuccess();
}

// q, k, v as views of one packed (N, L, 3, H, E) buffer, q:(N, H, L, E).
struct Packed {
  kn_tensor q[2], k[2], v[2];  // [0]: host, [1]: device
};

template <typename T>
Packed pack(const Buffer<T>& b, int64_t N, int64_t H, int64_t L, int64_t E) {
  Packed p;
  for (int dev = 0; dev < 2; ++dev) {
    const kn_tensor& base = dev ? b.d : b.h;
    kn_tensor* views[3] = {&p.q[dev], &p.k[dev], &p.v[dev]};
    for (int w = 0; w < 3; ++w) {
      kn_tensor t = base;
      t.ndim = 4;
      t.shape[0] = N, t.shape[1] = H, t.shape[2] = L, t.shape[3] = E;
      t.strides[0] = L * 3 * H * E, t.strides[1] = E, t.strides[2] = 3 * H * E, t.strides[3] = 1;
      t.data = static_cast<T*>(base.data) + w * H * E;
      *views[w] = t;
    }
  }
  return p;
}

template <typename T>
void run_case(const Case& c, std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync) {
  SCOPED_TRACE(c.name + ": q " + shape_str(cat(c.qb, {c.L, c.E})) + " k " + shape_str(cat(c.kb, {c.S, c.E})) +
               " v " + shape_str(cat(c.vb, {c.S, c.Ev})) + " in " + layout_name(c.lin) + " out " +
               layout_name(c.lout));
  const bool f32 = sizeof(T) == 4;
  const double ftol = f32 ? 2e-5 : 1e-12, btol = f32 ? 2e-4 : 1e-10;
  kn_scaled_dot_product_attention_params p{};
  p.scale = c.E > 0 ? 1.0 / std::sqrt(double(c.E)) : 1.0;
  p.dropout_p = c.dropout;
  p.seed = 0x1234abcd5678ull;
  p.is_causal = c.causal ? 1 : 0;

  // Inputs: own buffers (q, k, v with rotated layouts) or views of one packed buffer.
  const std::vector<Layout>& in = kInputLayouts;
  size_t li = 0;
  while (in[li] != c.lin) ++li;
  Buffer<T> qb(cat(c.qb, {c.L, c.E}), in[li], rng), kb(cat(c.kb, {c.S, c.E}), in[(li + 1) % in.size()], rng),
      vb(cat(c.vb, {c.S, c.Ev}), in[(li + 2) % in.size()], rng);
  const int64_t N = c.qb.empty() ? 1 : c.qb[0], H = c.qb.size() > 1 ? c.qb[1] : 1;
  Buffer<T> packed(c.packed ? Shape{N, c.L, 3, H, c.E} : Shape{1}, Layout::Contiguous, rng);
  kn_tensor qh = qb.h, qd = qb.d, kh = kb.h, kd = kb.d, vh = vb.h, vd = vb.d;
  if (c.packed) {
    const Packed pk = pack(packed, N, H, c.L, c.E);
    qh = pk.q[0], qd = pk.q[1], kh = pk.k[0], kd = pk.k[1], vh = pk.v[0], vd = pk.v[1];
  }

  // The mask: random, then a fully masked row (row 1 of batch position 0) where it has rows.
  const Shape mshape = cat(c.mb, {c.mrow1 ? 1 : c.L, c.mcol1 ? 1 : c.S});
  Buffer<uint8_t> mbool(c.mask == 1 || c.mask == 2 ? mshape : Shape{1}, Layout::Transposed,
                        [](size_t i) { return uint8_t(((i * 2654435761u) >> 7) % 4 != 0); });
  Buffer<T> mfloat(c.mask == 3 ? mshape : Shape{1}, Layout::Reversed, rng);
  if (c.mask == 1) mbool.h.dtype = mbool.d.dtype = KN_BOOL;
  if (c.mask == 3) {  // some -inf entries
    for (int64_t i = 0; i < mshape[mshape.size() - 2]; ++i)
      for (int64_t j = 0; j < mshape.back(); ++j)
        if ((i * 7 + j * 3) % 5 == 0) {
          Shape idx(c.mb.size(), 0);
          idx.push_back(i), idx.push_back(j);
          *at<T>(mfloat.h, idx) = -std::numeric_limits<T>::infinity();
        }
  }
  if (c.mask != 0 && !c.mrow1 && c.L > 1) {
    for (int64_t j = 0; j < mshape.back(); ++j) {
      Shape idx(c.mb.size(), 0);
      idx.push_back(1), idx.push_back(j);
      if (c.mask == 3)
        *at<T>(mfloat.h, idx) = -std::numeric_limits<T>::infinity();
      else
        *at<uint8_t>(mbool.h, idx) = 0;
    }
  }
  mbool.upload();
  mfloat.upload();
  const kn_tensor* mh = c.mask == 0 ? nullptr : c.mask == 3 ? &mfloat.h : &mbool.h;
  const kn_tensor* md = c.mask == 0 ? nullptr : c.mask == 3 ? &mfloat.d : &mbool.d;

  // Forward.
  Buffer<T> out(cat(c.qb, {c.L, c.Ev}), c.lout, rng), lse(cat(c.qb, {c.L}), c.lout, rng);
  KN_OK_(kn_scaled_dot_product_attention_forward(&p, &qh, &kh, &vh, mh, &out.h, &lse.h, nullptr));
  KN_OK_(kn_scaled_dot_product_attention_forward(&p, &qd, &kd, &vd, md, &out.d, &lse.d, &ex));
  sync();
  EXPECT_TRUE(close_storage(out, ftol, ftol)) << "out";
  EXPECT_TRUE(close_storage(lse, ftol, ftol)) << "lse";
  out.upload();  // both backwards get the CPU's saved tensors
  lse.upload();

  // Backward.
  const Layout lo2 = kOutputLayouts[(size_t(c.lout) + 1) % kOutputLayouts.size()];
  Buffer<T> dout(cat(c.qb, {c.L, c.Ev}), lo2, rng);
  Buffer<T> dq(cat(c.qb, {c.L, c.E}), c.lout, rng), dk(cat(c.kb, {c.S, c.E}), lo2, rng),
      dv(cat(c.vb, {c.S, c.Ev}), c.lout, rng);
  auto pick = [&](int bit, Buffer<T>& b, bool dev) -> const kn_tensor* {
    return (c.grads & bit) ? (dev ? &b.d : &b.h) : nullptr;
  };
  KN_OK_(kn_scaled_dot_product_attention_backward(&p, &dout.h, &qh, &kh, &vh, mh, &out.h, &lse.h,
                                                  pick(1, dq, false), pick(2, dk, false),
                                                  pick(4, dv, false), nullptr));
  KN_OK_(kn_scaled_dot_product_attention_backward(&p, &dout.d, &qd, &kd, &vd, md, &out.d, &lse.d,
                                                  pick(1, dq, true), pick(2, dk, true),
                                                  pick(4, dv, true), &ex));
  sync();
  EXPECT_TRUE(close_storage(dq, btol, btol)) << "dq";
  EXPECT_TRUE(close_storage(dk, btol, btol)) << "dk";
  EXPECT_TRUE(close_storage(dv, btol, btol)) << "dv";
  // The inputs are untouched.
  EXPECT_TRUE(close_storage(qb, 0, 0));
  EXPECT_TRUE(close_storage(packed, 0, 0));
}

TYPED_TEST(CudaKernels, ScaledDotProductAttention) {
  for (const Case& c : cases()) run_case<TypeParam>(c, this->rng_, this->ex_, [this] { this->sync(); });
}

// Every layout as q/k/v's and as the outputs' (one shape, mask and causal).
TYPED_TEST(CudaKernels, ScaledDotProductAttentionLayouts) {
  for (Layout lin : kInputLayouts)
    for (Layout lout : kOutputLayouts) {
      Case c("layouts", {2, 2}, {2, 1}, {2, 1}, 34, 31, 8, 12);
      c.with_mask(1, {2, 1}).causal_().layouts(lin, lout);
      run_case<TypeParam>(c, this->rng_, this->ex_, [this] { this->sync(); });
    }
}

// dropout 1: every weight dropped, out = 0 (and the gradients of q, k, v 0).
TYPED_TEST(CudaKernels, ScaledDotProductAttentionDropoutOneIsZero) {
  using T = TypeParam;
  kn_scaled_dot_product_attention_params p{0.5, 1.0, 7, 0};
  Buffer<T> q({2, 9, 4}, Layout::Contiguous, this->rng_), k({2, 11, 4}, Layout::Contiguous, this->rng_),
      v({2, 11, 4}, Layout::Contiguous, this->rng_), out({2, 9, 4}, Layout::Contiguous, T(5)),
      lse({2, 9}, Layout::Contiguous, T(5));
  KN_OK_(kn_scaled_dot_product_attention_forward(&p, &q.d, &k.d, &v.d, nullptr, &out.d, &lse.d, &this->ex_));
  this->sync();
  const std::vector<T> o = out.download();
  for (size_t i = Buffer<T>::kGuard; i + Buffer<T>::kGuard < o.size(); ++i) EXPECT_EQ(o[i], T(0)) << i;
  const std::vector<T> l = lse.download();
  for (size_t i = Buffer<T>::kGuard; i + Buffer<T>::kGuard < l.size(); ++i) EXPECT_TRUE(std::isfinite(l[i])) << i;
}

// Two runs of the backward give the same bits (no atomics; GQA sums in a fixed order).
TYPED_TEST(CudaKernels, ScaledDotProductAttentionBackwardDeterministic) {
  using T = TypeParam;
  kn_scaled_dot_product_attention_params p{0.25, 0.2, 99, 1};
  const Shape qs{2, 2, 4, 70, 16}, ks{2, 2, 1, 90, 16};
  Buffer<T> q(qs, Layout::Contiguous, this->rng_), k(ks, Layout::Transposed, this->rng_),
      v(ks, Layout::Sliced, this->rng_), out(qs, Layout::Contiguous, this->rng_),
      lse({2, 2, 4, 70}, Layout::Contiguous, this->rng_), dout(qs, Layout::Reversed, this->rng_);
  KN_OK_(kn_scaled_dot_product_attention_forward(&p, &q.d, &k.d, &v.d, nullptr, &out.d, &lse.d, &this->ex_));
  std::vector<T> first[3];
  for (int run = 0; run < 2; ++run) {
    // The same fill both runs (the whole storage is compared, guards included).
    Buffer<T> dq(qs, Layout::Contiguous, T(7)), dk(ks, Layout::Contiguous, T(7)), dv(ks, Layout::Contiguous, T(7));
    KN_OK_(kn_scaled_dot_product_attention_backward(&p, &dout.d, &q.d, &k.d, &v.d, nullptr, &out.d, &lse.d,
                                                    &dq.d, &dk.d, &dv.d, &this->ex_));
    this->sync();
    const std::vector<T> got[3] = {dq.download(), dk.download(), dv.download()};
    for (int t = 0; t < 3; ++t) {
      if (run == 0) {
        first[t] = got[t];
        continue;
      }
      ASSERT_EQ(first[t].size(), got[t].size());
      EXPECT_EQ(0, std::memcmp(first[t].data(), got[t].data(), got[t].size() * sizeof(T))) << "gradient " << t;
    }
  }
}

// Head dims whose tiles cannot fit in shared memory: a clear KN_ERR_UNSUPPORTED.
TYPED_TEST(CudaKernels, ScaledDotProductAttentionHeadDimTooLarge) {
  using T = TypeParam;
  kn_scaled_dot_product_attention_params p{0.01, 0.0, 0, 0};
  const int64_t E = 8192;
  Buffer<T> q({2, E}, Layout::Contiguous, this->rng_), k({3, E}, Layout::Contiguous, this->rng_),
      v({3, E}, Layout::Contiguous, this->rng_), out({2, E}, Layout::Contiguous, this->rng_),
      lse({2}, Layout::Contiguous, this->rng_);
  EXPECT_EQ(kn_scaled_dot_product_attention_forward(&p, &q.d, &k.d, &v.d, nullptr, &out.d, &lse.d, &this->ex_),
            KN_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(kn_last_error()).find("shared memory"), std::string::npos) << kn_last_error();
}

}  // namespace
