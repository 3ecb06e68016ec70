// pykernels._C: the module. Exception classes, constants and the library
// functions are defined here; every operator's functions come from its own
// bindings/<op>.cpp through KN_BINDINGS (bindings/common.hpp).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "bindings/common.hpp"

namespace knpy {
namespace {
struct Registered {
  const char* name;
  BindFn fn;
};
// A function-local static: registrations run during static initialisation of
// the op files, in an order C++ leaves unspecified.
std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}
}  // namespace

int register_bindings(const char* name, BindFn fn) {
  registry().push_back({name, fn});
  return 0;
}
}  // namespace knpy

using namespace knpy;

// The string of a kn_*_info() call (static, owned by the library); NULL means
// it could not be built: raise with `failure` and kn_last_error().
static std::string info_line(const char* (*info_fn)(), kn_status failure) {
  const char* info = nullptr;
  call([&] {
    info = info_fn();
    return info ? KN_OK : failure;
  });
  return std::string(info);
}

PYBIND11_MODULE(_C, m) {
  m.doc() =
      "pykernels._C: the libkernels C ABI. Tensor arguments are numpy.ndarray, descriptor "
      "tuples (data_ptr, dtype, device_type, device_id, shape, strides) or None where optional.";

  // ---------------------------------------------------------------- errors
  g_kernel_error = make_exception_class(
      m, "KernelError", PyExc_RuntimeError,
      "A libkernels call failed. Attributes: status (the kn_status name, e.g. "
      "'KN_ERR_INVALID_ARGUMENT') and message (the library's one-line message).");
  py::handle(g_kernel_error).attr("status") = py::none();
  py::handle(g_kernel_error).attr("message") = py::none();
  {
    py::tuple bases = py::make_tuple(py::handle(g_kernel_error), py::handle(PyExc_ValueError));
    g_shape_error = make_exception_class(m, "ShapeError", bases.ptr(),
                                         "KN_ERR_SHAPE_MISMATCH: a KernelError and a ValueError.");
  }
  {
    py::tuple bases = py::make_tuple(py::handle(g_kernel_error), py::handle(PyExc_TypeError));
    g_unsupported_error = make_exception_class(
        m, "UnsupportedError", bases.ptr(),
        "KN_ERR_UNSUPPORTED (e.g. a dtype other than float32/float64): a KernelError and a "
        "TypeError.");
  }

  {
    py::tuple bases = py::make_tuple(py::handle(PyExc_TypeError));
    g_not_plain_tensor = make_exception_class(
        m, "NotPlainTensor", bases.ptr(),
        "A tensor argument that is not a numpy.ndarray, a descriptor tuple or a plain CPU "
        "torch tensor (see set_torch_types): a TypeError. The torch glue catches it and passes "
        "descriptors instead.");
  }
  m.def(
      "set_torch_types",
      [](py::object tensor, py::object parameter, py::object strided, py::dict dtypes) {
        // Kept for the process (the module is never unloaded): new references.
        g_torch.tensor = tensor.release().ptr();
        g_torch.parameter = parameter.release().ptr();
        g_torch.strided = strided.release().ptr();
        g_torch.dtypes = dtypes.release().ptr();
      },
      "tensor"_a, "parameter"_a, "strided"_a, "dtypes"_a,
      "Called once by pykernels.torch: torch.Tensor, torch.nn.Parameter, torch.strided and "
      "{torch.dtype: kn_dtype}. Tensor arguments of exactly those types, on the CPU, strided, "
      "of a listed dtype are then read directly.");

  // ------------------------------------------------------------- constants
  m.attr("ABI_VERSION_MAJOR") = KN_ABI_VERSION_MAJOR;
  m.attr("ABI_VERSION_MINOR") = KN_ABI_VERSION_MINOR;
  m.attr("MAX_DIMS") = KN_MAX_DIMS;
  m.attr("FLOAT32") = int(KN_FLOAT32);
  m.attr("FLOAT64") = int(KN_FLOAT64);
  m.attr("FLOAT16") = int(KN_FLOAT16);
  m.attr("BFLOAT16") = int(KN_BFLOAT16);
  m.attr("INT32") = int(KN_INT32);
  m.attr("INT64") = int(KN_INT64);
  m.attr("UINT8") = int(KN_UINT8);
  m.attr("BOOL") = int(KN_BOOL);
  m.attr("DEVICE_CPU") = int(KN_DEVICE_CPU);
  m.attr("DEVICE_CUDA") = int(KN_DEVICE_CUDA);
  m.attr("REDUCTION_NONE") = int(KN_REDUCTION_NONE);
  m.attr("REDUCTION_MEAN") = int(KN_REDUCTION_MEAN);
  m.attr("REDUCTION_SUM") = int(KN_REDUCTION_SUM);

  // --------------------------------------------------------------- library
  m.def("status_string", [](int s) { return kn_status_string(static_cast<kn_status>(s)); },
        "status"_a, "kn_status_string: the name of a status code.");
  m.def("abi_version", &kn_abi_version, "kn_abi_version: (major << 16) | minor.");
  m.def("version_string", &kn_version_string, "kn_version_string: the release, e.g. '0.1.0'.");
  m.def("has_cuda", [] { return kn_has_cuda() != 0; }, "kn_has_cuda: built with CUDA kernels?");
  m.def(
      "set_num_threads", [](int32_t n) { call([&] { return kn_set_num_threads(n); }); }, "n"_a,
      "kn_set_num_threads: default CPU threads (0 = OpenMP default).");
  m.def("get_num_threads", &kn_get_num_threads, "kn_get_num_threads: default CPU threads.");
  m.def(
      "blas_info", [] { return info_line(kn_blas_info, KN_ERR_BACKEND); },
      "kn_blas_info: a one-line description of the CPU BLAS in use.");
  m.def(
      "cpu_info", [] { return info_line(kn_cpu_info, KN_ERR_OUT_OF_MEMORY); },
      "kn_cpu_info: the CPU and what this process's CPU dispatch chose, 'key=value; ...'.");

  // ------------------------------------------------------------- operators
  // One bindings/<op>.cpp each, in name order (deterministic docs and errors).
  auto ops = registry();
  std::sort(ops.begin(), ops.end(),
            [](const Registered& a, const Registered& b) { return std::strcmp(a.name, b.name) < 0; });
  for (const Registered& r : ops) r.fn(m);
}
