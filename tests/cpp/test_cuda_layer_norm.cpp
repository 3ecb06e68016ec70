// CUDA layer_norm against the CPU kernels, through the C ABI (the checks:
// cuda_norm_case.hpp; conventions: test_cuda_kernels.cpp). Skips without a GPU.
#include "cuda_norm_case.hpp"
#include "kernels/layer_norm.h"

namespace {

using namespace kn_cuda_test;

struct LnConfig {
  Shape x;
  int k;
};

const std::vector<LnConfig> kConfigs = {
    {{4, 7}, 1},  {{3, 4, 5}, 2}, {{2, 3, 4, 5}, 3}, {{6}, 1},
    {{0, 5}, 1},  {{3, 0}, 1},    {{64, 1000}, 1},   {{5, 300, 3}, 1},
};

struct LayerNormOp {
  using Config = LnConfig;
  using Params = kn_layer_norm_params;
  static constexpr auto forward = kn_layer_norm_forward;
  static constexpr auto backward = kn_layer_norm_backward;
  static Params params(const LnConfig& c) { return {c.k, 1e-5}; }
  static std::string describe(const LnConfig& c) { return " k " + std::to_string(c.k); }
  static Shape lead(const LnConfig& c) { return Shape(c.x.begin(), c.x.end() - c.k); }
  static Shape norm(const LnConfig& c) { return Shape(c.x.end() - c.k, c.x.end()); }
  static int64_t terms(const LnConfig& c) {  // the rows
    int64_t rows = 1;
    for (int64_t s : lead(c)) rows *= s;
    return rows;
  }
};

TYPED_TEST(CudaKernels, LayerNorm) {
  norm_cases<LayerNormOp, TypeParam>(this->rng_, this->ex_, [this] { this->sync(); }, kConfigs);
}

// Two runs of the backward give bitwise-equal results (no atomics).
TYPED_TEST(CudaKernels, LayerNormBackwardDeterministic) {
  norm_backward_deterministic<LayerNormOp, TypeParam>(this->rng_, this->ex_, [this] { this->sync(); },
                                                      kn_layer_norm_params{1, 1e-5}, {257, 129}, {129}, {257});
}

}  // namespace
