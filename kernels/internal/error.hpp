// kn::Error -- the one exception type kernels and validation throw.
//
// Every C entry point runs inside kn::capi::guard (capi/boundary.hpp), which
// turns a kn::Error into its status and message, and any other exception
// into KN_ERR_OUT_OF_MEMORY (std::bad_alloc) or KN_ERR_INTERNAL.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/core.h"

namespace kn {

class Error : public std::runtime_error {
 public:
  Error(kn_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  kn_status status() const noexcept { return status_; }

 private:
  kn_status status_;
};

// fail(KN_ERR_SHAPE_MISMATCH, "kn_linear_forward: w: expected ", a, ", got ", b)
template <typename... Parts>
[[noreturn]] void fail(kn_status status, Parts&&... parts) {
  std::ostringstream message;
  (message << ... << std::forward<Parts>(parts));
  throw Error(status, message.str());
}

}  // namespace kn
