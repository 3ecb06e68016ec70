// embedding: CUDA vs CPU through the C ABI (conventions: test_cuda_kernels.cpp). Skips
// without a GPU. Forward is a copy and the backward sums each row in position order from
// 0 on both devices, so both must agree bit for bit (the whole storage of every output,
// guards and gaps included); renorm's norms are reduced in another order on the GPU, so
// it is compared with a tolerance. Out-of-range indices: the CUDA kernels must neither
// fail nor touch memory out of bounds (a zero row of y; no contribution; no renorm).
#include "cuda_util.hpp"
#include "kernels/embedding.h"

namespace {

using namespace kn_cuda_test;

struct Table {
  int64_t V, D;
};

const std::vector<Table> kTables = {{7, 5}, {1, 3}, {300, 33}, {9, 0}};
const std::vector<Shape> kIndexShapes = {{}, {0}, {5}, {3, 4}, {2, 3, 4}, {64, 32}};

Shape with_dim(Shape s, int64_t D) {
  s.push_back(D);
  return s;
}

// Index storage: values in [0, modulus) at every storage position (guards included).
template <typename I>
std::function<I(size_t)> index_fill(int64_t modulus) {
  return [modulus](size_t i) { return static_cast<I>((i * 7919 + 3) % static_cast<size_t>(modulus)); };
}

template <typename T, typename I>
void forward_backward_case(std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync) {
  for (const Table& tb : kTables)
    for (const Shape& is : kIndexShapes)
      for (Layout li : kInputLayouts)
        for (Layout lo : kOutputLayouts)
          for (int64_t distinct : {tb.V, std::min<int64_t>(tb.V, 3)}) {
            SCOPED_TRACE("V " + std::to_string(tb.V) + " D " + std::to_string(tb.D) + " indices " + shape_str(is) +
                         " " + layout_name(li) + " out " + layout_name(lo) + " distinct " + std::to_string(distinct) +
                         (sizeof(I) == 4 ? " int32" : " int64"));
            Buffer<T> w({tb.V, tb.D}, li == Layout::Broadcast ? Layout::Transposed : li, rng);
            Buffer<I> idx(is, li, index_fill<I>(distinct));
            Buffer<T> y(with_dim(is, tb.D), lo, rng);
            KN_OK_(kn_embedding_forward(&w.h, &idx.h, &y.h, nullptr));
            KN_OK_(kn_embedding_forward(&w.d, &idx.d, &y.d, &ex));
            sync();
            EXPECT_TRUE(same_storage(y, 0, 0));
            Buffer<T> dy(with_dim(is, tb.D), li, rng), dw({tb.V, tb.D}, lo, rng);
            for (const kn_embedding_params p : {kn_embedding_params{-1, 0}, kn_embedding_params{tb.V - 1, 1}}) {
              KN_OK_(kn_embedding_backward(&p, &dy.h, &idx.h, &dw.h, nullptr));
              KN_OK_(kn_embedding_backward(&p, &dy.d, &idx.d, &dw.d, &ex));
              sync();
              EXPECT_TRUE(same_storage(dw, 0, 0)) << "padding_idx " << p.padding_idx;
            }
          }
}

TYPED_TEST(CudaKernels, EmbeddingForwardBackwardEqualCpu) {
  using T = TypeParam;
  forward_backward_case<T, int64_t>(this->rng_, this->ex_, [this] { this->sync(); });
  forward_backward_case<T, int32_t>(this->rng_, this->ex_, [this] { this->sync(); });
}

TYPED_TEST(CudaKernels, EmbeddingBackwardManyRepeatsLargeTable) {
  using T = TypeParam;
  Buffer<int64_t> idx({64, 32}, Layout::Contiguous, index_fill<int64_t>(50));
  Buffer<T> dy({64, 32, 64}, Layout::Transposed, this->rng_), dw({5000, 64}, Layout::Contiguous, this->rng_);
  const kn_embedding_params p{7, 1};
  KN_OK_(kn_embedding_backward(&p, &dy.h, &idx.h, &dw.h, nullptr));
  KN_OK_(kn_embedding_backward(&p, &dy.d, &idx.d, &dw.d, &this->ex_));
  this->sync();
  EXPECT_TRUE(same_storage(dw, 0, 0));
}

TYPED_TEST(CudaKernels, EmbeddingRenormCloseToCpu) {
  using T = TypeParam;
  const double inf = std::numeric_limits<double>::infinity();
  for (double norm_type : {1.0, 2.0, 3.5, inf})
    for (Layout lw : kOutputLayouts) {
      SCOPED_TRACE(std::string(layout_name(lw)) + " norm_type " + std::to_string(norm_type));
      Buffer<T> w({300, 40}, lw, this->rng_);
      Buffer<int64_t> idx({6, 7}, Layout::Sliced, index_fill<int64_t>(300));
      KN_OK_(kn_embedding_renorm(0.8, norm_type, &w.h, &idx.h, nullptr));
      KN_OK_(kn_embedding_renorm(0.8, norm_type, &w.d, &idx.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(w, 64 * eps<T>(), 0));
    }
}

// Out-of-range indices on CUDA: a zero row of y, no contribution to dweight, no renorm;
// nothing read or written out of bounds (compute-sanitizer in make test-gpu sees the rest).
TYPED_TEST(CudaKernels, EmbeddingBadIndicesAreHarmless) {
  using T = TypeParam;
  const int64_t V = 10, D = 4, N = 6;
  const std::vector<int64_t> values = {1, -1, 10, 3, INT64_MIN, 1};
  Buffer<int64_t> idx({N}, Layout::Contiguous, [&](size_t i) {
    return i >= size_t(Buffer<int64_t>::kGuard) && i < size_t(Buffer<int64_t>::kGuard + N)
               ? values[i - Buffer<int64_t>::kGuard] : int64_t(0);
  });
  Buffer<T> w({V, D}, Layout::Contiguous, this->rng_), y({N, D}, Layout::Contiguous, this->rng_);
  KN_OK_(kn_embedding_forward(&w.d, &idx.d, &y.d, &this->ex_));
  this->sync();
  const std::vector<T> yv = y.download(), wv = w.host();
  const int64_t g = Buffer<T>::kGuard;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t v = values[i];
    for (int64_t j = 0; j < D; ++j)
      EXPECT_EQ(yv[g + i * D + j], v >= 0 && v < V ? wv[g + v * D + j] : T(0)) << "position " << i;
  }
  Buffer<T> dy({N, D}, Layout::Contiguous, this->rng_), dw({V, D}, Layout::Contiguous, this->rng_);
  const kn_embedding_params p{-1, 1};
  KN_OK_(kn_embedding_backward(&p, &dy.d, &idx.d, &dw.d, &this->ex_));
  this->sync();
  const std::vector<T> dwv = dw.download(), dyv = dy.host();
  for (int64_t j = 0; j < D; ++j) {
    EXPECT_EQ(dwv[g + 1 * D + j], (T(0) + dyv[g + 0 * D + j] + dyv[g + 5 * D + j]) / T(2));
    EXPECT_EQ(dwv[g + 3 * D + j], T(0) + dyv[g + 3 * D + j]);
    EXPECT_EQ(dwv[g + 0 * D + j], T(0));
  }
  Buffer<T> w2({V, D}, Layout::Contiguous, this->rng_);
  KN_OK_(kn_embedding_renorm(0.0, 2.0, &w2.d, &idx.d, &this->ex_));
  this->sync();
  const std::vector<T> w2v = w2.download(), w2h = w2.host();
  for (int64_t v = 0; v < V; ++v)
    for (int64_t j = 0; j < D; ++j)
      EXPECT_EQ(w2v[g + v * D + j], v == 1 || v == 3 ? T(0) : w2h[g + v * D + j]) << "row " << v;
}

}  // namespace
