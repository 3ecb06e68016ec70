// pykernels._jax_ffi: the module. Hands every target that a jax_ffi/<op>.cpp
// registered (KN_JAX_TARGET, jax_ffi/common.hpp) to Python as PyCapsules of
// XLA_FFI_Handler*, for jax.ffi.register_ffi_target (pykernels/jax/_ffi.py).
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "jax_ffi/common.hpp"

namespace py = pybind11;

namespace knjax {
namespace {
// A function-local static: registrations run during static initialisation of
// the op files, in an order C++ leaves unspecified.
std::vector<Target>& registry() {
  static std::vector<Target> r;
  return r;
}
}  // namespace

int register_target(const char* name, XLA_FFI_Handler* cpu, XLA_FFI_Handler* cuda) {
  registry().push_back({name, cpu, cuda});
  return 0;
}

const std::vector<Target>& targets() { return registry(); }
}  // namespace knjax

PYBIND11_MODULE(_jax_ffi, m) {
  m.doc() =
      "pykernels._jax_ffi: the libkernels C ABI as XLA FFI handlers (one per kn_* entry), "
      "registered with JAX by pykernels.jax.";
  m.def(
      "targets",
      [] {
        std::vector<knjax::Target> sorted = knjax::targets();
        std::sort(sorted.begin(), sorted.end(), [](const knjax::Target& a, const knjax::Target& b) {
          return std::strcmp(a.name, b.name) < 0;
        });
        py::dict d;
        for (const auto& t : sorted) {
          py::dict platforms;
          platforms["cpu"] = py::capsule(reinterpret_cast<void*>(t.cpu));
          if (t.cuda) platforms["CUDA"] = py::capsule(reinterpret_cast<void*>(t.cuda));
          d[py::str(t.name)] = platforms;
        }
        return d;
      },
      "{target name: {platform: PyCapsule of the XLA_FFI_Handler*}} for every target; platform "
      "'cpu', and 'CUDA' in a CUDA build.");
  // The XLA FFI API version of the headers this module was built against.
  m.attr("XLA_FFI_API_VERSION") = py::make_tuple(XLA_FFI_API_MAJOR, XLA_FFI_API_MINOR);
}
