// Shared machinery of the CUDA suites (tests/cpp/test_cuda_<op>.cpp): strided
// Buffers holding the same random storage on the host and on device 0, the
// whole-storage comparison, and the CudaKernels<T> fixture (skips without a
// GPU, runs ops on a created stream). See test_cuda_kernels.cpp for the
// conventions and examples.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/core.h"

namespace kn_cuda_test {

inline int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

#define CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr << ": " << cudaGetErrorString(expr)

// ------------------------------------------------------------ layouts

enum class Layout { Contiguous, Transposed, Sliced, Reversed, Broadcast };

inline const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Contiguous: return "contiguous";
    case Layout::Transposed: return "transposed";
    case Layout::Sliced: return "sliced";
    case Layout::Reversed: return "reversed";
    case Layout::Broadcast: return "broadcast";
  }
  return "?";
}

inline const std::vector<Layout> kInputLayouts = {Layout::Contiguous, Layout::Transposed, Layout::Sliced,
                                           Layout::Reversed, Layout::Broadcast};
// Outputs must not overlap themselves: no broadcast.
inline const std::vector<Layout> kOutputLayouts = {Layout::Contiguous, Layout::Transposed, Layout::Sliced,
                                            Layout::Reversed};

using Shape = std::vector<int64_t>;

inline std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  return o.str() + ")";
}

// Element strides of `shape` laid out as `layout`.
inline Shape make_strides(const Shape& shape, Layout layout) {
  const size_t nd = shape.size();
  Shape strides(nd, 0);
  if (nd == 0) return strides;
  Shape extent = shape;
  for (int64_t& e : extent) e = std::max<int64_t>(e, 1);
  if (layout == Layout::Sliced) extent[nd - 1] *= 2;  // every other element of the last dim
  if (layout == Layout::Transposed) {                 // dim 0 fastest (column-major)
    int64_t s = 1;
    for (size_t d = 0; d < nd; ++d) strides[d] = s, s *= extent[d];
    return strides;
  }
  int64_t s = 1;  // row-major over the (possibly widened) extents
  for (size_t d = nd; d-- > 0;) strides[d] = s, s *= extent[d];
  if (layout == Layout::Sliced) strides[nd - 1] = 2;
  if (layout == Layout::Reversed) strides[0] = -strides[0];
  if (layout == Layout::Broadcast) strides[0] = 0;
  return strides;
}

// ------------------------------------------------------------ buffers

// The kn_dtype of an element type: float data, int32/int64 indices, uint8 masks.
template <typename T>
constexpr int32_t kDtype = std::is_same_v<T, float>     ? KN_FLOAT32
                           : std::is_same_v<T, double>  ? KN_FLOAT64
                           : std::is_same_v<T, int32_t> ? KN_INT32
                           : std::is_same_v<T, int64_t> ? KN_INT64
                                                        : KN_UINT8;

// A strided view into its own storage, on the host and on device 0. `h` and
// `d` are the CPU and CUDA descriptors of the same view. Float storage is
// random; index and mask storage is filled from a function of the storage
// position (or a constant).
template <typename T>
class Buffer {
 public:
  static constexpr int64_t kGuard = 3;  // untouched elements around the view

  // Random storage in [-1, 1] (float T); special_values adds zeros and a NaN.
  Buffer(const Shape& shape, Layout layout, std::mt19937& rng, bool special_values = false) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    init(shape, layout, [&](size_t i) {
      const T v = T(dist(rng));
      return special_values && i % 7 == 3 ? T(0) : v;  // 0: the kink of relu
    });
    if (special_values && host_.size() > 20) {  // a NaN as the view's first element
      *static_cast<T*>(h.data) = std::numeric_limits<T>::quiet_NaN();
      upload();
    }
  }
  // Storage element i (guards and gaps included) = fill(i).
  Buffer(const Shape& shape, Layout layout, const std::function<T(size_t)>& fill) {
    init(shape, layout, fill);
  }
  // Every storage element = value.
  Buffer(const Shape& shape, Layout layout, T value) {
    init(shape, layout, [value](size_t) { return value; });
  }
  ~Buffer() {
    if (dev_) cudaFree(dev_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const std::vector<T>& host() const { return host_; }
  std::vector<T> download() const {
    std::vector<T> out(host_.size());
    if (cudaMemcpy(out.data(), dev_, bytes(), cudaMemcpyDeviceToHost) != cudaSuccess)
      ADD_FAILURE() << "cudaMemcpy back failed";
    return out;
  }
  // Host storage -> device storage (e.g. what a CPU call wrote, as the next input).
  void upload() {
    if (dev_ && cudaMemcpy(dev_, host_.data(), bytes(), cudaMemcpyHostToDevice) != cudaSuccess)
      ADD_FAILURE() << "cudaMemcpy failed";
  }

  kn_tensor h{}, d{};

 private:
  template <typename Fill>
  void init(const Shape& shape, Layout layout, Fill&& fill) {
    const Shape strides = make_strides(shape, layout);
    int64_t lo = 0, hi = 0;
    bool empty = false;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0) empty = true;
      const int64_t span = strides[i] * (shape[i] - 1);
      (span < 0 ? lo : hi) += shape[i] > 0 ? span : 0;
    }
    if (empty) lo = hi = 0;
    host_.resize(static_cast<size_t>(hi - lo + 1 + 2 * kGuard));
    for (size_t i = 0; i < host_.size(); ++i) host_[i] = fill(i);
    if (cudaMalloc(&dev_, bytes()) != cudaSuccess) {
      ADD_FAILURE() << "cudaMalloc failed";
      dev_ = nullptr;
    }
    upload();
    const int64_t offset = kGuard - lo;
    h = describe(host_.data() + offset, shape, strides, KN_DEVICE_CPU);
    d = describe(dev_ ? dev_ + offset : nullptr, shape, strides, KN_DEVICE_CUDA);
  }
  size_t bytes() const { return host_.size() * sizeof(T); }
  static kn_tensor describe(T* data, const Shape& shape, const Shape& strides, int32_t device) {
    kn_tensor t{};
    t.data = data;
    t.dtype = kDtype<T>;
    t.device_type = device;
    t.device_id = 0;
    t.ndim = static_cast<int32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) t.shape[i] = shape[i], t.strides[i] = strides[i];
    return t;
  }
  std::vector<T> host_;
  T* dev_ = nullptr;
};

// Storage after the CPU call vs storage after the CUDA call:
// |cpu - gpu| <= atol + rtol |cpu| everywhere, NaN where the other is NaN.
template <typename T>
::testing::AssertionResult same_storage(const Buffer<T>& b, double rtol, double atol) {
  const std::vector<T> gpu = b.download();
  const std::vector<T>& cpu = b.host();
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double c = cpu[i], g = gpu[i];
    const bool ok = (std::isnan(c) && std::isnan(g)) || std::fabs(c - g) <= atol + rtol * std::fabs(c);
    if (!ok)
      return ::testing::AssertionFailure()
             << "storage element " << i << " (view offset " << i - Buffer<T>::kGuard
             << "): cpu " << c << ", cuda " << g << " (of " << cpu.size() << ")";
  }
  return ::testing::AssertionSuccess();
}

template <typename T>
double eps() {
  return std::numeric_limits<T>::epsilon();
}

// ------------------------------------------------------------ fixture

template <typename T>
class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device (cudaGetDeviceCount reports none)";
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
    ex_ = kn_exec{stream_, nullptr, 0, 0, 0};
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }
  // Waits for the op queued on the stream (tests may synchronise; the
  // library never does) and checks that nothing failed asynchronously.
  void sync() {
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  }

  cudaStream_t stream_ = nullptr;
  kn_exec ex_{};
  std::mt19937 rng_{1234};
};

using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CudaKernels, FloatTypes);

#define KN_OK_(call) ASSERT_EQ((call), KN_OK) << #call << ": " << kn_last_error()

inline const std::vector<Shape> kElementwiseShapes = {{}, {0}, {5}, {3, 0, 4}, {7, 13}, {4, 5, 6},
                                               {1, 9, 1, 2}, {517, 613}};

}  // namespace kn_cuda_test
