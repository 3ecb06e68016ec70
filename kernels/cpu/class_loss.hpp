// CPU drivers of the class-index losses (nll_loss.cpp, cross_entropy.cpp):
// the target range check, the per-row reduction and the per-row loop.
#pragma once

#include <array>
#include <cstdint>
#include <limits>

#include "kernels/internal/class_loss.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/strided.hpp"

namespace kn::cpu {

// Throws KN_ERR_INVALID_ARGUMENT for the first target (in memory order) that
// is neither ignore_index nor in [0, C). Called before any output is written.
template <typename I>
void check_targets(const char* op, const kn_tensor& target, int64_t classes,
                   int64_t ignore_index) {
  const StridedLayout<1> L = make_layout<1>({&target});
  for_each_row<const I, 1>(L, {static_cast<const I*>(target.data)}, 0, L.numel,
                           [&](int64_t n, const std::array<const I*, 1>& p,
                               const std::array<int64_t, 1>& s) {
                             for (int64_t i = 0; i < n; ++i) {
                               const int64_t t = static_cast<int64_t>(p[0][i * s[0]]);
                               if (t != ignore_index && (t < 0 || t >= classes))
                                 fail(KN_ERR_INVALID_ARGUMENT, op, ": target: value ", t,
                                      " is out of range [0, ", classes,
                                      ") and is not ignore_index (", ignore_index, ")");
                             }
                           });
}

// Sum over all rows of row(ptrs) -> LossSum, deterministic for any thread
// count (fixed blocks of rows, partials added in order). views/data: the
// operands' row views (operand 0 drives the order).
template <size_t N, typename Row>
LossSum sum_rows(const std::array<kn_tensor, N>& views, const std::array<void*, N>& data,
                 int64_t classes, int threads, Row&& row) {
  const StridedLayout<N> L = row_layout(views);
  if (L.numel == 0) return LossSum{};
  std::array<char*, N> base;
  for (size_t k = 0; k < N; ++k) base[k] = static_cast<char*>(data[k]);
  return parallel_reduce_sum<LossSum>(
      L.numel, loss_block_rows(classes), threads, [&](int64_t b, int64_t e) {
        LossSum sum;
        for_each_row(L, base, b, e,
                     [&](int64_t n, const std::array<char*, N>& p, const std::array<int64_t, N>& s) {
                       std::array<char*, N> at;
                       for (int64_t j = 0; j < n; ++j) {
                         for (size_t k = 0; k < N; ++k) at[k] = p[k] + j * s[k];
                         sum += row(at);
                       }
                     });
        return sum;
      });
}

// The reduced value: SUM, or MEAN = sum / total weight (0/0 = NaN, as torch).
inline double reduce_loss(int32_t reduction, const LossSum& s) {
  return reduction == KN_REDUCTION_MEAN ? s.loss / s.weight : s.loss;
}

// The gradient scale of row r: dout[r] (NONE, read by the caller), else the
// scalar dout (SUM) or dout / total_weight (MEAN).
template <typename T>
double reduced_grad(int32_t reduction, const kn_tensor& dout, const kn_tensor& total_weight) {
  const double g = double(*static_cast<const T*>(dout.data));
  return reduction == KN_REDUCTION_MEAN ? g / double(*static_cast<const T*>(total_weight.data)) : g;
}

}  // namespace kn::cpu
