// Helpers shared by the Google Benchmark binaries (benchmarks/bench_*.cpp):
// owning contiguous CPU tensors, status checks, the kn_exec of a benchmark's
// thread argument and the FLOP / byte counters.
//
// Counters (Google Benchmark prints them with SI suffixes, JSON has raw values):
//   FLOP/s      floating-point operations per second (an FMA = 2), for the
//               GEMM-bound ops; the count of each benchmark is written next to it.
//   bytes_per_second  (SetBytesProcessed) bytes read + written per call as the
//               kernel must move them at least once (no cache reuse assumed),
//               for the memory-bound ops.
//   items_per_second  elements (or calls, for the 1-element rows) per second.
#pragma once

#include <benchmark/benchmark.h>
#include <kernels/kernels.h>

#include <cstdint>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace kn_bench {

// A contiguous CPU tensor of dtype T that owns its storage, filled from a fixed seed.
template <typename T>
struct Buf {
  std::vector<T> data;
  kn_tensor t{};

  explicit Buf(std::initializer_list<int64_t> shape) { init(std::vector<int64_t>(shape)); }
  explicit Buf(const std::vector<int64_t>& shape) { init(shape); }

  int64_t numel() const { return int64_t(data.size()); }
  int64_t bytes() const { return int64_t(data.size() * sizeof(T)); }

  // Uniform in [lo, hi) (floats) or [lo, hi] (integers).
  Buf& fill(double lo, double hi, uint32_t seed = 42) {
    std::mt19937 rng(seed);
    if constexpr (std::is_floating_point_v<T>) {
      std::uniform_real_distribution<T> d{T(lo), T(hi)};
      for (T& v : data) v = d(rng);
    } else {
      std::uniform_int_distribution<int64_t> d{int64_t(lo), int64_t(hi)};
      for (T& v : data) v = T(d(rng));
    }
    return *this;
  }

 private:
  void init(const std::vector<int64_t>& shape) {
    t.dtype = dtype_code();
    t.device_type = KN_DEVICE_CPU;
    t.ndim = int32_t(shape.size());
    int64_t n = 1;
    for (size_t d = 0; d < shape.size(); ++d) t.shape[d] = shape[d], n *= shape[d];
    for (int64_t i = t.ndim - 1, stride = 1; i >= 0; --i) t.strides[i] = stride, stride *= t.shape[i];
    data.assign(size_t(n), T(0));
    t.data = data.data();
    if constexpr (std::is_floating_point_v<T>) fill(-1.0, 1.0);
  }
  static int32_t dtype_code() {
    if constexpr (std::is_same_v<T, float>) return KN_FLOAT32;
    if constexpr (std::is_same_v<T, double>) return KN_FLOAT64;
    if constexpr (std::is_same_v<T, int32_t>) return KN_INT32;
    if constexpr (std::is_same_v<T, int64_t>) return KN_INT64;
    if constexpr (std::is_same_v<T, uint8_t>) return KN_UINT8;
    return -1;
  }
};

using F32 = Buf<float>;

// Throws (Google Benchmark reports the error and skips) on a failed call.
inline void check(kn_status s) {
  if (s != KN_OK) throw std::runtime_error(std::string(kn_status_string(s)) + ": " + kn_last_error());
}

// The C ABI's execution context with num_threads = state.range(arg).
inline kn_exec threads(const benchmark::State& state, int arg) {
  return kn_exec{nullptr, nullptr, 0, int32_t(state.range(arg)), 0};
}

// FLOP/s from a per-call FLOP count.
inline void set_flops(benchmark::State& state, double flops_per_call) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_call, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOP"] = benchmark::Counter(flops_per_call);
}

// bytes_per_second and items_per_second from per-call counts.
inline void set_bytes(benchmark::State& state, double bytes_per_call, double items_per_call) {
  state.SetBytesProcessed(int64_t(double(state.iterations()) * bytes_per_call));
  state.SetItemsProcessed(int64_t(double(state.iterations()) * items_per_call));
}

}  // namespace kn_bench
