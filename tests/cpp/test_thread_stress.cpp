// Thread stress: many threads calling the C ABI at once must get the same
// bits as the same calls made one at a time (DESIGN.md: "Concurrent calls from
// many threads must give the same bits as serial calls, whatever thread count
// each call asks for"), and kn_last_error() must be per thread.
//
//   Mixed          8 worker threads x many calls drawn at random from a mix of
//                  ops (linear with large GEMMs >= 2^24 multiply-adds on
//                  OpenBLAS's threads, mid-size split GEMMs and small ones,
//                  linear backward, conv2d forward/backward, max/avg pooling,
//                  softmax/log_softmax, activations, cross_entropy, dropout with
//                  fixed seeds, gspmm, embedding, rnn, layer_norm, group_norm,
//                  scaled_dot_product_attention), each with a per-call thread count
//                  (ex = NULL, num_threads 1, 2, 3, 4), while one more thread
//                  flips kn_set_num_threads between 0..4 the whole time. Every
//                  output (with guard bytes around it) is compared with memcmp
//                  to the same call run serially beforehand. A call with
//                  ex = NULL uses the library default, which the flipper keeps
//                  changing: its result must equal the serial result for one
//                  of the defaults the flipper sets. Every 8th call a worker
//                  provokes its own distinct error and checks that it reads its
//                  own message back while the others keep calling.
//   LinearMixedThreadCountsF2
//                  the regression of issue 10 / F2: one thread's large GEMM on
//                  2+ OpenBLAS threads while other threads call linear with
//                  other thread counts (and ex = NULL) returned KN_OK with whole
//                  blocks of y wrong, because the thread count is process-global
//                  state in OpenBLAS.
//   LastErrorIsPerThread
//                  8 threads, each provoking its own error in a loop.
//
// Size: KN_STRESS_SCALE (default 1; 0.25 when built with ASan) multiplies the
// number of calls, e.g. KN_STRESS_SCALE=50 for a campaign of a few minutes:
//   KN_STRESS_SCALE=50 build/cmake/tests/cpp/test_thread_stress
// Each test prints its call count and mismatch count.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tensor_util.hpp"
#include "kernels/kernels.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KN_STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KN_STRESS_SANITIZED 1
#endif
#endif

namespace kntest {
namespace {

constexpr int32_t kNullExec = -1;  // Job::threads: call with ex = NULL
// The defaults the flipper thread cycles through (0 = OpenMP's default).
const std::vector<int32_t> kFlipValues = {1, 2, 3, 4, 0};

double stress_scale() {
  double s = 1.0;
#ifdef KN_STRESS_SANITIZED
  s = 0.25;  // ASan/UBSan slow our own loops ~3-10x (OpenBLAS is not instrumented)
#endif
  if (const char* e = std::getenv("KN_STRESS_SCALE")) {
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    if (end != e && v > 0) s = v;
  }
  return s;
}

int scaled(int n) { return std::max(1, static_cast<int>(std::lround(n * stress_scale()))); }

// ------------------------------------------------------------------ buffers

size_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case KN_FLOAT64: case KN_INT64: return 8;
    case KN_FLOAT32: case KN_INT32: return 4;
    case KN_FLOAT16: case KN_BFLOAT16: return 2;
    default: return 1;
  }
}

// A contiguous output of any dtype with guard bytes on both sides. The whole
// buffer starts as a fixed byte pattern, so comparing the whole buffer also
// catches writes outside the view.
class OutBuf {
 public:
  static constexpr size_t kGuard = 64;
  OutBuf(Shape shape, int32_t dtype) : shape_(std::move(shape)), dtype_(dtype) {
    bytes_.assign(kGuard + static_cast<size_t>(shape_numel(shape_)) * dtype_size(dtype_) + kGuard, 0xA5);
  }
  kn_tensor kn() {
    kn_tensor t;
    std::memset(&t, 0, sizeof t);
    t.data = bytes_.data() + kGuard;
    t.dtype = dtype_;
    t.device_type = KN_DEVICE_CPU;
    t.ndim = static_cast<int32_t>(shape_.size());
    int64_t acc = 1;
    for (int d = t.ndim - 1; d >= 0; --d) {
      t.shape[d] = shape_[d];
      t.strides[d] = acc;
      acc *= shape_[d];
    }
    return t;
  }
  const std::vector<unsigned char>& bytes() const { return bytes_; }
  int32_t dtype() const { return dtype_; }

 private:
  Shape shape_;
  int32_t dtype_;
  std::vector<unsigned char> bytes_;
};

using Bytes = std::vector<std::vector<unsigned char>>;  // the bytes of each output of one call

// How two results of one output differ: elements and the largest relative error.
std::string describe_difference(const std::vector<unsigned char>& got, const std::vector<unsigned char>& want,
                                int32_t dtype) {
  const size_t es = dtype_size(dtype);
  size_t first = 0, count = 0;
  double worst = 0;
  for (size_t off = 0; off + es <= got.size(); off += es) {
    if (std::memcmp(&got[off], &want[off], es) == 0) continue;
    if (count++ == 0) first = off;
    double a = 0, b = 0;
    if (dtype == KN_FLOAT32) {
      float fa, fb;
      std::memcpy(&fa, &got[off], 4), std::memcpy(&fb, &want[off], 4);
      a = fa, b = fb;
    } else if (dtype == KN_FLOAT64) {
      std::memcpy(&a, &got[off], 8), std::memcpy(&b, &want[off], 8);
    } else {
      continue;
    }
    const double rel = std::fabs(a - b) / std::max(std::fabs(b), 1e-30);
    if (std::isfinite(rel)) worst = std::max(worst, rel);
  }
  std::ostringstream o;
  o << count << " of " << got.size() / es << " elements differ (first at byte " << first;
  if (first < OutBuf::kGuard || first >= got.size() - OutBuf::kGuard) o << ", in a guard";
  o << ")";
  if (dtype == KN_FLOAT32 || dtype == KN_FLOAT64) o << ", max relative error " << worst;
  return o.str();
}

// ------------------------------------------------------------------ jobs

// One op call with fixed inputs and a fixed per-call thread count. Inputs are
// shared by every thread (read-only); each call gets fresh copies of the
// output prototypes.
struct Job {
  std::string name;
  int32_t threads = kNullExec;
  std::vector<OutBuf> outs;  // prototypes
  std::function<kn_status(std::vector<kn_tensor>& outs, const kn_exec* ex)> call;
  std::vector<Bytes> accepted;  // serial results (one; for ex = NULL, one per default)

  std::string label() const {
    return name + (threads == kNullExec ? " ex=NULL" : " threads=" + std::to_string(threads));
  }
  // Run once into fresh outputs; returns the status, fills `result`.
  kn_status run(Bytes& result) const {
    std::vector<OutBuf> o = outs;
    std::vector<kn_tensor> t;
    t.reserve(o.size());
    for (OutBuf& b : o) t.push_back(b.kn());
    const kn_exec ex = make_exec(threads == kNullExec ? 0 : threads);
    const kn_status s = call(t, threads == kNullExec ? nullptr : &ex);
    result.resize(o.size());
    for (size_t i = 0; i < o.size(); ++i) result[i] = o[i].bytes();
    return s;
  }
  // Index of the accepted result equal to `got`, or -1.
  int match(const Bytes& got) const {
    for (size_t i = 0; i < accepted.size(); ++i)
      if (accepted[i] == got) return static_cast<int>(i);
    return -1;
  }
  std::string explain(const Bytes& got) const {
    std::ostringstream o;
    const Bytes& want = accepted.front();
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i] != want[i]) o << " output " << i << ": " << describe_difference(got[i], want[i], outs[i].dtype()) << ";";
    return o.str();
  }
};

// Inputs live as long as the jobs that read them.
struct Inputs {
  std::vector<std::shared_ptr<HostTensor>> floats;
  std::vector<std::shared_ptr<IndexTensor>> indices;
  std::vector<std::shared_ptr<std::vector<unsigned char>>> raw;  // uint8 tensors
  kn_tensor add(Rng& rng, const Shape& shape, int32_t dtype, Layout layout = {}, double lo = -1, double hi = 1) {
    floats.push_back(std::make_shared<HostTensor>(shape, dtype, layout));
    floats.back()->fill_random(rng, lo, hi);
    return floats.back()->kn();
  }
  kn_tensor add_index(const Shape& shape, const std::vector<int64_t>& values, int32_t dtype = KN_INT64) {
    indices.push_back(std::make_shared<IndexTensor>(shape, dtype));
    indices.back()->set_values(values);
    return indices.back()->kn();
  }
};

using CallFn = std::function<kn_status(std::vector<kn_tensor>&, const kn_exec*)>;

// One job per thread count in `threads` for one op call.
void add_jobs(std::vector<Job>& jobs, const std::string& name, const std::vector<OutBuf>& outs, CallFn call,
              const std::vector<int32_t>& threads = {kNullExec, 1, 2, 3, 4}) {
  for (int32_t t : threads) {
    Job j;
    j.name = name, j.threads = t, j.outs = outs, j.call = call;
    jobs.push_back(std::move(j));
  }
}

void add_linear(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t N, int64_t K, int64_t M,
                bool bias, Layout xl = {}, const std::vector<int32_t>& threads = {kNullExec, 1, 2, 3, 4}) {
  const kn_tensor x = in.add(rng, {N, K}, dt, xl), w = in.add(rng, {M, K}, dt), b = in.add(rng, {M}, dt);
  std::ostringstream name;
  name << "linear_forward " << dtype_str(dt) << " " << N << "x" << K << "->" << M << (bias ? "" : " no-bias")
       << (xl.is_contiguous() ? "" : " x=" + xl.name());
  add_jobs(jobs, name.str(), {OutBuf({N, M}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_linear_forward(&x, &w, bias ? &b : nullptr, &o[0], ex);
           }, threads);
}

void add_linear_backward(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t N, int64_t K,
                         int64_t M, Layout dyl = {}) {
  const kn_tensor x = in.add(rng, {N, K}, dt), w = in.add(rng, {M, K}, dt), dy = in.add(rng, {N, M}, dt, dyl);
  std::ostringstream name;
  name << "linear_backward " << dtype_str(dt) << " " << N << "x" << K << "->" << M
       << (dyl.is_contiguous() ? "" : " dy=" + dyl.name());
  add_jobs(jobs, name.str(), {OutBuf({N, K}, dt), OutBuf({M, K}, dt), OutBuf({M}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_linear_backward(&dy, &x, &w, &o[0], &o[1], &o[2], ex);
           });
}

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

void add_conv2d(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t N, int64_t C, int64_t H,
                int64_t W, int64_t O, int64_t k, kn_conv2d_params p, Layout xl = {}) {
  const int64_t Ho = conv_out(H, k, p.stride[0], p.padding[0], p.dilation[0]);
  const int64_t Wo = conv_out(W, k, p.stride[1], p.padding[1], p.dilation[1]);
  const kn_tensor x = in.add(rng, {N, C, H, W}, dt, xl), w = in.add(rng, {O, C / p.groups, k, k}, dt),
                  b = in.add(rng, {O}, dt), dy = in.add(rng, {N, O, Ho, Wo}, dt);
  std::ostringstream name;
  name << dtype_str(dt) << " x(" << N << "," << C << "," << H << "," << W << ") w(" << O << "," << C / p.groups
       << "," << k << "," << k << ") s" << p.stride[0] << " p" << p.padding[0] << " d" << p.dilation[0] << " g"
       << p.groups << (xl.is_contiguous() ? "" : " x=" + xl.name());
  add_jobs(jobs, "conv2d_forward " + name.str(), {OutBuf({N, O, Ho, Wo}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_conv2d_forward(&p, &x, &w, &b, &o[0], ex); });
  add_jobs(jobs, "conv2d_backward " + name.str(),
           {OutBuf({N, C, H, W}, dt), OutBuf({O, C / p.groups, k, k}, dt), OutBuf({O}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_conv2d_backward(&p, &dy, &x, &w, &o[0], &o[1], &o[2], ex);
           });
}

void add_pooling(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt) {
  const int64_t N = 4, C = 16, H = 32, W = 32;
  {  // max pool 3x3 stride 2 padding 1, int64 indices; backward from fixed indices
    kn_max_pool2d_params p{{3, 3}, {2, 2}, {1, 1}, {1, 1}, 0};
    const int64_t Ho = 16, Wo = 16;
    const kn_tensor x = in.add(rng, {N, C, H, W}, dt), dy = in.add(rng, {N, C, Ho, Wo}, dt);
    // indices from a serial forward (so the backward scatters like a real one)
    OutBuf y({N, C, Ho, Wo}, dt), idx({N, C, Ho, Wo}, KN_INT64);
    kn_tensor yk = y.kn(), ik = idx.kn();
    EXPECT_EQ(kn_max_pool2d_forward(&p, &x, &yk, &ik, nullptr), KN_OK) << kn_last_error();
    std::vector<int64_t> iv(static_cast<size_t>(N * C * Ho * Wo));
    std::memcpy(iv.data(), ik.data, iv.size() * 8);
    const kn_tensor indices = in.add_index({N, C, Ho, Wo}, iv);
    add_jobs(jobs, std::string("max_pool2d_forward ") + dtype_str(dt), {OutBuf({N, C, Ho, Wo}, dt), OutBuf({N, C, Ho, Wo}, KN_INT64)},
             [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_max_pool2d_forward(&p, &x, &o[0], &o[1], ex); });
    add_jobs(jobs, std::string("max_pool2d_backward ") + dtype_str(dt), {OutBuf({N, C, H, W}, dt)},
             [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_max_pool2d_backward(&p, &dy, &indices, &o[0], ex); });
  }
  {  // avg pool 2x2 stride 2 (the 2x2 fast path), and 3x3 stride 2 padding 1 count_include_pad 0
    for (int variant = 0; variant < 2; ++variant) {
      kn_avg_pool2d_params p = variant == 0 ? kn_avg_pool2d_params{{2, 2}, {2, 2}, {0, 0}, 0, 1, 0}
                                            : kn_avg_pool2d_params{{3, 3}, {2, 2}, {1, 1}, 0, 0, 0};
      const int64_t Ho = 16, Wo = 16;
      const kn_tensor x = in.add(rng, {N, C, H, W}, dt, variant ? Layout::transpose() : Layout{}),
                      dy = in.add(rng, {N, C, Ho, Wo}, dt);
      const std::string name = std::string(dtype_str(dt)) + (variant ? " 3x3s2p1 x=transposed" : " 2x2s2");
      add_jobs(jobs, "avg_pool2d_forward " + name, {OutBuf({N, C, Ho, Wo}, dt)},
               [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_avg_pool2d_forward(&p, &x, &o[0], ex); });
      add_jobs(jobs, "avg_pool2d_backward " + name, {OutBuf({N, C, H, W}, dt)},
               [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_avg_pool2d_backward(&p, &dy, &o[0], ex); });
    }
  }
}

// Adaptive pooling (issue 13): 7 -> 3 (overlapping bins: the gather backward),
// 28 -> 7, and the global average of a channels-last (N, C, 7, 7) input.
void add_adaptive_pooling(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt) {
  struct Geo {
    int64_t N, C, H, W, Ho, Wo;
    bool nhwc;
  };
  for (const Geo& g : {Geo{8, 32, 7, 7, 3, 3, false}, Geo{4, 16, 28, 28, 7, 7, false}, Geo{8, 256, 7, 7, 1, 1, true}}) {
    kn_tensor x = in.add(rng, g.nhwc ? Shape{g.N, g.H, g.W, g.C} : Shape{g.N, g.C, g.H, g.W}, dt);
    if (g.nhwc) {  // the (N, H, W, C) storage seen as (N, C, H, W)
      const int64_t sh[4] = {g.N, g.C, g.H, g.W}, st[4] = {x.strides[0], x.strides[3], x.strides[1], x.strides[2]};
      for (int d = 0; d < 4; ++d) x.shape[d] = sh[d], x.strides[d] = st[d];
    }
    const Shape out{g.N, g.C, g.Ho, g.Wo}, full{g.N, g.C, g.H, g.W};
    const kn_tensor dy = in.add(rng, out, dt, Layout::transpose());
    OutBuf y(out, dt), idx(out, KN_INT64);
    kn_tensor yk = y.kn(), ik = idx.kn();
    EXPECT_EQ(kn_adaptive_max_pool2d_forward(&x, &yk, &ik, nullptr), KN_OK) << kn_last_error();
    std::vector<int64_t> iv(static_cast<size_t>(shape_numel(out)));
    std::memcpy(iv.data(), ik.data, iv.size() * 8);
    const kn_tensor indices = in.add_index(out, iv);
    const std::string name = std::string(dtype_str(dt)) + " " + shape_str(full) + " -> " + shape_str(out) +
                             (g.nhwc ? " x=NHWC" : "");
    add_jobs(jobs, "adaptive_avg_pool2d_forward " + name, {OutBuf(out, dt)},
             [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_adaptive_avg_pool2d_forward(&x, &o[0], ex); });
    add_jobs(jobs, "adaptive_avg_pool2d_backward " + name, {OutBuf(full, dt)},
             [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_adaptive_avg_pool2d_backward(&dy, &o[0], ex); });
    add_jobs(jobs, "adaptive_max_pool2d_forward " + name, {OutBuf(out, dt), OutBuf(out, KN_INT64)},
             [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
               return kn_adaptive_max_pool2d_forward(&x, &o[0], &o[1], ex);
             });
    add_jobs(jobs, "adaptive_max_pool2d_backward " + name, {OutBuf(full, dt)},
             [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
               return kn_adaptive_max_pool2d_backward(&dy, &indices, &o[0], ex);
             });
  }
}

void add_softmax(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, const Shape& shape, int32_t dim,
                 Layout xl = {}) {
  const kn_tensor x = in.add(rng, shape, dt, xl, -8, 8), dy = in.add(rng, shape, dt);
  // y for the backwards: a real softmax / log_softmax output
  OutBuf ys(shape, dt), yl(shape, dt);
  kn_tensor ysk = ys.kn(), ylk = yl.kn();
  EXPECT_EQ(kn_softmax_forward(dim, &x, &ysk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_log_softmax_forward(dim, &x, &ylk, nullptr), KN_OK) << kn_last_error();
  auto copy_in = [&](const kn_tensor& t) {
    in.floats.push_back(std::make_shared<HostTensor>(shape, dt));
    std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = dt == KN_FLOAT32 ? static_cast<const float*>(t.data)[i] : static_cast<const double*>(t.data)[i];
    in.floats.back()->set_values(v);
    return in.floats.back()->kn();
  };
  const kn_tensor ysm = copy_in(ysk), ylsm = copy_in(ylk);
  const std::string name = std::string(dtype_str(dt)) + " " + shape_str(shape) + " dim " + std::to_string(dim) +
                           (xl.is_contiguous() ? "" : " x=" + xl.name());
  add_jobs(jobs, "softmax_forward " + name, {OutBuf(shape, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_softmax_forward(dim, &x, &o[0], ex); });
  add_jobs(jobs, "softmax_backward " + name, {OutBuf(shape, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_softmax_backward(dim, &dy, &ysm, &o[0], ex); });
  add_jobs(jobs, "log_softmax_forward " + name, {OutBuf(shape, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_log_softmax_forward(dim, &x, &o[0], ex); });
  add_jobs(jobs, "log_softmax_backward " + name, {OutBuf(shape, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_log_softmax_backward(dim, &dy, &ylsm, &o[0], ex); });
}

void add_activations(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, const Shape& shape, Layout xl = {}) {
  const kn_tensor x = in.add(rng, shape, dt, xl, -4, 4), dy = in.add(rng, shape, dt),
                  y01 = in.add(rng, shape, dt, {}, 0, 1);  // a sigmoid/tanh-like output
  const std::string sfx = std::string(" ") + dtype_str(dt) + " " + shape_str(shape) +
                          (xl.is_contiguous() ? "" : " x=" + xl.name());
  const std::vector<OutBuf> one = {OutBuf(shape, dt)};
  using F = std::vector<kn_tensor>;
  add_jobs(jobs, "relu_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_relu_forward(&x, &o[0], ex); });
  add_jobs(jobs, "relu_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_relu_backward(&dy, &x, &o[0], ex); });
  add_jobs(jobs, "sigmoid_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_sigmoid_forward(&x, &o[0], ex); });
  add_jobs(jobs, "sigmoid_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_sigmoid_backward(&dy, &y01, &o[0], ex); });
  add_jobs(jobs, "tanh_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_tanh_forward(&x, &o[0], ex); });
  add_jobs(jobs, "tanh_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_tanh_backward(&dy, &y01, &o[0], ex); });
  add_jobs(jobs, "leaky_relu_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_leaky_relu_forward(0.1, &x, &o[0], ex); });
  add_jobs(jobs, "leaky_relu_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_leaky_relu_backward(0.1, 0, &dy, &x, &o[0], ex); });
  for (kn_gelu_approximate a : {KN_GELU_NONE, KN_GELU_TANH}) {
    const std::string g = a == KN_GELU_NONE ? "gelu" : "gelu_tanh";
    add_jobs(jobs, g + "_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_gelu_forward(a, &x, &o[0], ex); });
    add_jobs(jobs, g + "_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_gelu_backward(a, &dy, &x, &o[0], ex); });
  }
  // The scaffold's activations (issue 13). relu6 and hardtanh take the output in
  // the backward; x in [-4, 4] serves as one (values past the bounds give 0).
  add_jobs(jobs, "silu_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_silu_forward(&x, &o[0], ex); });
  add_jobs(jobs, "silu_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_silu_backward(&dy, &x, &o[0], ex); });
  add_jobs(jobs, "mish_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_mish_forward(&x, &o[0], ex); });
  add_jobs(jobs, "mish_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_mish_backward(&dy, &x, &o[0], ex); });
  add_jobs(jobs, "hardswish_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_hardswish_forward(&x, &o[0], ex); });
  add_jobs(jobs, "hardswish_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_hardswish_backward(&dy, &x, &o[0], ex); });
  add_jobs(jobs, "hardsigmoid_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_hardsigmoid_forward(&x, &o[0], ex); });
  add_jobs(jobs, "hardsigmoid_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_hardsigmoid_backward(&dy, &x, &o[0], ex); });
  add_jobs(jobs, "relu6_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_relu6_forward(&x, &o[0], ex); });
  add_jobs(jobs, "relu6_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_relu6_backward(&dy, &x, &o[0], ex); });
  add_jobs(jobs, "elu_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_elu_forward(0.7, &x, &o[0], ex); });
  add_jobs(jobs, "elu_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_elu_backward(0.7, &dy, &x, &o[0], ex); });
  add_jobs(jobs, "hardtanh_forward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_hardtanh_forward(-2.0, 1.5, &x, &o[0], ex); });
  add_jobs(jobs, "hardtanh_backward" + sfx, one, [=](F& o, const kn_exec* ex) { return kn_hardtanh_backward(-2.0, 1.5, &dy, &x, &o[0], ex); });
}

void add_cross_entropy(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t N, int64_t C,
                       int32_t reduction, double smoothing) {
  std::vector<int64_t> tv(static_cast<size_t>(N));
  for (auto& t : tv) t = rng.integer(0, C - 1);
  tv[1] = -100;  // one ignored row
  const kn_tensor input = in.add(rng, {N, C}, dt, {}, -5, 5), target = in.add_index({N}, tv),
                  weight = in.add(rng, {C}, dt, {}, 0.5, 2);
  const kn_cross_entropy_params p{reduction, -100, smoothing};
  const Shape out_shape = reduction == KN_REDUCTION_NONE ? Shape{N} : Shape{};
  const kn_tensor dout = in.add(rng, out_shape, dt);
  // total_weight from a serial forward
  OutBuf o0(out_shape, dt), tw0({}, dt);
  kn_tensor o0k = o0.kn(), tw0k = tw0.kn();
  EXPECT_EQ(kn_cross_entropy_forward(&p, &input, &target, &weight, &o0k, &tw0k, nullptr), KN_OK) << kn_last_error();
  const double twv = dt == KN_FLOAT32 ? *static_cast<const float*>(tw0k.data) : *static_cast<const double*>(tw0k.data);
  in.floats.push_back(std::make_shared<HostTensor>(Shape{}, dt));
  in.floats.back()->set_values({twv});
  const kn_tensor tw = in.floats.back()->kn();
  std::ostringstream name;
  name << dtype_str(dt) << " (" << N << "," << C << ") reduction " << reduction << " smoothing " << smoothing;
  add_jobs(jobs, "cross_entropy_forward " + name.str(), {OutBuf(out_shape, dt), OutBuf({}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_cross_entropy_forward(&p, &input, &target, &weight, &o[0], &o[1], ex);
           });
  add_jobs(jobs, "cross_entropy_backward " + name.str(), {OutBuf({N, C}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_cross_entropy_backward(&p, &dout, &input, &target, &weight, &tw, &o[0], ex);
           });
}

void add_dropout(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, const Shape& shape, double p,
                 uint64_t seed, Layout xl = {}) {
  const kn_tensor x = in.add(rng, shape, dt, xl), dy = in.add(rng, shape, dt);
  std::vector<int64_t> mv(static_cast<size_t>(shape_numel(shape)));
  for (auto& m : mv) m = rng.uniform(0, 1) >= p ? 1 : 0;
  // a uint8 mask: IndexTensor holds int32/int64 only, so keep raw bytes
  in.raw.push_back(std::make_shared<std::vector<unsigned char>>(mv.begin(), mv.end()));
  const auto& mask_bytes = in.raw.back();
  kn_tensor mask;
  std::memset(&mask, 0, sizeof mask);
  mask.data = mask_bytes->data(), mask.dtype = KN_UINT8, mask.device_type = KN_DEVICE_CPU;
  mask.ndim = static_cast<int32_t>(shape.size());
  int64_t acc = 1;
  for (int d = mask.ndim - 1; d >= 0; --d) mask.shape[d] = shape[d], mask.strides[d] = acc, acc *= shape[d];
  const std::string name = std::string(dtype_str(dt)) + " " + shape_str(shape) + " p " + std::to_string(p) +
                           (xl.is_contiguous() ? "" : " x=" + xl.name());
  add_jobs(jobs, "dropout_forward " + name, {OutBuf(shape, dt), OutBuf(shape, KN_UINT8)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_dropout_forward(p, seed, &x, &o[0], &o[1], ex); });
  add_jobs(jobs, "dropout_backward " + name, {OutBuf(shape, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_dropout_backward(p, &dy, &mask, &o[0], ex); });
}

void add_gspmm(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t num_dst, int64_t num_src, int64_t F) {
  std::vector<int64_t> indptr{0}, indices;
  for (int64_t v = 0; v < num_dst; ++v) {
    const int64_t len = v % 17 == 0 ? 0 : rng.integer(1, 24);
    for (int64_t k = 0; k < len; ++k) indices.push_back(rng.integer(0, num_src - 1));
    indptr.push_back(static_cast<int64_t>(indices.size()));
  }
  const int64_t E = static_cast<int64_t>(indices.size());
  const kn_tensor ip = in.add_index({num_dst + 1}, indptr), ix = in.add_index({E}, indices);
  // the transposed graph, serially
  OutBuf tp({num_src + 1}, KN_INT64), ti({E}, KN_INT64), te({E}, KN_INT64);
  kn_tensor tpk = tp.kn(), tik = ti.kn(), tek = te.kn();
  EXPECT_EQ(kn_csr_transpose(&ip, &ix, &tpk, &tik, &tek, nullptr), KN_OK) << kn_last_error();
  auto keep = [&](const kn_tensor& t, int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    std::memcpy(v.data(), t.data, v.size() * 8);
    return in.add_index({n}, v);
  };
  const kn_tensor t_indptr = keep(tpk, num_src + 1), t_indices = keep(tik, E), t_edge_ids = keep(tek, E);
  const kn_tensor x = in.add(rng, {num_src, F}, dt, Layout::transpose()), ev = in.add(rng, {E}, dt),
                  dy = in.add(rng, {num_dst, F}, dt);
  std::ostringstream name;
  name << dtype_str(dt) << " " << num_dst << "<-" << num_src << " E " << E << " F " << F;
  add_jobs(jobs, "csr_transpose", {OutBuf({num_src + 1}, KN_INT64), OutBuf({E}, KN_INT64), OutBuf({E}, KN_INT64)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_csr_transpose(&ip, &ix, &o[0], &o[1], &o[2], ex); },
           {kNullExec, 2});
  const kn_gspmm_params sum{KN_GSPMM_U_MUL_E, KN_GSPMM_SUM, 0}, mx{KN_GSPMM_COPY_U, KN_GSPMM_MAX, 0};
  add_jobs(jobs, "gspmm_forward u_mul_e sum " + name.str(), {OutBuf({num_dst, F}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_gspmm_forward(&sum, &ip, &ix, &ev, &x, &o[0], nullptr, ex);
           });
  add_jobs(jobs, "gspmm_backward u_mul_e sum " + name.str(), {OutBuf({num_src, F}, dt), OutBuf({E}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_gspmm_backward(&sum, &dy, &ip, &ix, &t_indptr, &t_indices, &t_edge_ids, &ev, &x, nullptr,
                                      &o[0], &o[1], ex);
           });
  add_jobs(jobs, "gspmm_forward copy_u max " + name.str(), {OutBuf({num_dst, F}, dt), OutBuf({num_dst, F}, KN_INT64)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_gspmm_forward(&mx, &ip, &ix, nullptr, &x, &o[0], &o[1], ex);
           });
}

void add_embedding(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t V, int64_t D,
                   const Shape& ishape, int64_t distinct, Layout dyl = {}) {
  std::vector<int64_t> iv(static_cast<size_t>(shape_numel(ishape)));
  for (auto& v : iv) v = rng.integer(0, distinct - 1);  // many repeats
  Shape rs = ishape;
  rs.push_back(D);
  const kn_tensor w = in.add(rng, {V, D}, dt), idx = in.add_index(ishape, iv), dy = in.add(rng, rs, dt, dyl);
  const std::string name = std::string(dtype_str(dt)) + " " + shape_str(ishape) + " into " + std::to_string(V) +
                           "x" + std::to_string(D) + (dyl.is_contiguous() ? "" : " dy=" + dyl.name());
  const kn_embedding_params p{1, 1};
  add_jobs(jobs, "embedding_forward " + name, {OutBuf(rs, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_embedding_forward(&w, &idx, &o[0], ex); });
  add_jobs(jobs, "embedding_backward " + name, {OutBuf({V, D}, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) { return kn_embedding_backward(&p, &dy, &idx, &o[0], ex); });
}

// batch_norm (kernels/batch_norm.h): training updates the running stats, which are
// outputs here (fresh per run), and eval reads them as inputs. A 2-D (N, C) x takes the
// channels-last path (C has stride 1), 3-D and more the per-channel one.
void add_batch_norm(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, const Shape& shape,
                    Layout xl = {}) {
  const Shape cs{shape[1]};
  const kn_tensor x = in.add(rng, shape, dt, xl, -1, 3), dy = in.add(rng, shape, dt, xl),
                  w = in.add(rng, cs, dt), b = in.add(rng, cs, dt), rm = in.add(rng, cs, dt),
                  rv = in.add(rng, cs, dt, {}, 0.5, 2), sm = in.add(rng, cs, dt, {}, -0.5, 0.5),
                  si = in.add(rng, cs, dt, {}, 0.5, 2);
  const std::string name = std::string(dtype_str(dt)) + " " + shape_str(shape) +
                           (xl.is_contiguous() ? "" : " x=" + xl.name());
  add_jobs(jobs, "batch_norm_forward training " + name,
           {OutBuf(shape, dt), OutBuf(cs, dt), OutBuf(cs, dt), OutBuf(cs, dt), OutBuf(cs, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             const kn_batch_norm_params p{1e-5, 0.1, 1};
             return kn_batch_norm_forward(&p, &x, &w, &b, &o[3], &o[4], &o[0], &o[1], &o[2], ex);
           });
  add_jobs(jobs, "batch_norm_forward eval " + name, {OutBuf(shape, dt), OutBuf(cs, dt), OutBuf(cs, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             const kn_batch_norm_params p{1e-5, 0.1, 0};
             return kn_batch_norm_forward(&p, &x, &w, nullptr, &rm, &rv, &o[0], &o[1], &o[2], ex);
           });
  add_jobs(jobs, "batch_norm_backward training " + name, {OutBuf(shape, dt), OutBuf(cs, dt), OutBuf(cs, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             const kn_batch_norm_params p{1e-5, 0.1, 1};
             return kn_batch_norm_backward(&p, &dy, &x, &w, &sm, &si, &o[0], &o[1], &o[2], ex);
           });
}

// layer_norm over the last k dims of x; the backward from given mean and rstd
// (any values: the formula does not need them to be x's), all three gradients.
void add_layer_norm(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, const Shape& xs, int k,
                    Layout xl = {}) {
  const Shape lead(xs.begin(), xs.end() - k), norm(xs.end() - k, xs.end());
  const kn_tensor x = in.add(rng, xs, dt, xl), w = in.add(rng, norm, dt), b = in.add(rng, norm, dt),
                  dy = in.add(rng, xs, dt, Layout::transpose()), mean = in.add(rng, lead, dt),
                  rstd = in.add(rng, lead, dt, {}, 0.5, 1.5);
  const std::string name = std::string(dtype_str(dt)) + " " + shape_str(xs) + " k " + std::to_string(k) +
                           (xl.is_contiguous() ? "" : " x=" + xl.name());
  const kn_layer_norm_params p{k, 1e-5};
  add_jobs(jobs, "layer_norm_forward " + name, {OutBuf(xs, dt), OutBuf(lead, dt), OutBuf(lead, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_layer_norm_forward(&p, &x, &w, &b, &o[0], &o[1], &o[2], ex);
           });
  add_jobs(jobs, "layer_norm_backward " + name, {OutBuf(xs, dt), OutBuf(norm, dt), OutBuf(norm, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_layer_norm_backward(&p, &dy, &x, &w, &mean, &rstd, &o[0], &o[1], &o[2], ex);
           });
}

// group_norm of x:(N, C, *) with G groups, forward and backward as add_layer_norm.
void add_group_norm(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, const Shape& xs, int64_t G,
                    Layout xl = {}) {
  const Shape stats{xs[0], G}, ch{xs[1]};
  const kn_tensor x = in.add(rng, xs, dt, xl), w = in.add(rng, ch, dt), b = in.add(rng, ch, dt),
                  dy = in.add(rng, xs, dt, Layout::sliced(2)), mean = in.add(rng, stats, dt),
                  rstd = in.add(rng, stats, dt, {}, 0.5, 1.5);
  const std::string name = std::string(dtype_str(dt)) + " " + shape_str(xs) + " G " + std::to_string(G) +
                           (xl.is_contiguous() ? "" : " x=" + xl.name());
  const kn_group_norm_params p{G, 1e-5};
  add_jobs(jobs, "group_norm_forward " + name, {OutBuf(xs, dt), OutBuf(stats, dt), OutBuf(stats, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_group_norm_forward(&p, &x, &w, &b, &o[0], &o[1], &o[2], ex);
           });
  add_jobs(jobs, "group_norm_backward " + name, {OutBuf(xs, dt), OutBuf(ch, dt), OutBuf(ch, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_group_norm_backward(&p, &dy, &x, &w, &mean, &rstd, &o[0], &o[1], &o[2], ex);
           });
}

// scaled_dot_product_attention of q:(N, H, L, E) against k, v:(N, Hkv, S, E)
// viewed as GQA (q (N, Hkv, G, L, E), k / v (N, Hkv, 1, S, E)), with a bool
// (L, S) mask, causal, dropout; the backward reads the forward's out and lse
// (computed once here). Forward: out, lse; backward: dq, dk, dv.
void add_sdpa(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int64_t N, int64_t Hkv, int64_t G,
              int64_t L, int64_t S, int64_t E, bool causal, double p_drop, Layout ql = {}) {
  const Shape qs{N, Hkv, G, L, E}, ks{N, Hkv, 1, S, E}, os{N, Hkv, G, L, E}, ls{N, Hkv, G, L};
  const kn_tensor q = in.add(rng, qs, dt, ql, -2, 2), k = in.add(rng, ks, dt, {}, -2, 2), v = in.add(rng, ks, dt),
                  dout = in.add(rng, os, dt, Layout::transpose()), out = in.add(rng, os, dt),
                  lse = in.add(rng, ls, dt);
  in.raw.push_back(std::make_shared<std::vector<unsigned char>>(static_cast<size_t>(L * S)));
  std::vector<unsigned char>& mb = *in.raw.back();
  for (size_t i = 0; i < mb.size(); ++i) mb[i] = rng.integer(0, 9) != 0;  // ~10% masked
  kn_tensor m{};
  m.data = mb.data(), m.dtype = KN_BOOL, m.device_type = KN_DEVICE_CPU, m.ndim = 5;
  const int64_t ms[5] = {1, 1, 1, L, S}, mst[5] = {0, 0, 0, S, 1};
  for (int d = 0; d < 5; ++d) m.shape[d] = ms[d], m.strides[d] = mst[d];
  const kn_scaled_dot_product_attention_params p{1.0 / std::sqrt(static_cast<double>(E)), p_drop, 4321,
                                                 causal ? 1 : 0};
  EXPECT_EQ(kn_scaled_dot_product_attention_forward(&p, &q, &k, &v, &m, &out, &lse, nullptr), KN_OK)
      << kn_last_error();
  std::ostringstream name;
  name << dtype_str(dt) << " " << shape_str(qs) << " S " << S << (causal ? " causal" : "") << " p " << p_drop
       << (ql.is_contiguous() ? "" : " q=" + ql.name());
  add_jobs(jobs, "sdpa_forward " + name.str(), {OutBuf(os, dt), OutBuf(ls, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_scaled_dot_product_attention_forward(&p, &q, &k, &v, &m, &o[0], &o[1], ex);
           });
  add_jobs(jobs, "sdpa_backward " + name.str(), {OutBuf(qs, dt), OutBuf(ks, dt), OutBuf(ks, dt)},
           [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
             return kn_scaled_dot_product_attention_backward(&p, &dout, &q, &k, &v, &m, &out, &lse, &o[0], &o[1],
                                                             &o[2], ex);
           });
}

// One recurrent layer (kernels/rnn.h): padded (T, N, I) when batch_sizes is
// empty, else packed. Outputs y, h_n, c_n (LSTM) and the reserve.
void add_rnn(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int32_t mode, int64_t T, int64_t N,
             int64_t I, int64_t H, const std::vector<int64_t>& batch_sizes) {
  const bool packed = !batch_sizes.empty(), lstm = mode == KN_LSTM;
  const auto bs = std::make_shared<std::vector<int64_t>>(batch_sizes);  // the host array, kept by the job
  int64_t rows = T * N;
  if (packed) {
    T = static_cast<int64_t>(bs->size()), N = bs->front(), rows = 0;
    for (int64_t b : *bs) rows += b;
  }
  const int64_t G = lstm ? 4 : mode == KN_GRU ? 3 : 1;
  const kn_rnn_params p{mode, 0, H, 0, packed ? bs->data() : nullptr, packed ? T : 0};
  int64_t cols = 0;
  EXPECT_EQ(kn_rnn_reserve_cols(&p, &cols), KN_OK) << kn_last_error();
  const Shape xs = packed ? Shape{rows, I} : Shape{T, N, I}, ys = packed ? Shape{rows, H} : Shape{T, N, H};
  const double k = 1.0 / std::sqrt(static_cast<double>(H));
  const kn_tensor x = in.add(rng, xs, dt), h0 = in.add(rng, {N, H}, dt), c0 = in.add(rng, {N, H}, dt),
                  w_ih = in.add(rng, {G * H, I}, dt, {}, -k, k), w_hh = in.add(rng, {G * H, H}, dt, Layout::transpose(), -k, k),
                  b_ih = in.add(rng, {G * H}, dt, {}, -k, k), b_hh = in.add(rng, {G * H}, dt, {}, -k, k);
  std::ostringstream name;
  name << "rnn_forward mode " << mode << " " << dtype_str(dt) << " " << shape_str(xs) << " H " << H;
  std::vector<OutBuf> outs = {OutBuf(ys, dt), OutBuf({N, H}, dt), OutBuf({rows, cols}, dt)};
  if (lstm) outs.push_back(OutBuf({N, H}, dt));
  add_jobs(jobs, name.str(), outs, [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
    (void)bs;  // p.batch_sizes points into it
    return kn_rnn_forward(&p, &x, &h0, lstm ? &c0 : nullptr, &w_ih, &w_hh, &b_ih, &b_hh, nullptr, &o[0], &o[1],
                          lstm ? &o[3] : nullptr, &o[2], ex);
  });
}

// Its backward from a reserve computed serially here: every gradient.
void add_rnn_backward(std::vector<Job>& jobs, Inputs& in, Rng& rng, int32_t dt, int32_t mode, int64_t T,
                      int64_t N, int64_t I, int64_t H, const std::vector<int64_t>& batch_sizes) {
  const bool packed = !batch_sizes.empty(), lstm = mode == KN_LSTM;
  const auto bs = std::make_shared<std::vector<int64_t>>(batch_sizes);
  int64_t rows = T * N;
  if (packed) {
    T = static_cast<int64_t>(bs->size()), N = bs->front(), rows = 0;
    for (int64_t b : *bs) rows += b;
  }
  const int64_t G = lstm ? 4 : mode == KN_GRU ? 3 : 1;
  const kn_rnn_params p{mode, 1, H, 0, packed ? bs->data() : nullptr, packed ? T : 0};  // the reverse direction
  int64_t cols = 0;
  EXPECT_EQ(kn_rnn_reserve_cols(&p, &cols), KN_OK) << kn_last_error();
  const Shape xs = packed ? Shape{rows, I} : Shape{T, N, I}, ys = packed ? Shape{rows, H} : Shape{T, N, H};
  const double k = 1.0 / std::sqrt(static_cast<double>(H));
  const kn_tensor x = in.add(rng, xs, dt), h0 = in.add(rng, {N, H}, dt), c0 = in.add(rng, {N, H}, dt),
                  w_ih = in.add(rng, {G * H, I}, dt, {}, -k, k), w_hh = in.add(rng, {G * H, H}, dt, {}, -k, k),
                  b_ih = in.add(rng, {G * H}, dt, {}, -k, k), dy = in.add(rng, ys, dt, Layout::transpose()),
                  dh_n = in.add(rng, {N, H}, dt), dc_n = in.add(rng, {N, H}, dt);
  in.floats.push_back(std::make_shared<HostTensor>(Shape{rows, cols}, dt));  // contiguous
  const kn_tensor reserve = in.floats.back()->kn();
  {
    OutBuf y(ys, dt);
    kn_tensor yk = y.kn();
    const kn_exec one = make_exec(1);
    EXPECT_EQ(kn_rnn_forward(&p, &x, &h0, lstm ? &c0 : nullptr, &w_ih, &w_hh, &b_ih, nullptr, nullptr, &yk, nullptr,
                             nullptr, &reserve, &one), KN_OK) << kn_last_error();
  }
  std::ostringstream name;
  name << "rnn_backward mode " << mode << " " << dtype_str(dt) << " " << shape_str(xs) << " H " << H;
  std::vector<OutBuf> outs = {OutBuf(xs, dt),         OutBuf({N, H}, dt), OutBuf({G * H, I}, dt),
                              OutBuf({G * H, H}, dt), OutBuf({G * H}, dt), OutBuf({G * H}, dt)};
  if (lstm) outs.push_back(OutBuf({N, H}, dt));
  add_jobs(jobs, name.str(), outs, [=](std::vector<kn_tensor>& o, const kn_exec* ex) {
    (void)bs;
    return kn_rnn_backward(&p, &x, &w_ih, &w_hh, nullptr, &reserve, &dy, &dh_n, lstm ? &dc_n : nullptr, &o[0],
                           &o[1], lstm ? &o[6] : nullptr, &o[2], &o[3], &o[4], &o[5], nullptr, ex);
  });
}

// The whole mix. Large GEMMs (>= 2^24 multiply-adds) run on OpenBLAS's
// threads; 2^20..2^24 are split by the library; below 2^20 one thread.
std::vector<Job> make_mix(Inputs& in) {
  std::vector<Job> jobs;
  Rng rng(20240610);
  add_linear(jobs, in, rng, KN_FLOAT32, 256, 256, 256, true);                     // 2^24
  add_linear(jobs, in, rng, KN_FLOAT32, 192, 512, 256, false, Layout::transpose());  // 1.5 * 2^24
  add_linear(jobs, in, rng, KN_FLOAT64, 128, 256, 512, true);                     // 2^24
  add_linear(jobs, in, rng, KN_FLOAT32, 64, 256, 200, true);                      // split path
  add_linear(jobs, in, rng, KN_FLOAT32, 32, 784, 128, true);                      // the gemm ladder's R2
  add_linear(jobs, in, rng, KN_FLOAT32, 8, 64, 32, true);                         // small
  add_linear(jobs, in, rng, KN_FLOAT64, 5, 7, 3, true, Layout::sliced(2));        // tiny, strided
  add_linear_backward(jobs, in, rng, KN_FLOAT32, 256, 256, 256);
  add_linear_backward(jobs, in, rng, KN_FLOAT32, 32, 128, 64, Layout::transpose());
  add_conv2d(jobs, in, rng, KN_FLOAT32, 4, 8, 32, 32, 16, 3, {{1, 1}, {1, 1}, {1, 1}, 1});
  add_conv2d(jobs, in, rng, KN_FLOAT32, 2, 8, 20, 24, 8, 3, {{2, 2}, {1, 1}, {2, 2}, 2}, Layout::sliced(2));
  add_conv2d(jobs, in, rng, KN_FLOAT64, 2, 3, 16, 16, 6, 5, {{1, 1}, {0, 0}, {1, 1}, 1});
  add_pooling(jobs, in, rng, KN_FLOAT32);
  add_adaptive_pooling(jobs, in, rng, KN_FLOAT32);
  add_adaptive_pooling(jobs, in, rng, KN_FLOAT64);
  add_softmax(jobs, in, rng, KN_FLOAT32, {64, 1000}, 1);
  add_softmax(jobs, in, rng, KN_FLOAT64, {8, 33, 17}, 1, Layout::reverse());
  add_activations(jobs, in, rng, KN_FLOAT32, {512, 1024});
  add_activations(jobs, in, rng, KN_FLOAT64, {37, 61}, Layout::transpose());
  add_cross_entropy(jobs, in, rng, KN_FLOAT32, 256, 100, KN_REDUCTION_MEAN, 0.1);
  add_cross_entropy(jobs, in, rng, KN_FLOAT64, 64, 10, KN_REDUCTION_NONE, 0.0);
  add_dropout(jobs, in, rng, KN_FLOAT32, {256, 1024}, 0.3, 1234);
  add_dropout(jobs, in, rng, KN_FLOAT64, {33, 47}, 0.5, 99, Layout::sliced(2));
  add_gspmm(jobs, in, rng, KN_FLOAT32, 400, 300, 32);
  add_embedding(jobs, in, rng, KN_FLOAT32, 5000, 64, {64, 32}, 300, Layout::transpose());
  add_batch_norm(jobs, in, rng, KN_FLOAT32, {8, 16, 24, 24});
  add_batch_norm(jobs, in, rng, KN_FLOAT32, {6000, 24});
  add_batch_norm(jobs, in, rng, KN_FLOAT64, {5, 7, 33}, Layout::transpose());
  add_layer_norm(jobs, in, rng, KN_FLOAT32, {512, 256}, 1);
  add_layer_norm(jobs, in, rng, KN_FLOAT64, {6, 33, 17}, 2, Layout::transpose());
  add_group_norm(jobs, in, rng, KN_FLOAT32, {8, 32, 12, 12}, 8);
  add_group_norm(jobs, in, rng, KN_FLOAT64, {3, 6, 7, 5}, 3, Layout::reverse());
  add_sdpa(jobs, in, rng, KN_FLOAT32, 2, 2, 3, 70, 140, 16, true, 0.0);
  add_sdpa(jobs, in, rng, KN_FLOAT32, 3, 3, 1, 33, 65, 8, false, 0.2, Layout::transpose());
  add_sdpa(jobs, in, rng, KN_FLOAT64, 2, 1, 2, 20, 30, 4, true, 0.3);
  add_rnn(jobs, in, rng, KN_FLOAT32, KN_LSTM, 8, 16, 32, 64, {});
  add_rnn_backward(jobs, in, rng, KN_FLOAT32, KN_LSTM, 8, 16, 32, 64, {});
  add_rnn(jobs, in, rng, KN_FLOAT64, KN_GRU, 0, 0, 24, 48, {16, 16, 12, 9, 5, 2});
  add_rnn_backward(jobs, in, rng, KN_FLOAT64, KN_GRU, 0, 0, 24, 48, {16, 16, 12, 9, 5, 2});
  return jobs;
}

// Serial results of every job. An explicit thread count must give the same
// bits on every call; ex = NULL accepts the result under each default the
// flipper sets. Returns false (with a gtest failure) on a serial problem.
bool compute_baselines(std::vector<Job>& jobs) {
  bool ok = true;
  for (Job& j : jobs) {
    Bytes r;
    if (j.threads == kNullExec) {
      for (int32_t v : kFlipValues) {
        EXPECT_EQ(kn_set_num_threads(v), KN_OK);
        const kn_status s = j.run(r);
        if (s != KN_OK) {
          ADD_FAILURE() << j.label() << " (default " << v << ") serially: " << kn_status_string(s) << ": " << kn_last_error();
          ok = false;
          continue;
        }
        if (j.match(r) < 0) j.accepted.push_back(r);
      }
      kn_set_num_threads(0);
    } else {
      for (int rep = 0; rep < 2; ++rep) {
        const kn_status s = j.run(r);
        if (s != KN_OK) {
          ADD_FAILURE() << j.label() << " serially: " << kn_status_string(s) << ": " << kn_last_error();
          ok = false;
          break;
        }
        if (rep == 0) {
          j.accepted.push_back(r);
        } else if (j.match(r) < 0) {
          ADD_FAILURE() << j.label() << ": two serial calls gave different bits:" << j.explain(r);
          ok = false;
        }
      }
    }
  }
  return ok;
}

// ------------------------------------------------------------------ errors

// A failing call whose message is unique to `id`: relu with x (id+1, 3) and
// y (id+2, 3). Returns the message read right after the call and, after some
// other threads have had time to fail too, again.
struct OwnError {
  kn_status status;
  std::string right_after, later;
};
OwnError provoke_own_error(int id) {
  HostTensor x({id + 1, 3}, KN_FLOAT32), y({id + 2, 3}, KN_FLOAT32);
  const kn_tensor xk = x.kn(), yk = y.kn();
  OwnError e;
  e.status = kn_relu_forward(&xk, &yk, nullptr);
  e.right_after = kn_last_error();
  std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::microseconds(50));
  e.later = kn_last_error();
  return e;
}

// ------------------------------------------------------------------ the runs

struct WorkerStats {
  long calls = 0, mismatches = 0, bad_status = 0, error_checks = 0, error_failures = 0;
  std::vector<std::string> examples;  // the first few problems
  void note(const std::string& s) {
    if (examples.size() < 8) examples.push_back(s);
  }
  void add(const WorkerStats& o) {
    calls += o.calls, mismatches += o.mismatches, bad_status += o.bad_status;
    error_checks += o.error_checks, error_failures += o.error_failures;
    for (const auto& e : o.examples) note(e);
  }
};

// One call of job j: status OK, kn_last_error empty, bits as serial.
void call_and_check(const Job& j, WorkerStats& st) {
  Bytes r;
  const kn_status s = j.run(r);
  ++st.calls;
  if (s != KN_OK) {
    ++st.bad_status;
    st.note(j.label() + ": " + kn_status_string(s) + ": " + kn_last_error());
    return;
  }
  if (kn_last_error()[0] != '\0') {
    ++st.error_failures;
    st.note(j.label() + ": KN_OK but kn_last_error() = '" + kn_last_error() + "'");
  }
  if (j.match(r) < 0) {
    ++st.mismatches;
    st.note(j.label() + ": not the serial bits:" + j.explain(r));
  }
}

// Flips the library default thread count until `stop`.
class Flipper {
 public:
  Flipper() : thread_([this] {
      for (size_t i = 0; !stop_.load(std::memory_order_relaxed); ++i) {
        kn_set_num_threads(kFlipValues[i % kFlipValues.size()]);
        ++flips_;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }) {}
  ~Flipper() { stop(); }
  long stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
      kn_set_num_threads(0);
    }
    return flips_;
  }

 private:
  std::atomic<bool> stop_{false};
  long flips_ = 0;
  std::thread thread_;
};

void report(const char* test, const WorkerStats& st, double seconds, long flips) {
  std::printf("[ stress   ] %s: %ld calls, %ld mismatches, %ld bad statuses, %ld/%ld error-message checks failed, "
              "%ld default flips, %.1f s (KN_STRESS_SCALE=%g)\n",
              test, st.calls, st.mismatches, st.bad_status, st.error_failures, st.error_checks, flips, seconds,
              stress_scale());
  for (const auto& e : st.examples) std::printf("[ stress   ]   %s\n", e.c_str());
  std::fflush(stdout);
  ::testing::Test::RecordProperty("calls", std::to_string(st.calls));
  ::testing::Test::RecordProperty("mismatches", std::to_string(st.mismatches));
}

TEST(ThreadStress, MixedOpsThreadCountsAndDefaultFlips) {
  Inputs in;
  std::vector<Job> jobs = make_mix(in);
  ASSERT_TRUE(compute_baselines(jobs));
  std::printf("[ stress   ] mixed: %zu jobs (op calls x per-call thread counts)\n", jobs.size());
  // The expected message of each worker's own error, from a serial call.
  constexpr int kWorkers = 8;
  std::vector<std::string> own_message(kWorkers);
  for (int t = 0; t < kWorkers; ++t) {
    const OwnError e = provoke_own_error(t);
    ASSERT_EQ(e.status, KN_ERR_SHAPE_MISMATCH) << e.right_after;
    ASSERT_NE(e.right_after.find("kn_relu_forward"), std::string::npos) << e.right_after;
    own_message[t] = e.right_after;
    for (int u = 0; u < t; ++u) ASSERT_NE(own_message[t], own_message[u]) << "the errors must be distinct";
  }

  const int calls_per_worker = scaled(1000);
  std::vector<WorkerStats> stats(kWorkers);
  const auto t0 = std::chrono::steady_clock::now();
  Flipper flipper;
  {
    std::vector<std::thread> workers;
    for (int t = 0; t < kWorkers; ++t)
      workers.emplace_back([&, t] {
        Rng rng(1000 + t);
        WorkerStats& st = stats[t];
        for (int i = 0; i < calls_per_worker; ++i) {
          call_and_check(jobs[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(jobs.size()) - 1))], st);
          if (i % 8 == 7) {
            const OwnError e = provoke_own_error(t);
            ++st.error_checks;
            if (e.status != KN_ERR_SHAPE_MISMATCH || e.right_after != own_message[t] || e.later != own_message[t]) {
              ++st.error_failures;
              st.note("worker " + std::to_string(t) + " read '" + e.right_after + "' then '" + e.later +
                      "', expected '" + own_message[t] + "'");
            }
          }
        }
      });
    for (auto& w : workers) w.join();
  }
  const long flips = flipper.stop();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WorkerStats total;
  for (const auto& s : stats) total.add(s);
  report("mixed", total, seconds, flips);
  EXPECT_EQ(total.calls, static_cast<long>(kWorkers) * calls_per_worker);
  EXPECT_EQ(total.mismatches, 0) << "concurrent calls gave other bits than serial calls (see the lines above)";
  EXPECT_EQ(total.bad_status, 0);
  EXPECT_EQ(total.error_failures, 0);
  EXPECT_EQ(total.error_checks, static_cast<long>(kWorkers) * (calls_per_worker / 8));
}

// Issue 10 / F2: large GEMMs on 2 and 3 OpenBLAS threads while other threads
// call linear with other thread counts and with ex = NULL. Before the fix,
// whole blocks of y came back zeroed or wrong with KN_OK.
TEST(ThreadStress, LinearMixedThreadCountsF2) {
  Inputs in;
  std::vector<Job> jobs;
  Rng rng(7);
  add_linear(jobs, in, rng, KN_FLOAT32, 256, 512, 256, true, {}, {2, 3});   // 2^25 multiply-adds
  add_linear(jobs, in, rng, KN_FLOAT64, 128, 256, 512, true, {}, {4});      // 2^24
  // The others: a small call with ex = NULL, and single-threaded GEMMs large
  // enough for OpenBLAS's packed path (which takes a buffer from its pool).
  add_linear(jobs, in, rng, KN_FLOAT32, 8, 64, 32, true, {}, {kNullExec});
  add_linear(jobs, in, rng, KN_FLOAT32, 128, 256, 128, true, {}, {1});
  add_linear(jobs, in, rng, KN_FLOAT64, 96, 96, 96, true, {}, {1});
  ASSERT_TRUE(compute_baselines(jobs));
  const int large_calls = scaled(80);
  std::atomic<int> large_running{3};
  std::vector<WorkerStats> stats(4);
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)  // jobs 0, 1, 2: large on 2, 3, 4 threads
      threads.emplace_back([&, t] {
        for (int i = 0; i < large_calls; ++i) call_and_check(jobs[t], stats[t]);
        --large_running;
      });
    threads.emplace_back([&] {  // small calls (1 thread; ex = NULL) until the large ones finish
      for (size_t i = 0; large_running.load() > 0; ++i) call_and_check(jobs[3 + i % 3], stats[3]);
    });
    for (auto& th : threads) th.join();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WorkerStats total;
  for (const auto& s : stats) total.add(s);
  report("linear F2", total, seconds, 0);
  long large_wrong = stats[0].mismatches + stats[1].mismatches + stats[2].mismatches;
  std::printf("[ stress   ] linear F2: %ld of %d large calls wrong\n", large_wrong, 3 * large_calls);
  EXPECT_EQ(total.mismatches, 0) << "concurrent linear calls gave other bits than serial calls";
  EXPECT_EQ(total.bad_status, 0);
  EXPECT_EQ(total.error_failures, 0);
}

// kn_last_error() is per thread: 8 threads each provoke their own error in a
// loop and read their own message back, twice, while the others fail too.
TEST(ThreadStress, LastErrorIsPerThread) {
  constexpr int kThreads = 8;
  std::vector<std::string> own(kThreads);
  for (int t = 0; t < kThreads; ++t) own[t] = provoke_own_error(t).right_after;
  const int rounds = scaled(200);
  std::atomic<long> failures{0}, checks{0};
  std::mutex m;
  std::string example;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      HostTensor x({16, 16}, KN_FLOAT32), y({16, 16}, KN_FLOAT32);
      const kn_tensor xk = x.kn(), yk = y.kn();
      for (int i = 0; i < rounds; ++i) {
        const OwnError e = provoke_own_error(t);
        ++checks;
        if (e.right_after != own[t] || e.later != own[t]) {
          ++failures;
          std::lock_guard<std::mutex> lock(m);
          if (example.empty()) example = "thread " + std::to_string(t) + " read '" + e.later + "'";
        }
        // a success clears only this thread's message
        if (kn_relu_forward(&xk, &yk, nullptr) != KN_OK || kn_last_error()[0] != '\0') ++failures;
      }
    });
  for (auto& th : threads) th.join();
  std::printf("[ stress   ] last error: %ld checks, %ld failures\n", checks.load(), failures.load());
  EXPECT_EQ(failures.load(), 0) << example;
  EXPECT_EQ(checks.load(), static_cast<long>(kThreads) * rounds);
}

}  // namespace
}  // namespace kntest
