// rnn: CUDA vs CPU through the C ABI (conventions: test_cuda_kernels.cpp).
// Skips without a GPU. The CPU kernels are checked against a double
// reference and finite differences in test_rnn.cpp; here they are the
// reference: each output's whole storage (the view, its gaps and guards)
// after the CUDA call against the same storage after the CPU call. Each
// device uses its own reserve (its layout is internal). The backward's
// scratch on CUDA is the caller's ex->workspace: too small a workspace is
// KN_ERR_WORKSPACE_TOO_SMALL and writes nothing.
#include <cmath>
#include <memory>
#include <numeric>

#include "cuda_util.hpp"
#include "kernels/rnn.h"

namespace {

using namespace kn_cuda_test;

struct RnnCase {
  const char* name;
  int32_t mode;
  bool reverse;
  std::vector<int64_t> batch_sizes;  // packed when not empty
  int64_t T, N, I, H, P;
  bool bias, h0;
  Layout x_layout, w_layout, y_layout;
};

const std::vector<RnnCase>& rnn_cases() {
  using L = Layout;
  static const std::vector<RnnCase> cases = {
      {"rnn_tanh", KN_RNN_TANH, false, {}, 5, 4, 7, 20, 0, true, true, L::Contiguous, L::Contiguous, L::Contiguous},
      {"rnn_relu_reverse", KN_RNN_RELU, true, {}, 4, 3, 5, 9, 0, false, true, L::Transposed, L::Sliced, L::Sliced},
      {"lstm", KN_LSTM, false, {}, 5, 4, 6, 17, 0, true, true, L::Sliced, L::Transposed, L::Reversed},
      {"lstm_reverse_no_h0", KN_LSTM, true, {}, 3, 5, 4, 8, 0, true, false, L::Reversed, L::Contiguous,
       L::Transposed},
      {"lstm_proj", KN_LSTM, false, {}, 4, 3, 5, 12, 5, true, true, L::Contiguous, L::Reversed, L::Contiguous},
      {"lstm_proj_packed_reverse", KN_LSTM, true, {4, 3, 3, 1}, 0, 0, 3, 10, 4, false, true, L::Transposed,
       L::Transposed, L::Sliced},
      {"gru", KN_GRU, false, {}, 5, 4, 6, 19, 0, true, true, L::Contiguous, L::Sliced, L::Transposed},
      {"gru_packed", KN_GRU, false, {5, 5, 2, 1}, 0, 0, 4, 7, 0, true, false, L::Sliced, L::Contiguous,
       L::Contiguous},
      {"gru_packed_reverse", KN_GRU, true, {3, 2, 2}, 0, 0, 4, 6, 0, true, true, L::Reversed, L::Contiguous,
       L::Reversed},
      {"rnn_tanh_one_step", KN_RNN_TANH, false, {}, 1, 2, 3, 4, 0, true, true, L::Contiguous, L::Contiguous,
       L::Contiguous},
      {"lstm_no_steps", KN_LSTM, false, {}, 0, 3, 3, 4, 0, true, true, L::Contiguous, L::Contiguous,
       L::Contiguous},
  };
  return cases;
}

int64_t gates(int32_t mode) { return mode == KN_LSTM ? 4 : mode == KN_GRU ? 3 : 1; }

// Everything one case needs on both devices.
template <typename T>
struct RnnBuffers {
  RnnCase c;
  kn_rnn_params p{};
  int64_t N, Hout, GH, rows, cols;
  std::unique_ptr<Buffer<T>> x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y, h_n, c_n, res_cpu, res_gpu, dy, dh_n,
      dc_n, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr;

  RnnBuffers(const RnnCase& rc, std::mt19937& rng) : c(rc) {
    const bool packed = !c.batch_sizes.empty();
    N = packed ? c.batch_sizes[0] : c.N;
    Hout = c.P > 0 ? c.P : c.H;
    GH = gates(c.mode) * c.H;
    rows = packed ? std::accumulate(c.batch_sizes.begin(), c.batch_sizes.end(), int64_t(0)) : c.T * c.N;
    p = {c.mode, c.reverse ? 1 : 0, c.H, c.P, packed ? c.batch_sizes.data() : nullptr,
         static_cast<int64_t>(c.batch_sizes.size())};
    EXPECT_EQ(kn_rnn_reserve_cols(&p, &cols), KN_OK) << kn_last_error();
    auto seq = [&](int64_t f) { return packed ? Shape{rows, f} : Shape{c.T, c.N, f}; };
    // Weights in torch's init range 1/sqrt(H), so that the states stay O(1).
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const double k = 1.0 / std::sqrt(static_cast<double>(c.H));
    auto weights = [&](const Shape& s, Layout l) {
      return std::make_unique<Buffer<T>>(s, l, std::function<T(size_t)>([&](size_t) { return T(k * u(rng)); }));
    };
    auto random = [&](const Shape& s, Layout l) { return std::make_unique<Buffer<T>>(s, l, rng); };
    x = random(seq(c.I), c.x_layout);
    h0 = random({N, Hout}, Layout::Transposed);
    c0 = random({N, c.H}, Layout::Reversed);
    w_ih = weights({GH, c.I}, c.w_layout);
    w_hh = weights({GH, Hout}, c.w_layout == Layout::Transposed ? Layout::Contiguous : Layout::Transposed);
    b_ih = weights({GH}, Layout::Sliced);
    b_hh = weights({GH}, Layout::Reversed);
    w_hr = weights({c.P, c.H}, Layout::Sliced);
    y = random(seq(Hout), c.y_layout);
    h_n = random({N, Hout}, Layout::Sliced);
    c_n = random({N, c.H}, Layout::Transposed);
    res_cpu = std::make_unique<Buffer<T>>(Shape{rows, cols}, Layout::Contiguous, T(0));
    res_gpu = std::make_unique<Buffer<T>>(Shape{rows, cols}, Layout::Contiguous, T(0));
    dy = random(seq(Hout), c.y_layout == Layout::Sliced ? Layout::Transposed : Layout::Sliced);
    dh_n = random({N, Hout}, Layout::Contiguous);
    dc_n = random({N, c.H}, Layout::Sliced);
    dx = random(seq(c.I), Layout::Reversed);
    dh0 = random({N, Hout}, Layout::Contiguous);
    dc0 = random({N, c.H}, Layout::Transposed);
    dw_ih = random({GH, c.I}, Layout::Transposed);
    dw_hh = random({GH, Hout}, Layout::Sliced);
    db_ih = random({GH}, Layout::Contiguous);
    db_hh = random({GH}, Layout::Reversed);
    dw_hr = random({c.P, c.H}, Layout::Contiguous);
  }
  bool lstm() const { return c.mode == KN_LSTM; }

  kn_status forward(bool cuda, const kn_exec* ex) {
    auto t = [cuda](const std::unique_ptr<Buffer<T>>& b) { return cuda ? &b->d : &b->h; };
    auto opt = [&](bool on, const std::unique_ptr<Buffer<T>>& b) { return on ? t(b) : nullptr; };
    return kn_rnn_forward(&p, t(x), opt(c.h0, h0), opt(c.h0 && lstm(), c0), t(w_ih), t(w_hh), opt(c.bias, b_ih),
                          opt(c.bias, b_hh), opt(c.P > 0, w_hr), t(y), t(h_n), opt(lstm(), c_n),
                          cuda ? &res_gpu->d : &res_cpu->h, ex);
  }
  kn_status backward(bool cuda, const kn_exec* ex) {
    auto t = [cuda](const std::unique_ptr<Buffer<T>>& b) { return cuda ? &b->d : &b->h; };
    auto opt = [&](bool on, const std::unique_ptr<Buffer<T>>& b) { return on ? t(b) : nullptr; };
    return kn_rnn_backward(&p, t(x), t(w_ih), t(w_hh), opt(c.P > 0, w_hr), cuda ? &res_gpu->d : &res_cpu->h, t(dy),
                           t(dh_n), opt(lstm(), dc_n), t(dx), t(dh0), opt(lstm(), dc0), t(dw_ih), t(dw_hh),
                           t(db_ih), t(db_hh), opt(c.P > 0, dw_hr), ex);
  }
  size_t workspace_bytes() const {
    size_t bytes = 0;
    EXPECT_EQ(kn_rnn_backward_workspace_size(&p, rows, N, kDtype<T>, &bytes), KN_OK) << kn_last_error();
    return bytes;
  }
};

// Device scratch, freed at scope exit.
struct DeviceScratch {
  void* p = nullptr;
  explicit DeviceScratch(size_t bytes) {
    if (bytes && cudaMalloc(&p, bytes) != cudaSuccess) ADD_FAILURE() << "cudaMalloc " << bytes;
  }
  ~DeviceScratch() {
    if (p) cudaFree(p);
  }
};

// Recurrences carry rounding through every step: a few hundred ulps.
template <typename T>
double rnn_tol() {
  return 500 * eps<T>();
}

TYPED_TEST(CudaKernels, RnnForwardEqualsCpu) {
  using T = TypeParam;
  for (const RnnCase& c : rnn_cases()) {
    SCOPED_TRACE(c.name);
    RnnBuffers<T> b(c, this->rng_);
    KN_OK_(b.forward(false, nullptr));
    KN_OK_(b.forward(true, &this->ex_));
    this->sync();
    const double tol = rnn_tol<T>();
    EXPECT_TRUE(same_storage(*b.y, tol, tol)) << "y";
    EXPECT_TRUE(same_storage(*b.h_n, tol, tol)) << "h_n";
    if (b.lstm()) {
      EXPECT_TRUE(same_storage(*b.c_n, tol, tol)) << "c_n";
    }
    EXPECT_TRUE(same_storage(*b.x, 0, 0)) << "x modified";
    EXPECT_TRUE(same_storage(*b.w_hh, 0, 0)) << "w_hh modified";
  }
}

TYPED_TEST(CudaKernels, RnnBackwardEqualsCpu) {
  using T = TypeParam;
  for (const RnnCase& c : rnn_cases()) {
    SCOPED_TRACE(c.name);
    RnnBuffers<T> b(c, this->rng_);
    KN_OK_(b.forward(false, nullptr));
    KN_OK_(b.forward(true, &this->ex_));
    const size_t bytes = b.workspace_bytes();
    DeviceScratch ws(bytes);
    kn_exec ex = this->ex_;
    ex.workspace = ws.p, ex.workspace_bytes = bytes;
    KN_OK_(b.backward(false, nullptr));
    KN_OK_(b.backward(true, &ex));
    this->sync();
    const double tol = 4 * rnn_tol<T>();
    EXPECT_TRUE(same_storage(*b.dx, tol, tol)) << "dx";
    EXPECT_TRUE(same_storage(*b.dh0, tol, tol)) << "dh0";
    EXPECT_TRUE(same_storage(*b.dw_ih, tol, tol)) << "dw_ih";
    EXPECT_TRUE(same_storage(*b.dw_hh, tol, tol)) << "dw_hh";
    EXPECT_TRUE(same_storage(*b.db_ih, tol, tol)) << "db_ih";
    EXPECT_TRUE(same_storage(*b.db_hh, tol, tol)) << "db_hh";
    if (b.lstm()) {
      EXPECT_TRUE(same_storage(*b.dc0, tol, tol)) << "dc0";
    }
    if (c.P > 0) {
      EXPECT_TRUE(same_storage(*b.dw_hr, tol, tol)) << "dw_hr";
    }
    EXPECT_TRUE(same_storage(*b.dy, 0, 0)) << "dy modified";
  }
}

// The backward's device scratch: too small (by one byte, or none at all)
// fails with KN_ERR_WORKSPACE_TOO_SMALL naming the size, before any output is
// written; a misaligned one is an invalid argument; the CPU ignores it.
TYPED_TEST(CudaKernels, RnnBackwardWorkspaceErrors) {
  using T = TypeParam;
  const RnnCase c = rnn_cases()[4];  // lstm_proj: every scratch part
  RnnBuffers<T> b(c, this->rng_);
  KN_OK_(b.forward(true, &this->ex_));
  this->sync();
  const size_t bytes = b.workspace_bytes();
  ASSERT_GT(bytes, 0u);
  DeviceScratch ws(bytes + sizeof(T));
  struct Try {
    const char* what;
    void* workspace;
    size_t bytes;
    kn_status status;
  };
  for (const Try& t : {Try{"one byte short", ws.p, bytes - 1, KN_ERR_WORKSPACE_TOO_SMALL},
                       Try{"none", nullptr, 0, KN_ERR_WORKSPACE_TOO_SMALL},
                       Try{"half", ws.p, bytes / 2, KN_ERR_WORKSPACE_TOO_SMALL},
                       Try{"misaligned", static_cast<char*>(ws.p) + 1, bytes, KN_ERR_INVALID_ARGUMENT}}) {
    SCOPED_TRACE(t.what);
    kn_exec ex = this->ex_;
    ex.workspace = t.workspace, ex.workspace_bytes = t.bytes;
    const kn_status s = b.backward(true, &ex);
    EXPECT_EQ(s, t.status) << kn_status_string(s) << ": " << kn_last_error();
    const std::string m = kn_last_error();
    EXPECT_EQ(m.rfind("kn_rnn_backward: ex->workspace", 0), 0u) << m;
    this->sync();
    for (const auto* out : {&b.dx, &b.dh0, &b.dc0, &b.dw_ih, &b.dw_hh, &b.db_ih, &b.db_hh, &b.dw_hr})
      EXPECT_TRUE(same_storage(**out, 0, 0)) << "a failing call wrote an output";
  }
  // Exactly enough succeeds.
  kn_exec ex = this->ex_;
  ex.workspace = ws.p, ex.workspace_bytes = bytes;
  KN_OK_(b.backward(true, &ex));
  // The CPU allocates its own: a tiny (host) workspace does not matter.
  char host_ws[8];
  kn_exec cpu = kn_exec{nullptr, host_ws, 1, 1, 0};
  KN_OK_(b.backward(false, &cpu));
  this->sync();
}

}  // namespace
