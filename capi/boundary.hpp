// The one boundary between C++ and C: every extern "C" entry point's body
// runs inside guard(), which turns exceptions into a kn_status and records
// the message for kn_last_error() (thread-local). Nothing else in capi/
// catches exceptions.
//
//   kn_status kn_relu_forward(...) {
//     return kn::capi::guard("kn_relu_forward", [&] { ... });
//   }
#pragma once

#include <exception>
#include <new>

#include "kernels/internal/error.hpp"

namespace kn::capi {

void clear_last_error() noexcept;
// Records "<op>: <message>" (the message as is when it already starts with
// the op's name, as validation messages do) and returns status.
kn_status set_last_error(kn_status status, const char* op, const char* message) noexcept;

template <typename Body>
kn_status guard(const char* op, Body&& body) noexcept {
  clear_last_error();
  try {
    body();
    return KN_OK;
  } catch (const kn::Error& e) {
    return set_last_error(e.status(), op, e.what());
  } catch (const std::bad_alloc&) {
    return set_last_error(KN_ERR_OUT_OF_MEMORY, op, "out of memory");
  } catch (const std::exception& e) {
    return set_last_error(KN_ERR_INTERNAL, op, e.what());
  } catch (...) {
    return set_last_error(KN_ERR_INTERNAL, op, "unknown exception");
  }
}

}  // namespace kn::capi
