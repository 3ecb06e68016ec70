// The library-wide entry points: status strings, the thread-local last
// error, versions, build facts, threads, BLAS and CPU dispatch info.
#include <string>
#include <string_view>

#include "capi/boundary.hpp"
#include "kernels/internal/blas.hpp"
#include "kernels/internal/cpu_info.hpp"
#include "kernels/internal/threading.hpp"

#ifndef KN_VERSION_STRING
#define KN_VERSION_STRING "0.0.0"
#endif

namespace kn::capi {
namespace {
thread_local std::string t_last_error;
}

void clear_last_error() noexcept { t_last_error.clear(); }

kn_status set_last_error(kn_status status, const char* op, const char* message) noexcept {
  try {
    const size_t n = std::char_traits<char>::length(op);
    if (std::string_view(message).compare(0, n, op) == 0 && message[n] == ':')
      t_last_error = message;
    else
      t_last_error = std::string(op) + ": " + message;
  } catch (...) {
    // Could not even store the message; the status still tells the story.
  }
  return status;
}

}  // namespace kn::capi

extern "C" {

const char* kn_status_string(kn_status s) {
  switch (s) {
    case KN_OK: return "KN_OK";
    case KN_ERR_INVALID_ARGUMENT: return "KN_ERR_INVALID_ARGUMENT";
    case KN_ERR_SHAPE_MISMATCH: return "KN_ERR_SHAPE_MISMATCH";
    case KN_ERR_UNSUPPORTED: return "KN_ERR_UNSUPPORTED";
    case KN_ERR_NOT_BUILT: return "KN_ERR_NOT_BUILT";
    case KN_ERR_WORKSPACE_TOO_SMALL: return "KN_ERR_WORKSPACE_TOO_SMALL";
    case KN_ERR_OUT_OF_MEMORY: return "KN_ERR_OUT_OF_MEMORY";
    case KN_ERR_BACKEND: return "KN_ERR_BACKEND";
    case KN_ERR_INTERNAL: return "KN_ERR_INTERNAL";
  }
  return "KN_ERR_UNKNOWN_STATUS";
}

const char* kn_last_error(void) { return kn::capi::t_last_error.c_str(); }

uint32_t kn_abi_version(void) {
  return (uint32_t(KN_ABI_VERSION_MAJOR) << 16) | uint32_t(KN_ABI_VERSION_MINOR);
}

const char* kn_version_string(void) { return KN_VERSION_STRING; }

int32_t kn_has_cuda(void) {
#ifdef KN_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

kn_status kn_set_num_threads(int32_t n) {
  return kn::capi::guard("kn_set_num_threads", [&] {
    if (n < 0)
      kn::fail(KN_ERR_INVALID_ARGUMENT, "kn_set_num_threads: n must be >= 0, got ", n);
    kn::set_default_num_threads(n);
  });
}

int32_t kn_get_num_threads(void) { return kn::default_num_threads(); }

const char* kn_blas_info(void) {
  const char* info = nullptr;
  const kn_status s = kn::capi::guard("kn_blas_info", [&] { info = kn::blas::info(); });
  return s == KN_OK ? info : nullptr;
}

const char* kn_cpu_info(void) {
  const char* info = nullptr;
  const kn_status s = kn::capi::guard("kn_cpu_info", [&] { info = kn::cpu_info::report(); });
  return s == KN_OK ? info : nullptr;
}

}  // extern "C"
