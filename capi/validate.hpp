// Descriptor validation, written once: every entry point describes its
// arguments to an OpValidator, which checks them before any memory is
// touched and throws kn::Error with a one-line message:
//
//   "kn_linear_forward: w: expected shape (out, 3) (in = 3 from x), got (4, 5)"
//
// Checked for every tensor: not NULL, ndim within [0, KN_MAX_DIMS], sizes
// >= 0, a known dtype of the op's kind, one device for the whole call
// (device_id 0 on the CPU), element count and byte extent within int64 (dims
// of size 1 do not count: their stride is never used), the view not wrapping
// the address space, data non-NULL unless empty. Outputs also: no
// self-overlap (e.g. stride 0), and no overlap with any other argument,
// except exact aliasing of an input where the op allows in-place operation.
//
// What the kernels get: input() / output() return the validator's own copy
// of the descriptor (one snapshot, so a caller changing *t from another
// thread cannot slip past the checks), normalised so that no offset
// arithmetic in a kernel can overflow:
//   - an empty tensor (a size-0 dim) has every stride 0;
//   - a size-1 dim has the stride a contiguous layout would give it (or 0
//     where that would not fit), whatever the caller passed;
// so every |stride| x (size - 1) x element size, and their sum, fits in
// int64. Products of a stride with something else (a conv stride, a loop
// bound past the last element) are the kernel's to keep in range.
#pragma once

#include <array>
#include <cstring>
#include <initializer_list>
#include <type_traits>

#include "kernels/internal/error.hpp"
#include "kernels/internal/tensor.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/context.hpp"

namespace kn::capi {

// The value of an enum argument as the C caller passed it, without loading
// it as the enum type: a C caller may pass any int (e.g. -1), and loading an
// out-of-range value as a C++ enum is undefined behaviour (UBSan: "load of
// value 4294967295, which is not a valid value for type ..."). Check the
// result with OpValidator::expect_range before converting it back.
template <typename E>
int64_t enum_value(const E& e) {
  static_assert(std::is_enum_v<E> && sizeof(E) == sizeof(int32_t), "a 32-bit C enum");
  int32_t raw;
  std::memcpy(&raw, &e, sizeof raw);
  return raw;
}

// Expected extent of one dimension, for expect_shape. `name` explains the
// value in messages ("in = 3 from x"); a negative size means "any".
struct Dim {
  int64_t size;
  const char* name = nullptr;
};

// What a tensor argument holds, which decides the dtypes it may have:
//   Float  float32 | float64; every Float tensor of a call shares one dtype
//          (the kernel's T), and this is the default.
//   Index  int32 | int64: class targets, argmax indices. Each Index tensor's
//          dtype is its own (kernels dispatch on it with dispatch_index).
//   Mask   uint8 | bool: e.g. a dropout keep-mask.
enum class Kind { Float, Index, Mask };

class OpValidator {
 public:
  explicit OpValidator(const char* op) : op_(op) {}

  // A required input with `ndim` dims (-1 = any), of `kind` (default: float).
  const kn_tensor& input(const kn_tensor* t, const char* name, int ndim = -1,
                         Kind kind = Kind::Float);
  // As input(), but NULL is allowed and returned as nullptr.
  const kn_tensor* optional_input(const kn_tensor* t, const char* name, int ndim = -1,
                                  Kind kind = Kind::Float);
  // A required output: as input(), plus the overlap rules above.
  const kn_tensor& output(const kn_tensor* t, const char* name, int ndim = -1,
                          Kind kind = Kind::Float);
  const kn_tensor* optional_output(const kn_tensor* t, const char* name, int ndim = -1,
                                   Kind kind = Kind::Float);

  // Outputs declared after this may exactly alias an input (element-wise ops).
  void allow_in_place() { in_place_ok_ = true; }

  // t's shape must equal `dims` (entries with size < 0 match anything).
  void expect_shape(const kn_tensor& t, const char* name, std::initializer_list<Dim> dims);
  // b must have exactly a's shape.
  void same_shape(const kn_tensor& a, const char* a_name, const kn_tensor& b, const char* b_name);
  // An enum-like integer argument in [lo, hi].
  void expect_range(int64_t value, const char* name, int64_t lo, int64_t hi);
  // A condition the arguments must meet, with its message.
  template <typename... Parts>
  void require(bool ok, kn_status status, Parts&&... message) {
    if (!ok) fail(status, op_, ": ", std::forward<Parts>(message)...);
  }

  // Check ex, then call on_cpu(CpuContext) or on_cuda(CudaContext) for the
  // device of the tensors. on_cuda must be a generic lambda
  // ([&](const auto& ctx) {...}) so that a build without CUDA never
  // instantiates it and reports KN_ERR_NOT_BUILT instead.
  template <typename OnCpu, typename OnCuda>
  void run(const kn_exec* ex, OnCpu&& on_cpu, OnCuda&& on_cuda) const {
    const kn_exec e = checked_exec(ex);
    if (device_type_ == KN_DEVICE_CUDA) {
#ifdef KN_WITH_CUDA
      on_cuda(CudaContext{e.stream, e.workspace, e.workspace_bytes});
#else
      (void)on_cuda;
      fail(KN_ERR_NOT_BUILT, op_,
           ": got CUDA tensors, but this libkernels was built without CUDA (kn_has_cuda() == 0)");
#endif
    } else {
      on_cpu(CpuContext{resolve_num_threads(e.num_threads)});
    }
  }

  const char* op() const { return op_; }

 private:
  const kn_tensor& check_tensor(const kn_tensor* t, const char* name, int ndim, Kind kind);
  void check_overlaps(const kn_tensor& out, const char* name);
  kn_exec checked_exec(const kn_exec* ex) const;

  struct Seen {
    const kn_tensor* t;
    const char* name;
    bool is_output;
  };
  const char* op_;
  int32_t dtype_ = -1, device_type_ = -1, device_id_ = -1;
  const char* first_name_ = nullptr;        // the first tensor: sets the device
  const char* first_float_name_ = nullptr;  // the first Float tensor: sets dtype_
  bool in_place_ok_ = false;
  std::array<Seen, 24> seen_{};  // no heap allocation per call
  int num_seen_ = 0;
  std::array<kn_tensor, 24> copies_;  // the checked, normalised descriptors handed out
  int num_copies_ = 0;
};

}  // namespace kn::capi
