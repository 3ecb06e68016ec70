// pykernels._torch_ext: what every C++ autograd node of the torch layer shares.
//
// Why the module exists: a torch.autograd.Function written in Python costs ~8 us per
// forward+backward more than a node in C++ (1-element relu, forward + backward, Intel
// Xeon model 167, torch 2.13: torch's own 15.5 us; a Python Function of torch ops
// 23.9 us; pykernels through its Python Function 25.0 us; through the C++ node
// ~17.5 us). The time is the engine's call into Python (GIL, argument tuples,
// ctx.saved_tensors) and the Python Function's apply, not the kernels; only a node in
// C++ removes it. At MLP sizes (linear 32x64->10: 3 us of kernel) it is most of a call.
//
// The contract of every node (torch_ext/<op>.cpp), called by the Python glue
// (pykernels/torch/_glue.py, fast_path) only in plain eager mode:
//   - node(*args) runs the op's kernels on plain strided CPU float32/float64 tensors
//     and, when an input needs a gradient, records a torch::autograd::Function whose
//     backward calls the op's backward kernel: no Python in the backward;
//   - anything else goes back to Python unchanged: the whole call to `fallback` (the
//     op's Python eager path) when an argument is not what the node runs (another
//     dtype, device, layout, rank, a non-tensor) or a kernel fails (Python reruns it
//     and raises the library's own exception); the backward to the op's Python
//     backward when it must itself be recorded (create_graph=True) or the gradient is
//     not a plain CPU tensor, so double backward behaves exactly as without the node.
//
// Built only when the build's Python imports torch (CMakeLists.txt), against that
// torch's headers, with torch's public C++ autograd API only (torch::autograd::Function);
// pykernels uses it only when torch.__version__ equals the version it was built against
// (torch's C++ ABI is not stable across releases).
#pragma once

#include <torch/extension.h>

#include <string>

#include "kernels/kernels.h"

namespace kntorch {

namespace py = pybind11;

// What the nodes run themselves; any other tensor goes through Python.
inline bool handled(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided &&
         (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble) &&
         t.dim() <= KN_MAX_DIMS && !t.is_conj() && !t.is_neg();
}

// A plain CPU tensor of class indices (int64 or int32), as the class-index losses take.
inline bool handled_index(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided &&
         (t.scalar_type() == at::kLong || t.scalar_type() == at::kInt) && t.dim() <= KN_MAX_DIMS;
}

// The descriptor of a tensor that handled() or handled_index() accepted.
inline kn_tensor descriptor(const at::Tensor& t) {
  kn_tensor d{};
  d.data = t.data_ptr();
  switch (t.scalar_type()) {
    case at::kFloat: d.dtype = KN_FLOAT32; break;
    case at::kDouble: d.dtype = KN_FLOAT64; break;
    case at::kLong: d.dtype = KN_INT64; break;
    default: d.dtype = KN_INT32; break;  // at::kInt: all handled_index() leaves
  }
  d.device_type = KN_DEVICE_CPU;
  d.device_id = 0;
  d.ndim = static_cast<int32_t>(t.dim());
  for (int32_t i = 0; i < d.ndim; ++i) {
    d.shape[i] = t.size(i);
    d.strides[i] = t.stride(i);
  }
  return d;
}

// A failed kernel: caught by the node's __call__ (which hands the call to Python) in
// the forward; in the backward torch's engine raises it as a RuntimeError.
[[noreturn]] inline void throw_status(const std::string& entry, kn_status s) {
  throw std::runtime_error("pykernels._torch_ext: " + entry + ": " + kn_status_string(s) + ": " +
                           kn_last_error());
}

// Raises the failure of libkernels' `entry` (as throw_status) unless s is KN_OK.
inline void check_status(const char* entry, kn_status s) {
  if (s != KN_OK) throw_status(entry, s);
}

// call() -> kn_status, run with the GIL released (a forward called from Python: other
// Python threads run meanwhile).
template <typename Call>
kn_status without_gil(Call&& call) {
  py::gil_scoped_release no_gil;
  return call();
}

// An int argument of node(*args): an exact Python int (not a bool) that fits int64, into
// *v; false for anything else (the node then hands the call back to Python).
inline bool int_arg(py::handle h, int64_t* v) {
  if (!PyLong_CheckExact(h.ptr())) return false;
  int overflow = 0;
  *v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
  return overflow == 0;
}

// A plain tensor argument of node(*args): the tensor, or nullptr (not a tensor).
inline const at::Tensor* tensor_arg(py::handle h) {
  return THPVariable_Check(h.ptr()) ? &THPVariable_Unpack(h.ptr()) : nullptr;
}

inline py::object wrap(at::Tensor t) {
  return py::reinterpret_steal<py::object>(THPVariable_Wrap(std::move(t)));
}

// Each torch_ext/<op>.cpp registers its classes with
//
//   KN_TORCH_EXT(linear) {   // m: the pykernels._torch_ext module
//     py::class_<LinearNode>(m, "LinearNode")...;
//   }
//
// and module.cpp calls every registered function at import (as bindings/ does for _C).
using RegisterFn = void (*)(py::module_&);
int register_node(const char* name, RegisterFn fn);  // module.cpp

}  // namespace kntorch

#define KN_TORCH_EXT(name)                                                       \
  static void kn_torch_ext_##name(pybind11::module_& m);                         \
  [[maybe_unused]] static const int kn_torch_ext_registered_##name =             \
      ::kntorch::register_node(#name, kn_torch_ext_##name);                      \
  static void kn_torch_ext_##name(pybind11::module_& m)
