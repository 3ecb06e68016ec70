// CUDA softmax / log_softmax / nll_loss / cross_entropy against the CPU
// kernels, through the C ABI (conventions: test_cuda_kernels.cpp). Whole
// output storages are compared, guards and gaps included. Skips without a GPU.
#include "cuda_util.hpp"
#include "kernels/kernels.h"  // softmax and the class losses

namespace {

using namespace kn_cuda_test;

// Class targets in [0, C), every third storage element ignore_index: a fill for Buffer<I>.
template <typename I>
std::function<I(size_t)> class_targets(int64_t classes, int64_t ignore, std::mt19937& rng) {
  return [classes, ignore, &rng](size_t i) {
    return static_cast<I>(i % 3 == 1 ? ignore : int64_t(rng() % uint64_t(std::max<int64_t>(classes, 1))));
  };
}

template <typename T>
double tolerance() {
  return sizeof(T) == 4 ? 2e-6 : 1e-13;
}

TYPED_TEST(CudaKernels, SoftmaxForwardBackward) {
  using T = TypeParam;
  const std::vector<std::pair<Shape, int>> cases = {{{5}, 0},        {{7, 13}, 1},      {{7, 13}, 0},
                                                    {{4, 5, 6}, 1},  {{3, 0, 4}, 2},    {{33, 1000}, 1},
                                                    {{2, 3, 600}, 2}, {{1, 9, 1, 2}, 1}};
  for (bool log : {false, true})
    for (const auto& [shape, dim] : cases)
      for (Layout lx : kInputLayouts)
        for (Layout ly : kOutputLayouts) {
          SCOPED_TRACE(std::string(log ? "log_softmax " : "softmax ") + shape_str(shape) + " dim " +
                       std::to_string(dim) + " x " + layout_name(lx) + " y " + layout_name(ly));
          Buffer<T> x(shape, lx, this->rng_), y(shape, ly, this->rng_), dy(shape, lx, this->rng_),
              dx(shape, ly, this->rng_);
          auto fwd = log ? kn_log_softmax_forward : kn_softmax_forward;
          auto bwd = log ? kn_log_softmax_backward : kn_softmax_backward;
          KN_OK_(fwd(dim, &x.h, &y.h, nullptr));
          KN_OK_(fwd(dim, &x.d, &y.d, &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(y, tolerance<T>(), tolerance<T>()));
          // Backward from the same y on both devices (the CPU's, uploaded).
          KN_OK_(bwd(dim, &dy.h, &y.h, &dx.h, nullptr));
          ASSERT_EQ(cudaMemcpy(static_cast<char*>(y.d.data) - (static_cast<const T*>(y.h.data) - y.host().data()) * sizeof(T),
                               y.host().data(), y.host().size() * sizeof(T), cudaMemcpyHostToDevice),
                    cudaSuccess);
          KN_OK_(bwd(dim, &dy.d, &y.d, &dx.d, &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(dx, tolerance<T>(), tolerance<T>()));
        }
}

TYPED_TEST(CudaKernels, SoftmaxInPlace) {
  using T = TypeParam;
  Buffer<T> x({9, 70}, Layout::Transposed, this->rng_);
  KN_OK_(kn_softmax_forward(1, &x.h, &x.h, nullptr));
  KN_OK_(kn_softmax_forward(1, &x.d, &x.d, &this->ex_));
  this->sync();
  EXPECT_TRUE(same_storage(x, tolerance<T>(), tolerance<T>()));
}

template <typename T, typename I>
void loss_case(std::mt19937& rng, const kn_exec& ex, bool ce, int32_t red, bool weighted, double eps, const Shape& ishape,
               Layout lin) {
  const size_t cd = ishape.size() == 1 ? 0 : 1;
  Shape tshape = ishape;
  tshape.erase(tshape.begin() + cd);
  const int64_t classes = ishape[cd];
  SCOPED_TRACE(std::string(ce ? "cross_entropy " : "nll_loss ") + shape_str(ishape) + " reduction " +
               std::to_string(red) + " weight " + std::to_string(weighted) + " eps " + std::to_string(eps) +
               " input " + layout_name(lin));
  Buffer<T> input(ishape, lin, rng), weight({classes}, Layout::Sliced, rng),
      out(red == KN_REDUCTION_NONE ? tshape : Shape{}, Layout::Contiguous, rng),
      tw({}, Layout::Contiguous, rng), dout(red == KN_REDUCTION_NONE ? tshape : Shape{}, Layout::Contiguous, rng),
      din(ishape, Layout::Transposed, rng);
  Buffer<I> target(tshape, Layout::Reversed, class_targets<I>(classes, 1, rng));
  const kn_cross_entropy_params p{red, 1, eps};
  const kn_tensor* wh = weighted ? &weight.h : nullptr;
  const kn_tensor* wd = weighted ? &weight.d : nullptr;
  if (ce) {
    KN_OK_(kn_cross_entropy_forward(&p, &input.h, &target.h, wh, &out.h, &tw.h, nullptr));
    KN_OK_(kn_cross_entropy_forward(&p, &input.d, &target.d, wd, &out.d, &tw.d, &ex));
    KN_OK_(kn_cross_entropy_backward(&p, &dout.h, &input.h, &target.h, wh, &tw.h, &din.h, nullptr));
    KN_OK_(kn_cross_entropy_backward(&p, &dout.d, &input.d, &target.d, wd, &tw.d, &din.d, &ex));
  } else {
    KN_OK_(kn_nll_loss_forward(&p, &input.h, &target.h, wh, &out.h, &tw.h, nullptr));
    KN_OK_(kn_nll_loss_forward(&p, &input.d, &target.d, wd, &out.d, &tw.d, &ex));
    KN_OK_(kn_nll_loss_backward(&p, &dout.h, &target.h, wh, &tw.h, &din.h, nullptr));
    KN_OK_(kn_nll_loss_backward(&p, &dout.d, &target.d, wd, &tw.d, &din.d, &ex));
  }
  ASSERT_EQ(cudaStreamSynchronize(static_cast<cudaStream_t>(ex.stream)), cudaSuccess);
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  EXPECT_TRUE(same_storage(out, tol, tol));
  EXPECT_TRUE(same_storage(tw, tol, tol));
  EXPECT_TRUE(same_storage(din, tol, tol));
}

TYPED_TEST(CudaKernels, ClassLosses) {
  using T = TypeParam;
  const std::vector<Shape> shapes = {{6, 5}, {5}, {3, 4, 2}, {2, 3, 2, 3}, {0, 4}, {40, 300}};
  for (bool ce : {false, true})
    for (int32_t red : {KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM})
      for (bool weighted : {false, true})
        for (const Shape& s : shapes)
          for (Layout l : {Layout::Contiguous, Layout::Transposed, Layout::Broadcast}) {
            loss_case<T, int64_t>(this->rng_, this->ex_, ce, red, weighted, ce ? 0.2 : 0.0, s, l);
            loss_case<T, int32_t>(this->rng_, this->ex_, ce, red, weighted, 0.0, s, l);
          }
}

// Out-of-range target on CUDA: NaN loss, NaN total_weight, NaN gradient row; no error.
TYPED_TEST(CudaKernels, OutOfRangeTargetGivesNan) {
  using T = TypeParam;
  Buffer<T> input({2, 3}, Layout::Contiguous, this->rng_), out({}, Layout::Contiguous, this->rng_),
      tw({}, Layout::Contiguous, this->rng_), dout({}, Layout::Contiguous, this->rng_),
      din({2, 3}, Layout::Contiguous, this->rng_);
  Buffer<int64_t> target({2}, Layout::Contiguous, int64_t(0));
  const int64_t bad[2] = {1, 7};
  ASSERT_EQ(cudaMemcpy(target.d.data, bad, sizeof bad, cudaMemcpyHostToDevice), cudaSuccess);
  const kn_cross_entropy_params p{KN_REDUCTION_SUM, -100, 0.0};
  KN_OK_(kn_cross_entropy_forward(&p, &input.d, &target.d, nullptr, &out.d, &tw.d, &this->ex_));
  KN_OK_(kn_cross_entropy_backward(&p, &dout.d, &input.d, &target.d, nullptr, &tw.d, &din.d, &this->ex_));
  this->sync();
  EXPECT_TRUE(std::isnan(double(out.download()[Buffer<T>::kGuard])));
  EXPECT_TRUE(std::isnan(double(tw.download()[Buffer<T>::kGuard])));
  const std::vector<T> g = din.download();
  EXPECT_FALSE(std::isnan(double(g[Buffer<T>::kGuard])));
  EXPECT_TRUE(std::isnan(double(g[Buffer<T>::kGuard + 3])));
}

}  // namespace
