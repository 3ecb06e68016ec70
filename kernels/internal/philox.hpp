// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11; the Random123 constants), a counter-based generator usable from
// C++ and CUDA device code: the random words of counter c under key k are a
// pure function of (c, k), so any element's randomness can be computed
// independently, in any order, on any device.
//
// Dropout's keep-mask (kernels/cpu/dropout.cpp, kernels/cuda/dropout.cu):
// element i (its logical row-major index) uses word i % 4 of
// philox4x32_10(counter = {i / 4 low, i / 4 high, 0, 0}, key = {seed low,
// seed high}) and is kept iff that word >= dropout_threshold(p).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define KN_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define KN_HOST_DEVICE inline
#endif

namespace kn {

struct Philox4 {
  uint32_t v[4];
};

KN_HOST_DEVICE void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// The 4 random words of counter (c0, c1, c2, c3) under key (k0, k1).
KN_HOST_DEVICE Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                     uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k0 += W0, k1 += W1;
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(M0, c0, hi0, lo0);
    philox_mulhilo(M1, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0, c1 = lo1, c2 = n2, c3 = lo0;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The 4 words used by the logical elements 4g .. 4g + 3 under `seed`.
KN_HOST_DEVICE Philox4 philox_group(uint64_t seed, uint64_t group) {
  return philox4x32_10(static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32), 0u, 0u,
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// A word w keeps its element iff w >= dropout_threshold(p): probability
// (2^32 - floor(p 2^32)) / 2^32, i.e. 1 - p to within 2^-32; exactly 1 for
// p = 0 and exactly 0 for p = 1 (the threshold 2^32 exceeds every word).
KN_HOST_DEVICE uint64_t dropout_threshold(double p) {
  return static_cast<uint64_t>(p * 4294967296.0);
}

// The scale of kept elements: 1 / (1 - p), and 0 for p = 1 (as torch:
// every element is then x * 0).
KN_HOST_DEVICE double dropout_scale(double p) { return p >= 1.0 ? 0.0 : 1.0 / (1.0 - p); }

}  // namespace kn
