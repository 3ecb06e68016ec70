// pykernels._C -- the thin pybind11 layer over the C ABI (kernels.h).
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
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "kernels/kernels.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

// ------------------------------------------------------------------ errors

// The exception classes, created at import and kept for the process.
PyObject* g_kernel_error = nullptr;
PyObject* g_shape_error = nullptr;
PyObject* g_unsupported_error = nullptr;

PyObject* make_exception_class(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("pykernels.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // add_object takes its own reference
  return cls;
}

// Raise the exception for a failed kn_* call (GIL held).
[[noreturn]] void raise_status(kn_status status, const std::string& message) {
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
int32_t kn_dtype_of(const py::dtype& dt) {
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
    if (py::isinstance<py::array>(obj))
      from_array(py::reinterpret_borrow<py::array>(obj), op, name, role);
    else if (py::isinstance<py::tuple>(obj))
      from_descriptor(py::reinterpret_borrow<py::tuple>(obj), op, name);
    else
      raise_py(PyExc_TypeError, op, ": ", name,
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
kn_exec make_exec(std::uintptr_t stream, int32_t num_threads) {
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

}  // namespace

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
      "blas_info",
      [] {
        const char* info = nullptr;
        call([&] {
          info = kn_blas_info();
          return info ? KN_OK : KN_ERR_BACKEND;
        });
        return std::string(info);
      },
      "kn_blas_info: a one-line description of the CPU BLAS in use.");

  // ------------------------------------------------------------- operators
  m.def(
      "linear_forward",
      [](py::handle x, py::handle w, py::handle b, py::handle y, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_linear_forward";
        const TensorArg X(x, op, "x", In), W(w, op, "w", In), B(b, op, "b", In, Optional),
            Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_linear_forward(X.get(), W.get(), B.get(), Y.get(), &e); });
      },
      "x"_a, "w"_a, "b"_a.none(true), "y"_a, KN_EXEC_ARGS,
      "y = x w^T + b.  x:(N,in) w:(out,in) b:(out,) or None -> y:(N,out), written in place.");

  m.def(
      "linear_backward",
      [](py::handle dy, py::handle x, py::handle w, py::handle dx, py::handle dw, py::handle db,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_linear_backward";
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In, Optional),
            W(w, op, "w", In, Optional), DX(dx, op, "dx", Out, Optional),
            DW(dw, op, "dw", Out, Optional), DB(db, op, "db", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_linear_backward(DY.get(), X.get(), W.get(), DX.get(), DW.get(), DB.get(), &e);
        });
      },
      "dy"_a, "x"_a.none(true), "w"_a.none(true), "dx"_a.none(true), "dw"_a.none(true),
      "db"_a.none(true), KN_EXEC_ARGS,
      "dy:(N,out) x:(N,in) w:(out,in) -> dx:(N,in)=dy w, dw:(out,in)=dy^T x, db:(out,)=sum dy; "
      "None = not needed (x may be None without dw, w without dx).");

  m.def(
      "relu_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_relu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_relu_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = max(x, 0); x, y of one shape; y may be x (in place).");

  m.def(
      "relu_backward",
      [](py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_relu_backward";
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_relu_backward(DY.get(), X.get(), DX.get(), &e); });
      },
      "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * (x > 0); dy, x, dx of one shape.");

  m.def(
      "mse_loss_forward",
      [](int reduction, py::handle input, py::handle target, py::handle out,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_mse_loss_forward";
        const TensorArg I(input, op, "input", In), T(target, op, "target", In),
            O(out, op, "out", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_mse_loss_forward(static_cast<kn_reduction>(reduction), I.get(), T.get(),
                                     O.get(), &e);
        });
      },
      "reduction"_a, "input"_a, "target"_a, "out"_a, KN_EXEC_ARGS,
      "out = reduce((input - target)^2); out has input's shape for REDUCTION_NONE, else ndim 0.");

  m.def(
      "mse_loss_backward",
      [](int reduction, py::handle dout, py::handle input, py::handle target, py::handle dinput,
         py::handle dtarget, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_mse_loss_backward";
        const TensorArg DO(dout, op, "dout", In), I(input, op, "input", In),
            T(target, op, "target", In), DI(dinput, op, "dinput", Out, Optional),
            DT(dtarget, op, "dtarget", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_mse_loss_backward(static_cast<kn_reduction>(reduction), DO.get(), I.get(),
                                      T.get(), DI.get(), DT.get(), &e);
        });
      },
      "reduction"_a, "dout"_a, "input"_a, "target"_a, "dinput"_a.none(true),
      "dtarget"_a.none(true), KN_EXEC_ARGS,
      "dinput = 2 (input - target) dout [/ numel for MEAN], dtarget = -dinput; None = not needed.");

  // ------------------------------------------------------- convolution
  // params: stride, padding, dilation as (h, w) pairs of ints, groups an int.
  struct Conv2dParams {
    static void pair(py::handle h, const char* name, int64_t (&out)[2]) {
      try {
        if (!py::isinstance<py::sequence>(h)) throw py::cast_error();
        const auto seq = py::reinterpret_borrow<py::sequence>(h);
        if (seq.size() != 2) throw py::cast_error();
        out[0] = seq[0].cast<int64_t>(), out[1] = seq[1].cast<int64_t>();
      } catch (const py::cast_error&) {
        raise_py(PyExc_TypeError, "kn_conv2d: ", name, ": expected a pair of ints (h, w)");
      }
    }
    static kn_conv2d_params make(py::handle stride, py::handle padding, py::handle dilation,
                                 int64_t groups) {
      kn_conv2d_params p{};
      pair(stride, "stride", p.stride), pair(padding, "padding", p.padding);
      pair(dilation, "dilation", p.dilation);
      p.groups = groups;
      return p;
    }
  };
  m.def(
      "conv2d_forward",
      [](py::handle stride, py::handle padding, py::handle dilation, int64_t groups, py::handle x, py::handle w,
         py::handle b, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_conv2d_forward";
        const kn_conv2d_params p = Conv2dParams::make(stride, padding, dilation, groups);
        const TensorArg X(x, op, "x", In), W(w, op, "w", In), B(b, op, "b", In, Optional),
            Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_conv2d_forward(&p, X.get(), W.get(), B.get(), Y.get(), &e); });
      },
      "stride"_a, "padding"_a, "dilation"_a, "groups"_a, "x"_a, "w"_a, "b"_a.none(true), "y"_a,
      KN_EXEC_ARGS,
      "2-D convolution. x:(N,C,H,W) w:(O,C/groups,kH,kW) b:(O,) or None -> y:(N,O,Ho,Wo), "
      "written in place; stride, padding, dilation: (h, w) pairs.");

  m.def(
      "conv2d_backward",
      [](py::handle stride, py::handle padding, py::handle dilation, int64_t groups, py::handle dy, py::handle x,
         py::handle w, py::handle dx, py::handle dw, py::handle db, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_conv2d_backward";
        const kn_conv2d_params p = Conv2dParams::make(stride, padding, dilation, groups);
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In, Optional),
            W(w, op, "w", In, Optional), DX(dx, op, "dx", Out, Optional),
            DW(dw, op, "dw", Out, Optional), DB(db, op, "db", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_conv2d_backward(&p, DY.get(), X.get(), W.get(), DX.get(), DW.get(), DB.get(),
                                    &e);
        });
      },
      "stride"_a, "padding"_a, "dilation"_a, "groups"_a, "dy"_a, "x"_a.none(true),
      "w"_a.none(true), "dx"_a.none(true), "dw"_a.none(true), "db"_a.none(true), KN_EXEC_ARGS,
      "dy:(N,O,Ho,Wo) x:(N,C,H,W) w:(O,C/groups,kH,kW) -> dx:(N,C,H,W), dw:(O,C/groups,kH,kW), "
      "db:(O,); None = not needed (x may be None without dw, w without dx).");


  // ----------------------------------------------------------- pooling
  {
    // Pooling parameters are plain Python values: pairs (h, w) of ints, bools,
    // an int divisor_override (0 = none).
    struct Pair {
      int64_t v[2];
    };
    static const auto pair = [](py::handle h, const char* op, const char* name) {
      Pair p{};
      if (!py::isinstance<py::sequence>(h) || py::len(h) != 2)
        raise_py(PyExc_TypeError, op, ": ", name, ": expected a pair of ints (h, w)");
      const auto seq = py::reinterpret_borrow<py::sequence>(h);
      try {
        p.v[0] = seq[0].cast<int64_t>(), p.v[1] = seq[1].cast<int64_t>();
      } catch (const py::cast_error&) {
        raise_py(PyExc_TypeError, op, ": ", name, ": expected a pair of ints (h, w)");
      }
      return p;
    };
    static const auto max_params = [](const char* op, py::handle k, py::handle s, py::handle pad,
                                      py::handle d, bool ceil_mode) {
      const Pair K = pair(k, op, "kernel_size"), S = pair(s, op, "stride"),
                 P = pair(pad, op, "padding"), D = pair(d, op, "dilation");
      return kn_max_pool2d_params{{K.v[0], K.v[1]}, {S.v[0], S.v[1]}, {P.v[0], P.v[1]},
                                  {D.v[0], D.v[1]}, ceil_mode ? 1 : 0};
    };
    static const auto avg_params = [](const char* op, py::handle k, py::handle s, py::handle pad,
                                      bool ceil_mode, bool count_include_pad,
                                      int64_t divisor_override) {
      const Pair K = pair(k, op, "kernel_size"), S = pair(s, op, "stride"),
                 P = pair(pad, op, "padding");
      return kn_avg_pool2d_params{{K.v[0], K.v[1]}, {S.v[0], S.v[1]}, {P.v[0], P.v[1]},
                                  ceil_mode ? 1 : 0, count_include_pad ? 1 : 0, divisor_override};
    };

    m.def(
        "max_pool2d_forward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, py::handle dilation,
           bool ceil_mode, py::handle x, py::handle y, py::handle indices, std::uintptr_t stream,
           int32_t num_threads) {
          const char* op = "kn_max_pool2d_forward";
          const kn_max_pool2d_params p = max_params(op, kernel_size, stride, padding, dilation, ceil_mode);
          const TensorArg X(x, op, "x", In), Y(y, op, "y", Out), I(indices, op, "indices", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_max_pool2d_forward(&p, X.get(), Y.get(), I.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a, "x"_a, "y"_a,
        "indices"_a, KN_EXEC_ARGS,
        "x:(N,C,H,W) -> y:(N,C,Ho,Wo) window maxima, indices:(N,C,Ho,Wo) int32/int64 flat "
        "argmax h*W+w; params are (h, w) pairs and a bool.");

    m.def(
        "max_pool2d_backward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, py::handle dilation,
           bool ceil_mode, py::handle dy, py::handle indices, py::handle dx, std::uintptr_t stream,
           int32_t num_threads) {
          const char* op = "kn_max_pool2d_backward";
          const kn_max_pool2d_params p = max_params(op, kernel_size, stride, padding, dilation, ceil_mode);
          const TensorArg DY(dy, op, "dy", In), I(indices, op, "indices", In), DX(dx, op, "dx", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_max_pool2d_backward(&p, DY.get(), I.get(), DX.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a, "dy"_a,
        "indices"_a, "dx"_a, KN_EXEC_ARGS,
        "dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W): dy summed where the indices point, 0 elsewhere.");

    m.def(
        "avg_pool2d_forward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, bool ceil_mode,
           bool count_include_pad, int64_t divisor_override, py::handle x, py::handle y,
           std::uintptr_t stream, int32_t num_threads) {
          const char* op = "kn_avg_pool2d_forward";
          const kn_avg_pool2d_params p = avg_params(op, kernel_size, stride, padding, ceil_mode,
                                                    count_include_pad, divisor_override);
          const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_avg_pool2d_forward(&p, X.get(), Y.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
        "divisor_override"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
        "x:(N,C,H,W) -> y:(N,C,Ho,Wo) window averages; divisor_override 0 = none.");

    m.def(
        "avg_pool2d_backward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, bool ceil_mode,
           bool count_include_pad, int64_t divisor_override, py::handle dy, py::handle dx,
           std::uintptr_t stream, int32_t num_threads) {
          const char* op = "kn_avg_pool2d_backward";
          const kn_avg_pool2d_params p = avg_params(op, kernel_size, stride, padding, ceil_mode,
                                                    count_include_pad, divisor_override);
          const TensorArg DY(dy, op, "dy", In), DX(dx, op, "dx", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_avg_pool2d_backward(&p, DY.get(), DX.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
        "divisor_override"_a, "dy"_a, "dx"_a, KN_EXEC_ARGS,
        "dy:(N,C,Ho,Wo) -> dx:(N,C,H,W): each dy spread evenly (/ divisor) over its window.");
  }


  // ------------------------------------------------------- activations
  m.attr("GELU_NONE") = int(KN_GELU_NONE);
  m.attr("GELU_TANH") = int(KN_GELU_TANH);

  m.def(
      "sigmoid_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_sigmoid_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_sigmoid_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = 1 / (1 + exp(-x)); x, y of one shape; y may be x.");

  m.def(
      "sigmoid_backward",
      [](py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_sigmoid_backward";
        const TensorArg DY(dy, op, "dy", In), Y(y, op, "y", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_sigmoid_backward(DY.get(), Y.get(), DX.get(), &e); });
      },
      "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * (1 - y) * y from the forward's output y.");

  m.def(
      "tanh_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_tanh_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_tanh_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = tanh(x); x, y of one shape; y may be x.");

  m.def(
      "tanh_backward",
      [](py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_tanh_backward";
        const TensorArg DY(dy, op, "dy", In), Y(y, op, "y", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_tanh_backward(DY.get(), Y.get(), DX.get(), &e); });
      },
      "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * (1 - y^2) from the forward's output y.");

  m.def(
      "leaky_relu_forward",
      [](double negative_slope, py::handle x, py::handle y, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_leaky_relu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_leaky_relu_forward(negative_slope, X.get(), Y.get(), &e); });
      },
      "negative_slope"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
      "y = x > 0 ? x : negative_slope * x; y may be x.");

  m.def(
      "leaky_relu_backward",
      [](double negative_slope, bool self_is_result, py::handle dy, py::handle self,
         py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_leaky_relu_backward";
        const TensorArg DY(dy, op, "dy", In), S(self, op, "self", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_leaky_relu_backward(negative_slope, self_is_result ? 1 : 0, DY.get(), S.get(),
                                        DX.get(), &e);
        });
      },
      "negative_slope"_a, "self_is_result"_a, "dy"_a, "self"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = self > 0 ? dy : negative_slope * dy; self is x, or y when self_is_result "
      "(needs negative_slope >= 0).");

  m.def(
      "gelu_forward",
      [](int approximate, py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_gelu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gelu_forward(static_cast<kn_gelu_approximate>(approximate), X.get(), Y.get(), &e);
        });
      },
      "approximate"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
      "GELU (approximate = GELU_NONE: x Phi(x); GELU_TANH: the tanh form); y may be x.");

  m.def(
      "gelu_backward",
      [](int approximate, py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_gelu_backward";
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gelu_backward(static_cast<kn_gelu_approximate>(approximate), DY.get(), X.get(),
                                  DX.get(), &e);
        });
      },
      "approximate"_a, "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * gelu'(x).");


  // ------------------------------------------------ softmax and losses
  for (const bool log : {false, true}) {
    m.def(
        log ? "log_softmax_forward" : "softmax_forward",
        [log](int32_t dim, py::handle x, py::handle y, std::uintptr_t stream,
              int32_t num_threads) {
          const char* op = log ? "kn_log_softmax_forward" : "kn_softmax_forward";
          const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] {
            return log ? kn_log_softmax_forward(dim, X.get(), Y.get(), &e)
                       : kn_softmax_forward(dim, X.get(), Y.get(), &e);
          });
        },
        "dim"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
        log ? "y = log_softmax(x) along dim in [0, ndim); y may be x (in place)."
            : "y = softmax(x) along dim in [0, ndim); y may be x (in place).");
    m.def(
        log ? "log_softmax_backward" : "softmax_backward",
        [log](int32_t dim, py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream,
              int32_t num_threads) {
          const char* op = log ? "kn_log_softmax_backward" : "kn_softmax_backward";
          const TensorArg DY(dy, op, "dy", In), Y(y, op, "y", In), DX(dx, op, "dx", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] {
            return log ? kn_log_softmax_backward(dim, DY.get(), Y.get(), DX.get(), &e)
                       : kn_softmax_backward(dim, DY.get(), Y.get(), DX.get(), &e);
          });
        },
        "dim"_a, "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS,
        log ? "dx = dy - exp(y) sum_dim(dy), from the forward OUTPUT y."
            : "dx = y (dy - sum_dim(dy y)), from the forward OUTPUT y.");
  }

  // Class-index losses: the kn_cross_entropy_params fields are plain arguments.
  m.def(
      "nll_loss_forward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle input,
         py::handle target, py::handle weight, py::handle out, py::handle total_weight,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_nll_loss_forward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg I(input, op, "input", In), T(target, op, "target", In),
            W(weight, op, "weight", In, Optional), O(out, op, "out", Out),
            TW(total_weight, op, "total_weight", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_nll_loss_forward(&p, I.get(), T.get(), W.get(), O.get(), TW.get(), &e); });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "input"_a, "target"_a,
      "weight"_a.none(true), "out"_a, "total_weight"_a, KN_EXEC_ARGS,
      "out = nll_loss(input (N,C,...)|(C,), target (N,...)|()), total_weight (0-d) = sum of "
      "weight[target] over non-ignored targets; label_smoothing must be 0.");
  m.def(
      "nll_loss_backward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle dout,
         py::handle target, py::handle weight, py::handle total_weight, py::handle dinput,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_nll_loss_backward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg DO(dout, op, "dout", In), T(target, op, "target", In),
            W(weight, op, "weight", In, Optional), TW(total_weight, op, "total_weight", In),
            DI(dinput, op, "dinput", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_nll_loss_backward(&p, DO.get(), T.get(), W.get(), TW.get(), DI.get(), &e);
        });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "dout"_a, "target"_a,
      "weight"_a.none(true), "total_weight"_a, "dinput"_a, KN_EXEC_ARGS,
      "dinput[n, t_n] = -weight[t_n] g_n, 0 elsewhere (g_n = dout[n] | dout | dout / total_weight).");
  m.def(
      "cross_entropy_forward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle input,
         py::handle target, py::handle weight, py::handle out, py::handle total_weight,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_cross_entropy_forward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg I(input, op, "input", In), T(target, op, "target", In),
            W(weight, op, "weight", In, Optional), O(out, op, "out", Out),
            TW(total_weight, op, "total_weight", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_cross_entropy_forward(&p, I.get(), T.get(), W.get(), O.get(), TW.get(), &e);
        });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "input"_a, "target"_a,
      "weight"_a.none(true), "out"_a, "total_weight"_a, KN_EXEC_ARGS,
      "out = cross_entropy(logits input (N,C,...)|(C,), class targets), total_weight (0-d).");
  m.def(
      "cross_entropy_backward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle dout,
         py::handle input, py::handle target, py::handle weight, py::handle total_weight,
         py::handle dinput, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_cross_entropy_backward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg DO(dout, op, "dout", In), I(input, op, "input", In),
            T(target, op, "target", In), W(weight, op, "weight", In, Optional),
            TW(total_weight, op, "total_weight", In), DI(dinput, op, "dinput", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_cross_entropy_backward(&p, DO.get(), I.get(), T.get(), W.get(), TW.get(),
                                           DI.get(), &e);
        });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "dout"_a, "input"_a, "target"_a,
      "weight"_a.none(true), "total_weight"_a, "dinput"_a, KN_EXEC_ARGS,
      "dinput = g ((1-e) w_t (softmax - onehot) + (e/C)(W softmax - w)); 0 in ignored rows.");



  // ----------------------------------------------------------- dropout
  m.def(
      "dropout_forward",
      [](double p, std::uint64_t seed, py::handle x, py::handle y, py::handle mask,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_dropout_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out), M(mask, op, "mask", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_dropout_forward(p, seed, X.get(), Y.get(), M.get(), &e); });
      },
      "p"_a, "seed"_a, "x"_a, "y"_a, "mask"_a, KN_EXEC_ARGS,
      "mask = Philox keep-mask of (seed, shape) with P(keep) = 1 - p (uint8 or bool); "
      "y = x * mask / (1 - p); y may be x.");

  m.def(
      "dropout_backward",
      [](double p, py::handle dy, py::handle mask, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_dropout_backward";
        const TensorArg DY(dy, op, "dy", In), M(mask, op, "mask", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_dropout_backward(p, DY.get(), M.get(), DX.get(), &e); });
      },
      "p"_a, "dy"_a, "mask"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * mask / (1 - p); dx may be dy.");

  // ------------------------------------------------------------- graph
  m.attr("GSPMM_COPY_U") = int(KN_GSPMM_COPY_U);
  m.attr("GSPMM_U_MUL_E") = int(KN_GSPMM_U_MUL_E);
  m.attr("GSPMM_SUM") = int(KN_GSPMM_SUM);
  m.attr("GSPMM_MEAN") = int(KN_GSPMM_MEAN);
  m.attr("GSPMM_MAX") = int(KN_GSPMM_MAX);
  m.attr("GSPMM_MIN") = int(KN_GSPMM_MIN);

  m.def(
      "csr_transpose",
      [](py::handle indptr, py::handle indices, py::handle t_indptr, py::handle t_indices,
         py::handle t_edge_ids, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_csr_transpose";
        const TensorArg IP(indptr, op, "indptr", In), IX(indices, op, "indices", In),
            TP(t_indptr, op, "t_indptr", Out), TX(t_indices, op, "t_indices", Out),
            TE(t_edge_ids, op, "t_edge_ids", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_csr_transpose(IP.get(), IX.get(), TP.get(), TX.get(), TE.get(), &e); });
      },
      "indptr"_a, "indices"_a, "t_indptr"_a, "t_indices"_a, "t_edge_ids"_a, KN_EXEC_ARGS,
      "CSR (indptr:(num_dst+1), indices:(E)) -> its transpose t_indptr:(num_src+1), "
      "t_indices:(E) destination ids, t_edge_ids:(E) forward edge positions (one index dtype).");

  m.def(
      "gspmm_forward",
      [](int32_t message, int32_t reduce, int32_t skip_index_check, py::handle indptr,
         py::handle indices, py::handle edge_values, py::handle x, py::handle y, py::handle arg,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_gspmm_forward";
        const kn_gspmm_params p{message, reduce, skip_index_check};
        const TensorArg IP(indptr, op, "indptr", In), IX(indices, op, "indices", In),
            EV(edge_values, op, "edge_values", In, Optional), X(x, op, "x", In),
            Y(y, op, "y", Out), A(arg, op, "arg", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gspmm_forward(&p, IP.get(), IX.get(), EV.get(), X.get(), Y.get(), A.get(), &e);
        });
      },
      "message"_a, "reduce"_a, "skip_index_check"_a, "indptr"_a, "indices"_a,
      "edge_values"_a.none(true), "x"_a, "y"_a, "arg"_a.none(true), KN_EXEC_ARGS,
      "y:(num_dst,F)[v] = REDUCE over edges k of row v of x[indices[k]] (* edge_values[k] for "
      "GSPMM_U_MUL_E); arg:(num_dst,F) winning edge positions for GSPMM_MAX/MIN (else None).");

  m.def(
      "gspmm_backward",
      [](int32_t message, int32_t reduce, int32_t skip_index_check, py::handle dy,
         py::handle indptr, py::handle indices, py::handle t_indptr, py::handle t_indices,
         py::handle t_edge_ids, py::handle edge_values, py::handle x, py::handle arg,
         py::handle dx, py::handle dedge, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_gspmm_backward";
        const kn_gspmm_params p{message, reduce, skip_index_check};
        const TensorArg DY(dy, op, "dy", In), IP(indptr, op, "indptr", In),
            IX(indices, op, "indices", In), TP(t_indptr, op, "t_indptr", In, Optional),
            TX(t_indices, op, "t_indices", In, Optional),
            TE(t_edge_ids, op, "t_edge_ids", In, Optional),
            EV(edge_values, op, "edge_values", In, Optional), X(x, op, "x", In, Optional),
            A(arg, op, "arg", In, Optional), DX(dx, op, "dx", Out, Optional),
            DE(dedge, op, "dedge", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gspmm_backward(&p, DY.get(), IP.get(), IX.get(), TP.get(), TX.get(), TE.get(),
                                   EV.get(), X.get(), A.get(), DX.get(), DE.get(), &e);
        });
      },
      "message"_a, "reduce"_a, "skip_index_check"_a, "dy"_a, "indptr"_a, "indices"_a,
      "t_indptr"_a.none(true), "t_indices"_a.none(true), "t_edge_ids"_a.none(true),
      "edge_values"_a.none(true), "x"_a.none(true), "arg"_a.none(true), "dx"_a.none(true),
      "dedge"_a.none(true), KN_EXEC_ARGS,
      "dy:(num_dst,F) -> dx:(num_src,F) through the transpose (t_*), dedge:(E) (U_MUL_E, needs "
      "x); None = not needed.");
}
