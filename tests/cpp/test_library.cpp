// The library-wide entry points: status strings, versions, threads, BLAS
// info, the thread-local last error, concurrent calls, CUDA tensors.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reference.hpp"
#include "tensor_util.hpp"

#ifdef KN_TEST_HAVE_CUDART
#include <cuda_runtime_api.h>
#include "kernels/kernels.h"
#endif

namespace kntest {
namespace {

TEST(Library, StatusStringOfEveryStatus) {
  const std::vector<std::pair<kn_status, const char*>> names = {
      {KN_OK, "KN_OK"},
      {KN_ERR_INVALID_ARGUMENT, "KN_ERR_INVALID_ARGUMENT"},
      {KN_ERR_SHAPE_MISMATCH, "KN_ERR_SHAPE_MISMATCH"},
      {KN_ERR_UNSUPPORTED, "KN_ERR_UNSUPPORTED"},
      {KN_ERR_NOT_BUILT, "KN_ERR_NOT_BUILT"},
      {KN_ERR_WORKSPACE_TOO_SMALL, "KN_ERR_WORKSPACE_TOO_SMALL"},
      {KN_ERR_OUT_OF_MEMORY, "KN_ERR_OUT_OF_MEMORY"},
      {KN_ERR_BACKEND, "KN_ERR_BACKEND"},
      {KN_ERR_INTERNAL, "KN_ERR_INTERNAL"},
  };
  for (const auto& [status, name] : names) EXPECT_STREQ(kn_status_string(status), name);
  // Never NULL, even for a value outside the enum.
  for (int bad : {-1, 9, 1000}) {
    const char* s = kn_status_string(static_cast<kn_status>(bad));
    ASSERT_NE(s, nullptr);
    EXPECT_GT(std::string(s).size(), 0u);
  }
}

TEST(Library, AbiVersionMatchesHeader) {
  EXPECT_EQ(kn_abi_version(), (uint32_t(KN_ABI_VERSION_MAJOR) << 16) | uint32_t(KN_ABI_VERSION_MINOR));
  EXPECT_EQ(kn_abi_version() >> 16, uint32_t(KN_ABI_VERSION_MAJOR));
}

TEST(Library, VersionString) {
  const char* v = kn_version_string();
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(std::regex_match(v, std::regex(R"(\d+\.\d+\.\d+.*)"))) << v;
}

TEST(Library, HasCudaIsZeroOrOne) {
  const int32_t c = kn_has_cuda();
  EXPECT_TRUE(c == 0 || c == 1) << c;
}

TEST(Library, SetNumThreadsRejectsNegative) {
  const int32_t before = kn_get_num_threads();
  EXPECT_EQ(kn_set_num_threads(-1), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_set_num_threads"), std::string::npos) << kn_last_error();
  EXPECT_EQ(kn_get_num_threads(), before) << "a rejected call changed the default";
  KN_EXPECT_OK(kn_set_num_threads(0));  // success clears the last error
}

TEST(Library, SetGetNumThreadsRoundTrip) {
  const int32_t deflt = kn_get_num_threads();
  EXPECT_GE(deflt, 1);
  for (int32_t n : {1, 3, 2}) {
    KN_EXPECT_OK(kn_set_num_threads(n));
    EXPECT_EQ(kn_get_num_threads(), n);
  }
  // With a default of 1 and of 2, num_threads = 0 in kn_exec runs and agrees.
  Rng rng(5);
  HostTensor x({300, 257}, KN_FLOAT32), y1({300, 257}, KN_FLOAT32), y2({300, 257}, KN_FLOAT32);
  x.fill_random(rng);
  const kn_tensor xk = x.kn(), y1k = y1.kn(), y2k = y2.kn();
  const kn_exec ex = make_exec(0);
  KN_EXPECT_OK(kn_set_num_threads(1));
  KN_EXPECT_OK(kn_relu_forward(&xk, &y1k, &ex));
  KN_EXPECT_OK(kn_set_num_threads(2));
  KN_EXPECT_OK(kn_relu_forward(&xk, &y2k, &ex));
  EXPECT_TRUE(all_equal("y", y1.values(), y2.values()));
  EXPECT_TRUE(all_equal("y", y1.values(), ref::relu_forward(x.values())));
  KN_EXPECT_OK(kn_set_num_threads(0));  // restores the default
  EXPECT_EQ(kn_get_num_threads(), deflt);
}

TEST(Library, BlasInfoNamesACore) {
  const char* info = kn_blas_info();
  ASSERT_NE(info, nullptr) << kn_last_error();
  EXPECT_NE(std::string(info).find("core"), std::string::npos) << info;
  EXPECT_STREQ(kn_last_error(), "");
}

// Through the shared library's C ABI (the values are checked against the
// kernels' own decisions in test_internal_cpu_info.cpp).
TEST(Library, CpuInfoNamesTheDispatch) {
  const char* info = kn_cpu_info();
  ASSERT_NE(info, nullptr) << kn_last_error();
  EXPECT_STREQ(kn_last_error(), "");
  const std::string s = info;
  for (const char* key : {"cpu=", "; vendor=", "; isa=", "; l1d=", "; elementwise=", "; softmax=",
                          "; gemm_ladder=", "; sdpa_softmax=", "; conv2d_direct=", "; blas="})
    EXPECT_NE(s.find(key), std::string::npos) << key << " missing from " << s;
  EXPECT_EQ(kn_cpu_info(), info);  // static: the same string every call
}

// A NULL-x relu: the simplest failing call.
kn_status failing_call(const char* which) {
  HostTensor y({2}, KN_FLOAT32);
  const kn_tensor yk = y.kn();
  return which[0] == 'f' ? kn_relu_forward(nullptr, &yk, nullptr) : kn_relu_backward(nullptr, &yk, &yk, nullptr);
}

TEST(Library, LastErrorIsThreadLocal) {
  ASSERT_EQ(failing_call("forward"), KN_ERR_INVALID_ARGUMENT);
  const std::string main_error = kn_last_error();
  ASSERT_NE(main_error.find("kn_relu_forward"), std::string::npos) << main_error;

  std::string other_before, other_after;
  std::thread t([&] {
    other_before = kn_last_error();  // a new thread starts clean
    failing_call("backward");
    other_after = kn_last_error();
  });
  t.join();
  EXPECT_EQ(other_before, "");
  EXPECT_NE(other_after.find("kn_relu_backward"), std::string::npos) << other_after;
  EXPECT_EQ(std::string(kn_last_error()), main_error) << "another thread's failure showed here";

  // Another thread's success does not clear this thread's error either.
  std::thread ok([] { EXPECT_EQ(kn_set_num_threads(0), KN_OK); });
  ok.join();
  EXPECT_EQ(std::string(kn_last_error()), main_error);
  KN_EXPECT_OK(kn_set_num_threads(0));
}

// Entry points are thread-safe: four threads calling linear and mse_loss at
// once with their own data all get the reference results.
TEST(Library, ConcurrentCallsAreCorrect) {
  constexpr int kThreads = 4, kIters = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t)
    pool.emplace_back([t, &failures] {
      Rng rng(100 + t);
      for (int it = 0; it < kIters; ++it) {
        const int64_t N = 3 + t, in = 5 + it % 4, out = 2 + it % 3;
        HostTensor x({N, in}, KN_FLOAT64), w({out, in}, KN_FLOAT64, Layout::transpose()),
            y({N, out}, KN_FLOAT64), loss({}, KN_FLOAT64);
        x.fill_random(rng), w.fill_random(rng);
        const kn_tensor xk = x.kn(), wk = w.kn(), yk = y.kn(), lk = loss.kn();
        const kn_exec ex = make_exec(1 + it % 2);
        if (kn_linear_forward(&xk, &wk, nullptr, &yk, &ex) != KN_OK ||
            kn_mse_loss_forward(KN_REDUCTION_SUM, &yk, &yk, &lk, &ex) != KN_OK ||
            std::string(kn_last_error()) != "") {
          ++failures;
          continue;
        }
        const ref::Vec want = ref::linear_forward(x.values(), w.values(), {}, N, in, out);
        const ref::Vec got = y.values();
        for (size_t i = 0; i < want.size(); ++i)
          if (std::fabs(got[i] - want[i]) > 1e-12) ++failures;
        if (loss.get(0) != 0.0) ++failures;
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// A call whose tensors are all on CUDA: KN_ERR_NOT_BUILT without CUDA; with
// CUDA built but no GPU, a backend error. (With a GPU, the CUDA kernels are
// tested by test_cuda_kernels.)
TEST(Library, CudaTensors) {
  HostTensor x({2, 3}, KN_FLOAT32), y({2, 3}, KN_FLOAT32);
  kn_tensor xk = x.kn(), yk = y.kn();
  xk.device_type = yk.device_type = KN_DEVICE_CUDA;
  kn_status expected = KN_ERR_NOT_BUILT;
  if (kn_has_cuda()) {
#ifdef KN_TEST_HAVE_CUDART
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess && count > 0)
      GTEST_SKIP() << "a GPU is present: CUDA kernels are tested by test_cuda_kernels";
    expected = KN_ERR_BACKEND;
#else
    GTEST_SKIP() << "CUDA build, test compiled without the CUDA runtime";
#endif
  }
  EXPECT_EQ(kn_relu_forward(&xk, &yk, nullptr), expected) << kn_last_error();
  EXPECT_NE(std::string(kn_last_error()).find("kn_relu_forward"), std::string::npos) << kn_last_error();
  if (expected == KN_ERR_NOT_BUILT) {
    EXPECT_NE(std::string(kn_last_error()).find("CUDA"), std::string::npos) << kn_last_error();
  }
}

// ---- descriptor rules every entry point shares (capi/validate.cpp), issue 10 F6

// A float32 CPU descriptor over `data` with the given shape and strides.
kn_tensor view_of(void* data, std::vector<int64_t> shape, std::vector<int64_t> strides) {
  kn_tensor t = HostTensor({1}, KN_FLOAT32).kn();
  t.data = data, t.ndim = static_cast<int32_t>(shape.size());
  for (int d = 0; d < t.ndim; ++d) t.shape[d] = shape[d], t.strides[d] = strides[d];
  return t;
}

// Strides whose element extent fits int64 but whose byte extent does not
// (2^61 elements of 4 bytes) are refused before any access.
TEST(Validation, ByteExtentBeyondInt64Refused) {
  float y[4];
  const kn_tensor x = view_of(y, {2, 2}, {int64_t{1} << 61, 1}), yk = view_of(y, {2, 2}, {2, 1});
  EXPECT_EQ(kn_relu_forward(&x, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_relu_forward: x: byte extent of shape (2, 2) with "
                                              "strides (2305843009213693952, 1) overflows int64"),
            std::string::npos)
      << kn_last_error();
}

// Size-1 dims address nothing: any stride there is legal (2^62 twice, or
// INT64_MIN, which llabs could not take), and the call computes as usual.
TEST(Validation, SizeOneDimsIgnoreTheirStrides) {
  float x = -2.5f, y = 7.f;
  for (int64_t s : {int64_t{1} << 62, INT64_MIN, INT64_MAX, int64_t{-3}}) {
    SCOPED_TRACE("stride " + std::to_string(s));
    const kn_tensor xk = view_of(&x, {1, 1}, {s, s}), yk = view_of(&y, {1, 1}, {s, s});
    KN_EXPECT_OK(kn_relu_forward(&xk, &yk, nullptr));
    EXPECT_EQ(y, 0.f);
    x = 1.5f;
    KN_EXPECT_OK(kn_sigmoid_forward(&xk, &yk, nullptr));
    EXPECT_FLOAT_EQ(y, 1.f / (1.f + std::exp(-1.5f)));
    x = -2.5f, y = 7.f;
  }
}

// An empty tensor addresses nothing either: NULL data and any strides.
TEST(Validation, EmptyTensorsIgnoreTheirStrides) {
  const kn_tensor x = view_of(nullptr, {0, 3}, {INT64_MIN, INT64_MAX}),
                  y = view_of(nullptr, {0, 3}, {INT64_MAX, -7});
  KN_EXPECT_OK(kn_relu_forward(&x, &y, nullptr));
  // Huge sizes beside the 0: the strided walker must not multiply them out
  // (UBSan found 5 * 2^62 in make_layout's dim merging).
  const kn_tensor hx = view_of(nullptr, {5, int64_t{1} << 62, 0}, {1, 1, 1}),
                  hy = view_of(nullptr, {5, int64_t{1} << 62, 0}, {1, 1, 1});
  KN_EXPECT_OK(kn_relu_forward(&hx, &hy, nullptr));
  KN_EXPECT_OK(kn_sigmoid_backward(&hx, &hx, &hy, nullptr));
}

// A view must not wrap around the address space (data near 0 with negative strides).
TEST(Validation, ViewWrappingTheAddressSpaceRefused) {
  float y[3];
  const kn_tensor x = view_of(reinterpret_cast<void*>(uintptr_t{4}), {3}, {-1}), yk = view_of(y, {3}, {1});
  EXPECT_EQ(kn_relu_forward(&x, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("wraps around the address space"), std::string::npos)
      << kn_last_error();
}

// A failure raised inside a kernel (here the 32-bit BLAS interface) still
// names the entry point, as every message must (kn_last_error's contract).
TEST(Validation, KernelErrorsNameTheEntryPoint) {
  float one = 1, y = 0;
  const int64_t K = int64_t{1} << 31;  // broadcast views: one float in memory
  const kn_tensor x = view_of(&one, {1, K}, {0, 0}), w = view_of(&one, {1, K}, {0, 0}),
                  yk = view_of(&y, {1, 1}, {1, 1});
  EXPECT_EQ(kn_linear_forward(&x, &w, nullptr, &yk, nullptr), KN_ERR_UNSUPPORTED);
  EXPECT_EQ(std::string(kn_last_error()).rfind("kn_linear_forward: BLAS: K = 2147483648 exceeds", 0), 0u)
      << kn_last_error();
}

// The header says a CPU tensor's device_id is 0.
TEST(Validation, CpuDeviceIdMustBeZero) {
  float x[2] = {1, -1}, y[2];
  kn_tensor xk = view_of(x, {2}, {1}), yk = view_of(y, {2}, {1});
  xk.device_id = 1;
  EXPECT_EQ(kn_relu_forward(&xk, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_relu_forward: x: CPU device_id must be 0, got 1"),
            std::string::npos)
      << kn_last_error();
  xk.device_id = 0, yk.device_id = -1;
  EXPECT_EQ(kn_relu_forward(&xk, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace kntest
