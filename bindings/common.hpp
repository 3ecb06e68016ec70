// pykernels._C -- the thin pybind11 layer over the C ABI (kernels/kernels.h):
// the machinery every op's bindings/<op>.cpp uses (this header), the module
// itself (module.cpp), and one bindings/<op>.cpp per operator.
//
// Every kn_* operator is bound ONCE. Each tensor argument is a Python object
// turned into a kn_tensor by one converter, TensorArg, which accepts
//
//   * a numpy.ndarray: data pointer, shape, byte strides / itemsize ->
//     element strides, dtype -> kn_dtype. Nothing is converted or copied;
//     an output array must be writeable.
//   * a raw descriptor tuple, used by the torch glue:
//       (data_ptr: int, dtype: int, device_type: int, device_id: int,
//        shape: tuple[int, ...], strides: tuple[int, ...])   # strides in elements
//   * a torch.Tensor (or nn.Parameter) on the CPU, strided, of a dtype in the
//     table the torch glue registered (set_torch_types): read here directly
//     (data_ptr(), shape, stride()), ~1 us per call less than descriptor tuples
//     built in Python. Any other object raises NotPlainTensor (a TypeError):
//     the torch glue catches it and passes descriptors (a CUDA tensor, a
//     subclass), NumPy callers see the TypeError. Nothing here imports torch.
//   * None, for an optional argument (the C pointer is then NULL).
//
// Every operator also takes the keyword-only execution arguments
// `stream: int = 0` (a cudaStream_t as an integer, 0 = legacy default
// stream; ignored on CPU) and `num_threads: int = 0` (0 = library default).
//
// The GIL is released around the C call. A non-OK status raises
// KernelError (a RuntimeError) with attributes `status` (e.g.
// "KN_ERR_SHAPE_MISMATCH") and `message` (kn_last_error()). Subclasses:
// ShapeError (also a ValueError) for KN_ERR_SHAPE_MISMATCH, UnsupportedError
// (also a TypeError) for KN_ERR_UNSUPPORTED (e.g. an int64 or float16 array).
// Arguments that cannot even be described (not an array, a NumPy dtype
// without a kn_dtype, a read-only output, more than KN_MAX_DIMS dims) raise
// TypeError / ValueError naming the op and the argument.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "kernels/core.h"

namespace py = pybind11;
using namespace pybind11::literals;  // "x"_a

namespace knpy {

// ------------------------------------------------------------------ errors

// The exception classes, created at import and kept for the process.
inline PyObject* g_kernel_error = nullptr;
inline PyObject* g_shape_error = nullptr;
inline PyObject* g_unsupported_error = nullptr;
// TypeError subclass: "not an array, a descriptor or a plain CPU torch tensor".
inline PyObject* g_not_plain_tensor = nullptr;

// What set_torch_types registered (new references, kept for the process), or
// nullptr before: torch.Tensor, torch.nn.Parameter, torch.strided and a dict
// torch.dtype -> kn_dtype (int).
struct TorchTypes {
  PyObject* tensor = nullptr;
  PyObject* parameter = nullptr;
  PyObject* strided = nullptr;
  PyObject* dtypes = nullptr;
};
inline TorchTypes g_torch;

inline PyObject* make_exception_class(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("pykernels.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // add_object takes its own reference
  return cls;
}

// Raise the exception for a failed kn_* call (GIL held).
[[noreturn]] inline void raise_status(kn_status status, const std::string& message) {
  PyObject* cls = status == KN_ERR_SHAPE_MISMATCH ? g_shape_error
                  : status == KN_ERR_UNSUPPORTED  ? g_unsupported_error
                                                  : g_kernel_error;
  const char* name = kn_status_string(status);
  py::object exc = py::reinterpret_borrow<py::object>(cls)(py::str(message));
  exc.attr("status") = py::str(name);
  exc.attr("message") = py::str(message);
  PyErr_SetObject(cls, exc.ptr());
  throw py::error_already_set();
}

// Run a kn_* call with the GIL released; raise on a non-OK status.
template <typename Call>
void call(Call&& c) {
  kn_status status;
  std::string message;
  {
    py::gil_scoped_release release;
    status = c();
    if (status != KN_OK) message = kn_last_error();  // thread-local: read on this thread
  }
  if (status != KN_OK) raise_status(status, message);
}

template <typename... Parts>
[[noreturn]] void raise_py(PyObject* type, const Parts&... parts) {
  std::string s;
  ((s += std::string(parts)), ...);
  PyErr_SetString(type, s.c_str());
  throw py::error_already_set();
}

// ------------------------------------------------------------------ tensors

// NumPy dtype -> kn_dtype, or -1 if it has none.
inline int32_t kn_dtype_of(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return KN_FLOAT32;
  if (kind == 'f' && size == 8) return KN_FLOAT64;
  if (kind == 'f' && size == 2) return KN_FLOAT16;
  if (kind == 'i' && size == 4) return KN_INT32;
  if (kind == 'i' && size == 8) return KN_INT64;
  if (kind == 'u' && size == 1) return KN_UINT8;
  if (kind == 'b' && size == 1) return KN_BOOL;
  return -1;
}

enum class Role { Input, Output };

// One tensor argument of a kn_* call: a NumPy array, a descriptor tuple, or
// None (optional arguments only). Borrows the memory: the Python caller keeps
// the object alive for the call.
class TensorArg {
 public:
  TensorArg(py::handle obj, const char* op, const char* name, Role role, bool optional = false)
      : present_(!obj.is_none()) {
    if (!present_) {
      if (!optional) raise_py(PyExc_TypeError, op, ": ", name, ": must not be None");
      return;
    }
    const auto* type = reinterpret_cast<PyObject*>(Py_TYPE(obj.ptr()));
    if (g_torch.tensor && (type == g_torch.tensor || type == g_torch.parameter)) {
      if (from_torch(obj)) return;
    } else if (py::isinstance<py::array>(obj)) {
      from_array(py::reinterpret_borrow<py::array>(obj), op, name, role);
      return;
    } else if (py::isinstance<py::tuple>(obj)) {
      from_descriptor(py::reinterpret_borrow<py::tuple>(obj), op, name);
      return;
    }
    raise_py(g_not_plain_tensor, op, ": ", name,
             ": expected a numpy.ndarray or a descriptor tuple (data_ptr, dtype, device_type, "
             "device_id, shape, strides), got ",
             std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }

  // The C argument: NULL for an absent optional.
  const kn_tensor* get() const { return present_ ? &t_ : nullptr; }

 private:
  void set_ndim(py::ssize_t ndim, const char* op, const char* name) {
    if (ndim > KN_MAX_DIMS)
      raise_py(PyExc_ValueError, op, ": ", name, ": ", std::to_string(ndim),
               " dims exceed KN_MAX_DIMS = ", std::to_string(KN_MAX_DIMS));
    t_.ndim = static_cast<int32_t>(ndim);
  }

  void from_array(const py::array& a, const char* op, const char* name, Role role) {
    const py::dtype dt = a.dtype();
    t_.dtype = kn_dtype_of(dt);
    if (t_.dtype < 0)
      raise_py(PyExc_TypeError, op, ": ", name, ": NumPy dtype ", std::string(py::str(dt)),
               " has no libkernels dtype (expected float32 or float64)");
    const std::uint16_t probe = 1;
    const char foreign = *reinterpret_cast<const char*>(&probe) == 1 ? '>' : '<';
    if (dt.byteorder() == foreign)
      raise_py(PyExc_TypeError, op, ": ", name, ": non-native byte order (", std::string(py::str(dt)),
               ") is not supported");
    if (role == Role::Output && !a.writeable())
      raise_py(PyExc_ValueError, op, ": ", name, ": output array is read-only");
    set_ndim(a.ndim(), op, name);
    const auto itemsize = static_cast<py::ssize_t>(dt.itemsize());
    for (int d = 0; d < t_.ndim; ++d) {
      t_.shape[d] = a.shape(d);
      const py::ssize_t bytes = a.strides(d);
      if (bytes % itemsize != 0)
        raise_py(PyExc_ValueError, op, ": ", name, ": byte stride ", std::to_string(bytes),
                 " of dim ", std::to_string(d), " is not a multiple of the item size ",
                 std::to_string(itemsize));
      t_.strides[d] = bytes / itemsize;
    }
    t_.data = const_cast<void*>(a.data());
    t_.device_type = KN_DEVICE_CPU;
    t_.device_id = 0;
  }

  // A plain CPU torch tensor (the caller checked its type): false, having read
  // nothing, for any other device, layout or dtype.
  bool from_torch(py::handle obj) {
    static PyObject* const is_cpu = PyUnicode_InternFromString("is_cpu");
    static PyObject* const layout = PyUnicode_InternFromString("layout");
    static PyObject* const dtype = PyUnicode_InternFromString("dtype");
    static PyObject* const shape = PyUnicode_InternFromString("shape");
    static PyObject* const data_ptr = PyUnicode_InternFromString("data_ptr");
    static PyObject* const stride = PyUnicode_InternFromString("stride");
    auto attr = [&](PyObject* key) {
      PyObject* v = PyObject_GetAttr(obj.ptr(), key);
      if (!v) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(v);
    };
    auto method = [&](PyObject* key) {
      PyObject* v = PyObject_CallMethodNoArgs(obj.ptr(), key);
      if (!v) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(v);
    };
    if (attr(is_cpu).ptr() != Py_True || attr(layout).ptr() != g_torch.strided) return false;
    PyObject* code = PyDict_GetItemWithError(g_torch.dtypes, attr(dtype).ptr());  // borrowed
    if (!code) {
      if (PyErr_Occurred()) throw py::error_already_set();
      return false;
    }
    const py::object sizes = attr(shape), steps = method(stride), ptr = method(data_ptr);
    const Py_ssize_t ndim = PyTuple_Size(sizes.ptr());  // torch.Size is a tuple
    if (ndim < 0 || !PyTuple_Check(steps.ptr()) || PyTuple_GET_SIZE(steps.ptr()) != ndim ||
        ndim > KN_MAX_DIMS)
      return false;  // (more than KN_MAX_DIMS: the glue's path reports it)
    t_.ndim = static_cast<int32_t>(ndim);
    for (Py_ssize_t d = 0; d < ndim; ++d) {
      t_.shape[d] = PyLong_AsLongLong(PyTuple_GET_ITEM(sizes.ptr(), d));
      t_.strides[d] = PyLong_AsLongLong(PyTuple_GET_ITEM(steps.ptr(), d));
    }
    t_.data = PyLong_AsVoidPtr(ptr.ptr());
    t_.dtype = static_cast<int32_t>(PyLong_AsLong(code));
    if (PyErr_Occurred()) throw py::error_already_set();
    t_.device_type = KN_DEVICE_CPU;
    t_.device_id = 0;
    return true;
  }

  void from_descriptor(const py::tuple& d, const char* op, const char* name) {
    if (d.size() != 6)
      raise_py(PyExc_TypeError, op, ": ", name,
               ": a descriptor is (data_ptr, dtype, device_type, device_id, shape, strides), got a "
               "tuple of ",
               std::to_string(d.size()));
    try {
      t_.data = reinterpret_cast<void*>(d[0].cast<std::uintptr_t>());
      t_.dtype = d[1].cast<int32_t>();
      t_.device_type = d[2].cast<int32_t>();
      t_.device_id = d[3].cast<int32_t>();
      if (!py::isinstance<py::tuple>(d[4]) || !py::isinstance<py::tuple>(d[5]))
        throw py::cast_error("shape and strides must be tuples");
      const auto shape = d[4].cast<py::tuple>();  // torch.Size is a tuple
      const auto strides = d[5].cast<py::tuple>();
      if (shape.size() != strides.size())
        raise_py(PyExc_ValueError, op, ": ", name, ": descriptor shape has ",
                 std::to_string(shape.size()), " dims but strides has ",
                 std::to_string(strides.size()));
      set_ndim(static_cast<py::ssize_t>(shape.size()), op, name);
      for (int i = 0; i < t_.ndim; ++i) {
        t_.shape[i] = shape[i].cast<int64_t>();
        t_.strides[i] = strides[i].cast<int64_t>();
      }
    } catch (const py::cast_error&) {
      raise_py(PyExc_TypeError, op, ": ", name,
               ": malformed descriptor (expected (int, int, int, int, tuple of int, tuple of int))");
    }
  }

  bool present_;
  kn_tensor t_{};
};

// The execution context from the keyword arguments.
inline kn_exec make_exec(std::uintptr_t stream, int32_t num_threads) {
  kn_exec e{};
  e.stream = reinterpret_cast<void*>(stream);
  e.num_threads = num_threads;
  return e;
}

constexpr Role In = Role::Input;
constexpr Role Out = Role::Output;
constexpr bool Optional = true;

// Keyword-only execution arguments shared by every operator.
#define KN_EXEC_ARGS py::kw_only(), "stream"_a = 0, "num_threads"_a = 0


// ------------------------------------------------------------------ registry

// Each bindings/<op>.cpp registers its functions with
//
//   KN_BINDINGS(relu) {            // m: the pykernels._C module
//     m.def("relu_forward", ...);
//   }
//
// and module.cpp calls every registered function at import, in name order.
// Nothing lists the ops: a new bindings/<op>.cpp is compiled (CMake globs
// bindings/*.cpp) and registered by being linked.
using BindFn = void (*)(py::module_&);
int register_bindings(const char* name, BindFn fn);  // module.cpp

}  // namespace knpy

#define KN_BINDINGS(name)                                                        \
  static void kn_bind_##name(pybind11::module_& m);                              \
  [[maybe_unused]] static const int kn_bindings_registered_##name =              \
      ::knpy::register_bindings(#name, kn_bind_##name);                          \
  static void kn_bind_##name(pybind11::module_& m)

