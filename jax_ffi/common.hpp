// pykernels._jax_ffi -- the libkernels C ABI as XLA FFI targets, for JAX.
//
// One file per operator, jax_ffi/<op>.cpp, defines that op's targets, one per
// kn_* entry, each a single expression over a Call:
//
//   KN_JAX_TARGET(relu_forward) {          // target "pykernels.relu_forward"
//     return kn_relu_forward(c.in(0), c.out(0), c.exec());
//   }
//
// KN_JAX_TARGET defines two typed XLA FFI handlers (XLA_FFI_DEFINE_HANDLER) on
// that body: the CPU one and, in a CUDA build, the CUDA one (XLA's stream
// goes to kn_exec.stream, its device ordinal to every kn_tensor.device_id),
// and registers them by being linked; module.cpp hands them to Python as
// capsules, which pykernels.jax registers with jax.ffi.register_ffi_target.
// Nothing lists the ops (CMake globs jax_ffi/*.cpp).
//
// Every handler binds the same signature: all operands, all results and the
// attribute dictionary (RemainingArgs, RemainingRets, Attrs<Dictionary>). The
// FFI decodes buffers and attributes; Call turns each buffer into a kn_tensor
// (XLA's default row-major layout: contiguous strides) and reads attributes
// by name. The Python side (pykernels/jax/_ffi.py, `call`) passes the
// bookkeeping attributes below, so one binding serves every op:
//
//   kn_absent_in  (int64)  bit i set: logical operand i is absent (None), and
//                          c.in(i) is NULL; present operands are packed in order
//   kn_absent_out (int64)  the same for results (an output not requested)
//
// Errors: a kn_* status other than KN_OK becomes an FFI error whose message is
// "<target>: <kn_last_error()> (<status name>)"; JAX raises it as a Python
// exception (jax.errors.JaxRuntimeError) and the process goes on. A decoding
// problem (an attribute missing or of the wrong type, too few buffers) is an
// error of the Python layer; the C call then sees an invalid descriptor
// (ndim -1), fails validation, and the decoding message is reported instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/core.h"
#include "xla/ffi/api/ffi.h"

namespace knjax {

namespace ffi = xla::ffi;

// The kn_dtype of an XLA element type, or -1 (the C call then reports it).
inline int32_t kn_dtype_of(ffi::DataType t) {
  switch (t) {
    case ffi::DataType::F32: return KN_FLOAT32;
    case ffi::DataType::F64: return KN_FLOAT64;
    case ffi::DataType::F16: return KN_FLOAT16;
    case ffi::DataType::BF16: return KN_BFLOAT16;
    case ffi::DataType::S32: return KN_INT32;
    case ffi::DataType::S64: return KN_INT64;
    case ffi::DataType::U8: return KN_UINT8;
    case ffi::DataType::PRED: return KN_BOOL;  // XLA stores PRED as one byte
    default: return -1;
  }
}

// One invocation of a target: its buffers as kn_tensors, its attributes, its
// execution context.
class Call {
 public:
  Call(const char* target, ffi::RemainingArgs args, ffi::RemainingRets rets, ffi::Dictionary attrs,
       int32_t device_type, int32_t device_id, void* stream)
      : target_(target), attrs_(attrs) {
    absent_in_ = attrs_.contains("kn_absent_in") ? i64("kn_absent_in") : 0;
    absent_out_ = attrs_.contains("kn_absent_out") ? i64("kn_absent_out") : 0;
    ins_.reserve(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      auto b = args.get<ffi::AnyBuffer>(i);
      if (!b.has_value()) {
        fail("operand " + std::to_string(i) + " is not a buffer");
        ins_.push_back(invalid());
      } else {
        ins_.push_back(describe(*b, device_type, device_id));
        in_bytes_.push_back(b->size_bytes());
        continue;
      }
      in_bytes_.push_back(0);
    }
    outs_.reserve(rets.size());
    for (size_t i = 0; i < rets.size(); ++i) {
      auto b = rets.get<ffi::AnyBuffer>(i);
      if (!b.has_value()) {
        fail("result " + std::to_string(i) + " is not a buffer");
        outs_.push_back(invalid());
      } else {
        outs_.push_back(describe(**b, device_type, device_id));
      }
    }
    exec_.stream = stream;
  }

  // Logical operand / result i: NULL where kn_absent_in / kn_absent_out marks
  // it absent; an invalid descriptor (never NULL) where it is missing.
  const kn_tensor* in(int i) { return pick(ins_, absent_in_, i, "operand"); }
  const kn_tensor* out(int i) { return pick(outs_, absent_out_, i, "result"); }

  // Attributes by name: float (passed as float64), integer (int64), bool
  // (passed as int64 0/1 by pykernels.jax, so that every attribute is one of two types).
  double f64(const char* name) {
    auto v = attrs_.get<double>(name);
    if (!v.has_value()) return fail_attr(name, "float64"), 0.0;
    return *v;
  }
  int64_t i64(const char* name) {
    auto v = attrs_.get<int64_t>(name);
    if (!v.has_value()) return fail_attr(name, "int64"), 0;
    return *v;
  }
  int32_t flag(const char* name) { return i64(name) != 0 ? 1 : 0; }

  // The attributes "<name>_h" and "<name>_w" into an (h, w) pair: the 2-D geometry
  // (kernel size, stride, padding, dilation) of convolution and pooling params.
  void hw(const char* name, int64_t (&pair)[2]) {
    pair[0] = i64((std::string(name) + "_h").c_str());
    pair[1] = i64((std::string(name) + "_w").c_str());
  }

  // Logical operand i as a 64-bit word read on the host: a seed that JAX
  // computes under jit (pykernels.jax draws it from a jax.random key as a
  // uint32[2] array), so it cannot be an attribute. CPU buffers only.
  uint64_t host_u64(int i) {
    const kn_tensor* t = in(i);
    if (t == nullptr || t->ndim < 0) return fail("seed operand missing"), 0;
    const size_t physical = static_cast<size_t>(t - ins_.data());
    if (in_bytes_[physical] != 8) return fail("seed operand must be 8 bytes (uint32[2])"), 0;
    if (t->device_type != KN_DEVICE_CPU)
      return fail("a seed operand is read on the host: CPU only"), 0;
    uint32_t w[2];
    std::memcpy(w, t->data, 8);
    return (uint64_t{w[0]} << 32) | w[1];
  }

  const kn_exec* exec() const { return &exec_; }

  // Result i, a 1-D uint8 buffer that the Python side sized with the op's
  // *_workspace_size query, as kn_exec.workspace: device scratch, which the
  // library never allocates on CUDA (kn_rnn_backward). Absent: no workspace.
  void workspace_from_out(int i) {
    const kn_tensor* t = out(i);
    if (t == nullptr) return;
    if (t->ndim != 1 || t->dtype != KN_UINT8) return fail("the workspace result must be 1-D uint8");
    exec_.workspace = t->shape[0] > 0 ? t->data : nullptr;
    exec_.workspace_bytes = static_cast<size_t>(t->shape[0]);
  }

  // The FFI result of the C call's status.
  ffi::Error finish(kn_status status) const {
    if (!error_.empty())
      return ffi::Error(ffi::ErrorCode::kInvalidArgument, std::string(target_) + ": " + error_);
    if (status == KN_OK) return ffi::Error::Success();
    std::string message = std::string(target_) + ": " + kn_last_error() + " (" +
                          kn_status_string(status) + ")";
    ffi::ErrorCode code = ffi::ErrorCode::kInternal;
    switch (status) {
      case KN_ERR_INVALID_ARGUMENT:
      case KN_ERR_SHAPE_MISMATCH: code = ffi::ErrorCode::kInvalidArgument; break;
      case KN_ERR_UNSUPPORTED:
      case KN_ERR_NOT_BUILT: code = ffi::ErrorCode::kUnimplemented; break;
      case KN_ERR_OUT_OF_MEMORY:
      case KN_ERR_WORKSPACE_TOO_SMALL: code = ffi::ErrorCode::kResourceExhausted; break;
      default: break;
    }
    return ffi::Error(code, std::move(message));
  }

 private:
  static kn_tensor invalid() {
    kn_tensor t{};
    t.ndim = -1;  // fails every entry point's validation
    return t;
  }

  static kn_tensor describe(const ffi::AnyBuffer& b, int32_t device_type, int32_t device_id) {
    kn_tensor t{};
    const auto dims = b.dimensions();
    if (dims.size() > KN_MAX_DIMS) return invalid();
    t.data = b.untyped_data();
    t.dtype = kn_dtype_of(b.element_type());
    t.device_type = device_type;
    t.device_id = device_id;
    t.ndim = static_cast<int32_t>(dims.size());
    int64_t stride = 1;  // XLA's default layout: row-major, dense
    for (int d = t.ndim - 1; d >= 0; --d) {
      t.shape[d] = dims[d];
      t.strides[d] = stride;
      stride *= dims[d] > 0 ? dims[d] : 1;
    }
    return t;
  }

  const kn_tensor* pick(const std::vector<kn_tensor>& v, int64_t absent, int i, const char* what) {
    if (i < 0 || i >= 63) return fail(std::string(what) + " index out of range"), &invalid_;
    if ((absent >> i) & 1) return nullptr;
    const int64_t below = absent & ((int64_t{1} << i) - 1);
    const size_t physical = static_cast<size_t>(i - __builtin_popcountll(static_cast<uint64_t>(below)));
    if (physical >= v.size()) {
      fail(std::string(what) + " " + std::to_string(i) + " was not passed (" +
           std::to_string(v.size()) + " given)");
      return &invalid_;
    }
    return &v[physical];
  }

  void fail(const std::string& message) {
    if (error_.empty()) error_ = message;
  }
  void fail_attr(const char* name, const char* type) {
    fail(std::string("attribute '") + name + "' is missing or not " + type);
  }

  const char* target_;
  ffi::Dictionary attrs_;
  std::vector<kn_tensor> ins_, outs_;
  std::vector<size_t> in_bytes_;
  int64_t absent_in_ = 0, absent_out_ = 0;
  kn_exec exec_{};
  std::string error_;
  const kn_tensor invalid_ = invalid();
};

// ------------------------------------------------------------------ registry

using Body = kn_status (*)(Call&);

struct Target {
  const char* name;  // "pykernels.relu_forward"
  XLA_FFI_Handler* cpu;
  XLA_FFI_Handler* cuda;  // nullptr in a build without CUDA
};
int register_target(const char* name, XLA_FFI_Handler* cpu, XLA_FFI_Handler* cuda);  // module.cpp
const std::vector<Target>& targets();                                                  // module.cpp

template <Body body>
ffi::Error run_cpu(const char* name, ffi::RemainingArgs args, ffi::RemainingRets rets,
                   ffi::Dictionary attrs) {
  Call c(name, args, rets, attrs, KN_DEVICE_CPU, 0, nullptr);
  return c.finish(body(c));
}

template <Body body>
ffi::Error run_cuda(const char* name, void* stream, int32_t device, ffi::RemainingArgs args,
                    ffi::RemainingRets rets, ffi::Dictionary attrs) {
  Call c(name, args, rets, attrs, KN_DEVICE_CUDA, device, stream);
  return c.finish(body(c));
}

}  // namespace knjax

#define KN_JAX_BINDING_CPU \
  ::xla::ffi::Ffi::Bind().RemainingArgs().RemainingRets().Attrs<::xla::ffi::Dictionary>()
#define KN_JAX_BINDING_CUDA                                                 \
  ::xla::ffi::Ffi::Bind()                                                   \
      .Ctx<::xla::ffi::PlatformStream<void*>>()                             \
      .Ctx<::xla::ffi::DeviceOrdinal>()                                     \
      .RemainingArgs()                                                      \
      .RemainingRets()                                                      \
      .Attrs<::xla::ffi::Dictionary>()

#if defined(KN_WITH_CUDA)
#define KN_JAX_CUDA_HANDLER(name)                                                             \
  XLA_FFI_DEFINE_HANDLER(kn_jax_cuda_##name,                                                  \
                         ([](void* s, int32_t d, ::xla::ffi::RemainingArgs a,                 \
                             ::xla::ffi::RemainingRets r, ::xla::ffi::Dictionary at) {        \
                           return ::knjax::run_cuda<kn_jax_body_##name>("pykernels." #name, s, \
                                                                        d, a, r, at);          \
                         }),                                                                  \
                         KN_JAX_BINDING_CUDA);
#define KN_JAX_CUDA_PTR(name) kn_jax_cuda_##name
#else
#define KN_JAX_CUDA_HANDLER(name)
#define KN_JAX_CUDA_PTR(name) nullptr
#endif

// Defines and registers the target "pykernels.<name>"; the body that follows
// sees `::knjax::Call& c` and returns the kn_* call's status.
#define KN_JAX_TARGET(name)                                                                  \
  static kn_status kn_jax_body_##name(::knjax::Call& c);                                     \
  XLA_FFI_DEFINE_HANDLER(kn_jax_cpu_##name,                                                  \
                         ([](::xla::ffi::RemainingArgs a, ::xla::ffi::RemainingRets r,       \
                             ::xla::ffi::Dictionary at) {                                    \
                           return ::knjax::run_cpu<kn_jax_body_##name>("pykernels." #name, a, \
                                                                       r, at);               \
                         }),                                                                 \
                         KN_JAX_BINDING_CPU);                                                \
  KN_JAX_CUDA_HANDLER(name)                                                                  \
  [[maybe_unused]] static const int kn_jax_registered_##name =                               \
      ::knjax::register_target("pykernels." #name, kn_jax_cpu_##name, KN_JAX_CUDA_PTR(name)); \
  static kn_status kn_jax_body_##name([[maybe_unused]] ::knjax::Call& c)
