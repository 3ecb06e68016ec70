// CUDA group_norm against the CPU kernels, through the C ABI (the checks:
// cuda_norm_case.hpp; conventions: test_cuda_kernels.cpp). Skips without a GPU.
#include "cuda_norm_case.hpp"
#include "kernels/group_norm.h"

namespace {

using namespace kn_cuda_test;

struct GnConfig {
  Shape x;
  int64_t g;
};

const std::vector<GnConfig> kConfigs = {
    {{2, 6, 4, 5}, 3}, {{3, 4, 7}, 2},  {{2, 4}, 4},       {{1, 8, 2, 3, 2}, 1},
    {{0, 4, 3}, 2},    {{2, 4, 0}, 2},  {{4, 32, 28, 28}, 8},
};

struct GroupNormOp {
  using Config = GnConfig;
  using Params = kn_group_norm_params;
  static constexpr auto forward = kn_group_norm_forward;
  static constexpr auto backward = kn_group_norm_backward;
  static Params params(const GnConfig& c) { return {c.g, 1e-5}; }
  static std::string describe(const GnConfig& c) { return " G " + std::to_string(c.g); }
  static Shape lead(const GnConfig& c) { return {c.x[0], c.g}; }
  static Shape norm(const GnConfig& c) { return {c.x[1]}; }
  static int64_t terms(const GnConfig& c) {  // N times the spatial size
    int64_t rows = 1;
    for (size_t d = 0; d < c.x.size(); ++d) rows *= d == 1 ? 1 : c.x[d];
    return rows;
  }
};

TYPED_TEST(CudaKernels, GroupNorm) {
  norm_cases<GroupNormOp, TypeParam>(this->rng_, this->ex_, [this] { this->sync(); }, kConfigs);
}

// Two runs of the backward give bitwise-equal results (no atomics).
TYPED_TEST(CudaKernels, GroupNormBackwardDeterministic) {
  norm_backward_deterministic<GroupNormOp, TypeParam>(this->rng_, this->ex_, [this] { this->sync(); },
                                                      kn_group_norm_params{4, 1e-5}, {9, 16, 17, 13}, {16}, {9, 4});
}

}  // namespace
