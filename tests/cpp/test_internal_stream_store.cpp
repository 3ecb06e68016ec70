// Tests of the element-wise store policy (kernels/internal/stream_store.hpp):
// streamed_row must write exactly what the kernel computes, for every element
// of the row and nothing outside it, whatever the size and alignment of the
// output, in place or not, and stream_copy must copy any byte range.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "kernels/internal/stream_store.hpp"
#include "kernels/ops/leaky_relu.hpp"
#include "kernels/ops/mse_loss.hpp"
#include "kernels/ops/relu.hpp"
#include "kernels/kernels.h"

namespace kntest {
namespace {

// f(i, v): a value that depends on the element and its input (catches shifts).
template <typename T>
T f(int64_t i, T v) { return v * T(3) + T(i % 7); }

// Runs streamed_row over out[0, n) = f(i, in[i]) at `offset` elements into a
// 64-byte aligned buffer with guard elements around it; checks every element.
template <typename T>
void check_row(int64_t n, int64_t offset, bool stream, bool in_place) {
  const int64_t guard = 64;
  std::vector<T> storage(static_cast<size_t>(n + offset + 2 * guard + 64), T(-7));
  // Align the base to 64 bytes, then move by `offset` elements.
  T* base = storage.data();
  while (reinterpret_cast<uintptr_t>(base) % 64 != 0) ++base;
  T* out = base + guard + offset;
  std::vector<T> input(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) input[size_t(i)] = T(i % 1000) * T(0.5);
  const T* in = input.data();
  if (in_place) {
    if (n > 0) std::memcpy(out, input.data(), sizeof(T) * size_t(n));  // data() may be NULL for n = 0
    in = out;
  }
  kn::streamed_row(n, out, stream, [in](int64_t i0, int64_t m, T* dst) {
    for (int64_t j = 0; j < m; ++j) dst[j] = f(i0 + j, in[i0 + j]);
  });
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(out[i], f(i, input[size_t(i)])) << "n=" << n << " offset=" << offset
                                              << " stream=" << stream << " i=" << i;
  for (int64_t g = 1; g <= guard; ++g) {
    ASSERT_EQ(out[-g], T(-7)) << "wrote before the row";
    ASSERT_EQ(out[n + g - 1], T(-7)) << "wrote after the row";
  }
}

TEST(StreamStore, RowEqualsPlainStoresForAnySizeAndAlignment) {
  const int64_t sizes[] = {0, 1, 3, 15, 16, 17, 1023, 1024, 2047, 2048, 2049, 4096 + 5, 20000};
  for (bool in_place : {false, true})
    for (bool stream : {false, true})
      for (int64_t n : sizes)
        for (int64_t offset : {0, 1, 3, 5, 16, 17}) {
          check_row<float>(n, offset, stream, in_place);
          check_row<double>(n, offset, stream, in_place);
        }
}

TEST(StreamStore, LargeRowBothWays) {
  const int64_t n = (int64_t(1) << 21) + 13;  // 8 MB of float: above kStreamMinBytes
  std::vector<float> touched(static_cast<size_t>(n), 1.0f);
  ASSERT_TRUE(kn::stream_output(touched.data(), n * int64_t(sizeof(float))) ||
              !KN_HAVE_STREAM_STORES);
  check_row<float>(n, 3, true, false);
  check_row<float>(n, 0, true, true);
}

TEST(StreamStore, PolicyThreshold) {
  // Resident memory: the size alone decides.
  std::vector<char> buf(static_cast<size_t>(kn::kStreamMinBytes), 1);
  EXPECT_FALSE(kn::stream_output(buf.data(), 0));
  EXPECT_FALSE(kn::stream_output(buf.data(), 301056 * 4));  // LeNet's first ReLU: stays cached
  EXPECT_FALSE(kn::stream_output(buf.data(), kn::kStreamMinBytes - 1));
  EXPECT_EQ(kn::stream_output(buf.data(), kn::kStreamMinBytes), bool(KN_HAVE_STREAM_STORES));
}

#if defined(__linux__)
// A fresh mapping has no pages until they are touched: no streaming into it
// (the page faults zero each page through the cache; plain stores hit it).
TEST(StreamStore, FreshPagesAreNotStreamed) {
  const int64_t bytes = 2 * kn::kStreamMinBytes;
  void* p = mmap(nullptr, static_cast<size_t>(bytes), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_FALSE(kn::pages_resident(p, bytes));
  EXPECT_FALSE(kn::stream_output(p, bytes));
  std::memset(p, 0, static_cast<size_t>(bytes / 2));  // half touched: the last page is not
  EXPECT_FALSE(kn::stream_output(p, bytes));
  std::memset(p, 0, static_cast<size_t>(bytes));
  EXPECT_TRUE(kn::pages_resident(p, bytes));
  EXPECT_EQ(kn::stream_output(p, bytes), bool(KN_HAVE_STREAM_STORES));
  munmap(p, static_cast<size_t>(bytes));
}
#endif

TEST(StreamStore, CopyAnyRangeAndAlignment) {
  std::vector<uint8_t> src(5000), dst(5200);
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 7 + 1);
  for (int64_t so : {0, 1, 16})
    for (int64_t d0 : {0, 1, 7, 16, 63})
      for (int64_t bytes : {0, 1, 15, 16, 17, 64, 100, 4096, 4099}) {
        std::fill(dst.begin(), dst.end(), uint8_t(0xAA));
        kn::stream_copy(dst.data() + 64 + d0, src.data() + so, bytes);
        kn::stream_fence();
        for (int64_t i = 0; i < bytes; ++i)
          ASSERT_EQ(dst[size_t(64 + d0 + i)], src[size_t(so + i)]) << bytes << " " << d0;
        ASSERT_EQ(dst[size_t(63 + d0)], 0xAA);
        ASSERT_EQ(dst[size_t(64 + d0 + bytes)], 0xAA);
      }
}

// The kernels that stream (relu and leaky_relu forward, mse_loss backward) give
// the same bits as plain scalar code on outputs above the threshold, for 1 and
// 2 threads, at an odd offset (unaligned rows) and in place.
kn_tensor view1d(float* data, int64_t n) {
  kn_tensor t{};
  t.data = data;
  t.dtype = KN_FLOAT32;
  t.device_type = KN_DEVICE_CPU;
  t.ndim = 1;
  t.shape[0] = n;
  t.strides[0] = 1;
  return t;
}

TEST(StreamStore, StreamingKernelsAreBitIdentical) {
  const int64_t n = (int64_t(1) << 21) + 5;  // 8 MB + 20 bytes of float32
  std::vector<float> x(size_t(n + 1)), t(size_t(n + 1)), y(size_t(n + 1));
  // y is resident (zero-filled): the kernels below stream into it.
  ASSERT_TRUE(kn::stream_output(y.data(), n * 4) || !KN_HAVE_STREAM_STORES);
  uint32_t state = 12345;
  for (int64_t i = 0; i <= n; ++i) {
    state = state * 1664525u + 1013904223u;
    x[size_t(i)] = (float(state >> 8) / float(1 << 24) - 0.5f) * 8.0f;
    t[size_t(i)] = float(i % 13) * 0.25f - 1.0f;
  }
  x[100] = std::numeric_limits<float>::quiet_NaN();
  const float slope = 0.01f, dout = 0.75f;
  for (int threads : {1, 2}) {
    const kn::CpuContext ctx{threads};
    // Offset 1: the rows start 4 bytes past an allocation boundary.
    const kn_tensor xv = view1d(x.data() + 1, n), tv = view1d(t.data() + 1, n),
                    yv = view1d(y.data() + 1, n);
    kn::cpu::relu_forward(xv, yv, ctx);
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[size_t(i + 1)], r = v < 0.0f ? 0.0f : v;
      ASSERT_EQ(std::memcmp(&y[size_t(i + 1)], &r, 4), 0) << "relu " << i;
    }
    kn::cpu::leaky_relu_forward(double(slope), xv, yv, ctx);
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[size_t(i + 1)], r = v > 0.0f ? v : v * slope;
      ASSERT_EQ(std::memcmp(&y[size_t(i + 1)], &r, 4), 0) << "leaky_relu " << i;
    }
    float d = dout;
    kn_tensor dv = view1d(&d, 1);
    dv.ndim = 0;
    kn::cpu::mse_loss_backward(KN_REDUCTION_MEAN, dv, xv, tv, &yv, nullptr, ctx);
    const float scale = 2.0f / float(n);
    for (int64_t i = 0; i < n; ++i) {
      const float r = scale * (x[size_t(i + 1)] - t[size_t(i + 1)]) * dout;
      ASSERT_EQ(std::memcmp(&y[size_t(i + 1)], &r, 4), 0) << "mse_loss " << i;
    }
    // In place: y = relu(y).
    std::vector<float> z(x);
    const kn_tensor zv = view1d(z.data(), n + 1);
    kn::cpu::relu_forward(zv, zv, ctx);
    for (int64_t i = 0; i <= n; ++i) {
      const float v = x[size_t(i)], r = v < 0.0f ? 0.0f : v;
      ASSERT_EQ(std::memcmp(&z[size_t(i)], &r, 4), 0) << "relu in place " << i;
    }
  }
}

}  // namespace
}  // namespace kntest
