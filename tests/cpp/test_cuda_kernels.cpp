// CUDA kernels against the CPU kernels, through the C ABI.
//
// Every case builds its tensors as strided views into random host storage
// (contiguous, transposed, sliced, reversed = negative stride, broadcast =
// stride 0 for inputs), uploads the same storage to the GPU, runs the op once
// on the CPU descriptors and once on the CUDA descriptors (on a created
// stream passed in kn_exec.stream), and compares the WHOLE storage of every
// output afterwards: the computed elements, and also that nothing outside the
// view (guard elements around it, the gaps of a sliced view) was written.
//
// The CPU kernels have their own suites against naive references; here they
// are the reference for the CUDA kernels. Tests that need a GPU skip cleanly
// when cudaGetDeviceCount reports none; the no-device behaviour (a clean
// KN_ERR_BACKEND, no crash) is tested on machines without one.
#include "cuda_util.hpp"
#include "kernels/kernels.h"

namespace {

using namespace kn_cuda_test;

// ------------------------------------------------------------ relu

TYPED_TEST(CudaKernels, ReluForward) {
  using T = TypeParam;
  for (const Shape& shape : kElementwiseShapes)
    for (Layout lx : kInputLayouts)
      for (Layout ly : kOutputLayouts) {
        SCOPED_TRACE(shape_str(shape) + " x " + layout_name(lx) + " y " + layout_name(ly));
        Buffer<T> x(shape, lx, this->rng_, true), y(shape, ly, this->rng_);
        KN_OK_(kn_relu_forward(&x.h, &y.h, nullptr));
        KN_OK_(kn_relu_forward(&x.d, &y.d, &this->ex_));
        this->sync();
        EXPECT_TRUE(same_storage(y, 0, 0));
        EXPECT_TRUE(same_storage(x, 0, 0));  // the input is untouched
      }
}

TYPED_TEST(CudaKernels, ReluForwardInPlace) {
  using T = TypeParam;
  for (const Shape& shape : kElementwiseShapes)
    for (Layout l : kOutputLayouts) {
      SCOPED_TRACE(shape_str(shape) + " " + layout_name(l));
      Buffer<T> x(shape, l, this->rng_, true);
      KN_OK_(kn_relu_forward(&x.h, &x.h, nullptr));
      KN_OK_(kn_relu_forward(&x.d, &x.d, &this->ex_));
      this->sync();
      EXPECT_TRUE(same_storage(x, 0, 0));
    }
}

TYPED_TEST(CudaKernels, ReluBackward) {
  using T = TypeParam;
  for (const Shape& shape : kElementwiseShapes)
    for (size_t i = 0; i < kInputLayouts.size(); ++i)
      for (Layout ldx : kOutputLayouts) {
        const Layout ldy = kInputLayouts[i], lx = kInputLayouts[(i + 2) % kInputLayouts.size()];
        SCOPED_TRACE(shape_str(shape) + " dy " + layout_name(ldy) + " x " + layout_name(lx) +
                     " dx " + layout_name(ldx));
        Buffer<T> dy(shape, ldy, this->rng_), x(shape, lx, this->rng_, true), dx(shape, ldx, this->rng_);
        KN_OK_(kn_relu_backward(&dy.h, &x.h, &dx.h, nullptr));
        KN_OK_(kn_relu_backward(&dy.d, &x.d, &dx.d, &this->ex_));
        this->sync();
        EXPECT_TRUE(same_storage(dx, 0, 0));
      }
}

TYPED_TEST(CudaKernels, ReluBackwardInPlace) {
  using T = TypeParam;
  for (Layout l : kOutputLayouts) {
    SCOPED_TRACE(layout_name(l));
    Buffer<T> dy({6, 11}, l, this->rng_), x({6, 11}, Layout::Transposed, this->rng_, true);
    KN_OK_(kn_relu_backward(&dy.h, &x.h, &dy.h, nullptr));
    KN_OK_(kn_relu_backward(&dy.d, &x.d, &dy.d, &this->ex_));
    this->sync();
    EXPECT_TRUE(same_storage(dy, 0, 0));
  }
}

// The legacy default stream (kn_exec NULL) works too.
TYPED_TEST(CudaKernels, ReluDefaultStream) {
  using T = TypeParam;
  Buffer<T> x({33, 7}, Layout::Sliced, this->rng_, true), y({33, 7}, Layout::Contiguous, this->rng_);
  KN_OK_(kn_relu_forward(&x.h, &y.h, nullptr));
  KN_OK_(kn_relu_forward(&x.d, &y.d, nullptr));
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_TRUE(same_storage(y, 0, 0));
}

// ------------------------------------------------------------ mse_loss

const kn_reduction kReductions[] = {KN_REDUCTION_NONE, KN_REDUCTION_MEAN, KN_REDUCTION_SUM};

TYPED_TEST(CudaKernels, MseLossForward) {
  using T = TypeParam;
  // The CPU may subtract in T before widening to double; the GPU widens
  // first: allow a few ulps of T.
  const double tol = 8 * eps<T>();
  for (kn_reduction r : kReductions)
    for (const Shape& shape : kElementwiseShapes)
      for (size_t i = 0; i < kInputLayouts.size(); ++i) {
        const Layout li = kInputLayouts[i], lt = kInputLayouts[(i + 1) % kInputLayouts.size()];
        const Layout lo = kOutputLayouts[i % kOutputLayouts.size()];
        SCOPED_TRACE("reduction " + std::to_string(r) + " " + shape_str(shape) + " input " +
                     layout_name(li) + " target " + layout_name(lt) + " out " + layout_name(lo));
        Buffer<T> input(shape, li, this->rng_), target(shape, lt, this->rng_);
        Buffer<T> out(r == KN_REDUCTION_NONE ? shape : Shape{}, lo, this->rng_);
        KN_OK_(kn_mse_loss_forward(r, &input.h, &target.h, &out.h, nullptr));
        KN_OK_(kn_mse_loss_forward(r, &input.d, &target.d, &out.d, &this->ex_));
        this->sync();
        EXPECT_TRUE(same_storage(out, tol, 0));
      }
}

TYPED_TEST(CudaKernels, MseLossMeanOfNothingIsNaN) {
  using T = TypeParam;
  Buffer<T> input({0, 3}, Layout::Contiguous, this->rng_), target({0, 3}, Layout::Contiguous, this->rng_);
  Buffer<T> out({}, Layout::Contiguous, this->rng_);
  KN_OK_(kn_mse_loss_forward(KN_REDUCTION_MEAN, &input.d, &target.d, &out.d, &this->ex_));
  this->sync();
  EXPECT_TRUE(std::isnan(out.download()[Buffer<T>::kGuard]));
  KN_OK_(kn_mse_loss_forward(KN_REDUCTION_SUM, &input.d, &target.d, &out.d, &this->ex_));
  this->sync();
  EXPECT_EQ(out.download()[Buffer<T>::kGuard], T(0));
}

TYPED_TEST(CudaKernels, MseLossBackward) {
  using T = TypeParam;
  const double tol = 4 * eps<T>();
  for (kn_reduction r : kReductions)
    for (const Shape& shape : kElementwiseShapes)
      for (int which = 0; which < 3; ++which)  // dinput only, dtarget only, both
        for (size_t i = 0; i < kOutputLayouts.size(); ++i) {
          const Layout lg = kInputLayouts[(i + 1) % kInputLayouts.size()];
          const Layout li = kInputLayouts[(i + 3) % kInputLayouts.size()];
          const Layout ldi = kOutputLayouts[i], ldt = kOutputLayouts[(i + 1) % kOutputLayouts.size()];
          SCOPED_TRACE("reduction " + std::to_string(r) + " " + shape_str(shape) + " grads " +
                       std::to_string(which) + " dout " + layout_name(lg) + " input " +
                       layout_name(li) + " dinput " + layout_name(ldi) + " dtarget " +
                       layout_name(ldt));
          Buffer<T> dout(r == KN_REDUCTION_NONE ? shape : Shape{}, lg, this->rng_);
          Buffer<T> input(shape, li, this->rng_), target(shape, Layout::Contiguous, this->rng_);
          Buffer<T> di(shape, ldi, this->rng_), dt(shape, ldt, this->rng_);
          const bool want_i = which != 1, want_t = which != 0;
          KN_OK_(kn_mse_loss_backward(r, &dout.h, &input.h, &target.h, want_i ? &di.h : nullptr,
                                      want_t ? &dt.h : nullptr, nullptr));
          KN_OK_(kn_mse_loss_backward(r, &dout.d, &input.d, &target.d, want_i ? &di.d : nullptr,
                                      want_t ? &dt.d : nullptr, &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(di, tol, 0));
          EXPECT_TRUE(same_storage(dt, tol, 0));
        }
}

// ------------------------------------------------------------ linear

struct LinearShape {
  int64_t n, in, out;
};
std::string linear_str(const LinearShape& s) {
  return "N " + std::to_string(s.n) + " in " + std::to_string(s.in) + " out " + std::to_string(s.out);
}

// Size-0 dims, single elements, tile edges (64) and several K tiles (16).
const std::vector<LinearShape> kLinearShapes = {{0, 3, 4},  {5, 0, 4},    {5, 3, 0},   {1, 1, 1},
                                                {7, 19, 23}, {64, 64, 64}, {130, 70, 65}, {3, 200, 5}};
// Shapes for which every layout combination runs; the others run each layout
// of every operand at least once.
bool full_product(const LinearShape& s) { return s.n == 7 || s.n == 130; }

// GEMM sums of K products of values in [-1, 1], accumulated in T.
template <typename T>
double gemm_tol(int64_t k) {
  return 4 * eps<T>() * double(k + 1);
}

enum class Bias { None, Contiguous, Sliced, Broadcast };

TYPED_TEST(CudaKernels, LinearForward) {
  using T = TypeParam;
  for (const LinearShape& s : kLinearShapes)
    for (size_t ix = 0; ix < 5; ++ix)
      for (size_t iw = 0; iw < 5; ++iw)
        for (size_t iy = 0; iy < 4; ++iy) {
          if (!full_product(s) && iw != (ix + iy + 1) % 5) continue;
          const Layout lx = kInputLayouts[ix], lw = kInputLayouts[iw], ly = kOutputLayouts[iy];
          const Bias bias = static_cast<Bias>((ix + iw + iy) % 4);
          SCOPED_TRACE(linear_str(s) + " x " + layout_name(lx) + " w " + layout_name(lw) + " y " +
                       layout_name(ly) + " bias " + std::to_string(int(bias)));
          Buffer<T> x({s.n, s.in}, lx, this->rng_), w({s.out, s.in}, lw, this->rng_);
          Buffer<T> y({s.n, s.out}, ly, this->rng_);
          const Layout lb = bias == Bias::Sliced      ? Layout::Sliced
                            : bias == Bias::Broadcast ? Layout::Broadcast
                                                      : Layout::Contiguous;
          Buffer<T> b({s.out}, lb, this->rng_);
          const bool has_b = bias != Bias::None;
          KN_OK_(kn_linear_forward(&x.h, &w.h, has_b ? &b.h : nullptr, &y.h, nullptr));
          KN_OK_(kn_linear_forward(&x.d, &w.d, has_b ? &b.d : nullptr, &y.d, &this->ex_));
          this->sync();
          const double tol = gemm_tol<T>(s.in);
          EXPECT_TRUE(same_storage(y, tol, tol));
        }
}

TYPED_TEST(CudaKernels, LinearBackward) {
  using T = TypeParam;
  for (const LinearShape& s : kLinearShapes)
    for (size_t idy = 0; idy < 5; ++idy)
      for (size_t iin = 0; iin < 5; ++iin)  // x and w
        for (size_t iout = 0; iout < 4; ++iout) {  // dx, dw, db
          if (!full_product(s) && iin != (idy + iout + 1) % 5) continue;
          const Layout ldy = kInputLayouts[idy], lin = kInputLayouts[iin], lout = kOutputLayouts[iout];
          const int which = static_cast<int>((idy + iin + iout) % 4);  // all, dx, dw, db only
          SCOPED_TRACE(linear_str(s) + " dy " + layout_name(ldy) + " x/w " + layout_name(lin) +
                       " grads " + layout_name(lout) + " which " + std::to_string(which));
          Buffer<T> dy({s.n, s.out}, ldy, this->rng_);
          Buffer<T> x({s.n, s.in}, lin, this->rng_), w({s.out, s.in}, lin, this->rng_);
          Buffer<T> dx({s.n, s.in}, lout, this->rng_), dw({s.out, s.in}, lout, this->rng_);
          Buffer<T> db({s.out}, lout, this->rng_);
          const bool want_dx = which == 0 || which == 1, want_dw = which == 0 || which == 2,
                     want_db = which == 0 || which == 3;
          KN_OK_(kn_linear_backward(&dy.h, &x.h, &w.h, want_dx ? &dx.h : nullptr,
                                    want_dw ? &dw.h : nullptr, want_db ? &db.h : nullptr, nullptr));
          KN_OK_(kn_linear_backward(&dy.d, &x.d, &w.d, want_dx ? &dx.d : nullptr,
                                    want_dw ? &dw.d : nullptr, want_db ? &db.d : nullptr,
                                    &this->ex_));
          this->sync();
          EXPECT_TRUE(same_storage(dx, gemm_tol<T>(s.out), gemm_tol<T>(s.out)));
          EXPECT_TRUE(same_storage(dw, gemm_tol<T>(s.n), gemm_tol<T>(s.n)));
          // db: both accumulate N values in double, in different orders.
          EXPECT_TRUE(same_storage(db, gemm_tol<T>(s.n), gemm_tol<T>(s.n)));
        }
}

// ------------------------------------------------------------ devices

// A device ordinal that does not exist: KN_ERR_BACKEND naming the op, and the
// caller's current device is left as it was.
TYPED_TEST(CudaKernels, BadDeviceIsBackendError) {
  using T = TypeParam;
  Buffer<T> x({4}, Layout::Contiguous, this->rng_), y({4}, Layout::Contiguous, this->rng_);
  x.d.device_id = y.d.device_id = cuda_device_count();
  int before = -1, after = -2;
  ASSERT_EQ(cudaGetDevice(&before), cudaSuccess);
  EXPECT_EQ(kn_relu_forward(&x.d, &y.d, &this->ex_), KN_ERR_BACKEND);
  EXPECT_NE(std::string(kn_last_error()).find("kn_relu_forward"), std::string::npos) << kn_last_error();
  ASSERT_EQ(cudaGetDevice(&after), cudaSuccess);
  EXPECT_EQ(before, after);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // the library consumed its error
}

TEST(CudaBuild, HasCuda) { EXPECT_EQ(kn_has_cuda(), 1); }

// Without any GPU a CUDA descriptor is a clean KN_ERR_BACKEND, not a crash.
// (The data pointer is never dereferenced: the call fails selecting the device.)
TEST(CudaNoDevice, CallIsBackendError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  float fake = 0;
  kn_tensor t{};
  t.data = &fake;
  t.dtype = KN_FLOAT32;
  t.device_type = KN_DEVICE_CUDA;
  t.ndim = 1;
  t.shape[0] = 1;
  t.strides[0] = 1;
  kn_tensor out = t;
  float fake_out = 0;
  out.data = &fake_out;
  EXPECT_EQ(kn_relu_forward(&t, &out, nullptr), KN_ERR_BACKEND);
  EXPECT_NE(std::string(kn_last_error()).find("kn_relu_forward"), std::string::npos) << kn_last_error();
}

}  // namespace
