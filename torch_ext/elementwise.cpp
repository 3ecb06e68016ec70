// pykernels._torch_ext: the autograd node of pykernels.torch's element-wise ops in C++.
//
// Why it exists: a torch.autograd.Function written in Python costs ~8 us per
// forward+backward more than a node in C++ (1-element relu, forward + backward, Intel
// Xeon model 167, torch 2.13: torch's own 15.5 us; a Python Function of torch ops
// 23.9 us; pykernels through its Python Function 25.0 us; through this node ~17.5 us).
// The time is the engine's call into Python (GIL, argument tuples, ctx.saved_tensors)
// and the Python Function's apply, not the kernels; only a C++ node removes it.
//
// What it does, for one element-wise op <op> whose C entry points are
//
//   kn_<op>_forward (P..., const kn_tensor* x,  const kn_tensor* y,                       const kn_exec*)
//   kn_<op>_backward(P..., const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec*)
//
// (P: zero to kMaxParams doubles, the op's scalar parameters; saved: x, or the output y;
// all tensors of one shape): ElementwiseNode(name, n_params, saves_output, fallback,
// backward_fallback) finds both entry points by name in libkernels, and calling it as
// node(x, *params) runs the forward into a fresh y = empty_like(x) and, when x needs a
// gradient, records an ElementwiseFunction node saving x or y whose backward runs
// kn_<op>_backward into dx = empty_like(dy).
//
// The Python glue (pykernels/torch/_glue.py, fast_path) calls a node only in plain
// eager mode; everything this file does not handle goes back to Python unchanged:
//   - the call itself, to `fallback` (the op's Python fast path: autograd.Function or
//     kernel), when x is not a plain strided CPU float32/float64 tensor or a parameter
//     is not a Python float/int;
//   - a backward under create_graph=True (grad mode on inside the backward), to
//     `backward_fallback` (the op's Python backward op), so double backward behaves
//     exactly as through the Python Function.
// Errors are the library's: a failing status raises pykernels.KernelError (through
// `fallback`, which reruns the call in Python and raises there) in the forward, and a
// RuntimeError with kn_last_error() from the backward (torch's engine turns every C++
// exception there into a RuntimeError).
//
// Built only when the build's Python imports torch (CMakeLists.txt), against that
// torch's headers; pykernels uses it only when torch.__version__ equals the version it
// was built against (torch's C++ ABI is not stable across releases).
#include <torch/extension.h>

#include <dlfcn.h>

#include <array>
#include <string>

#include "kernels/kernels.h"

namespace {

constexpr int kMaxParams = 2;  // the most scalar parameters an element-wise op has (hardtanh, softplus)
using Params = std::array<double, kMaxParams>;

// The C entry points of one op, cast to their real signature by arity below.
struct Op {
  std::string name;
  int n_params = 0;
  bool saves_output = false;
  void* forward = nullptr;
  void* backward = nullptr;
  py::object fallback;           // op(*args) in Python: the whole call
  py::object backward_fallback;  // op_backward(grad_output, saved, *params) in Python
};

// Ops live as long as the process (nodes of a graph may outlive the Python objects).
std::vector<Op*>& registry() {
  static std::vector<Op*> ops;
  return ops;
}

using Fwd0 = kn_status (*)(const kn_tensor*, const kn_tensor*, const kn_exec*);
using Fwd1 = kn_status (*)(double, const kn_tensor*, const kn_tensor*, const kn_exec*);
using Fwd2 = kn_status (*)(double, double, const kn_tensor*, const kn_tensor*, const kn_exec*);
using Bwd0 = kn_status (*)(const kn_tensor*, const kn_tensor*, const kn_tensor*, const kn_exec*);
using Bwd1 = kn_status (*)(double, const kn_tensor*, const kn_tensor*, const kn_tensor*, const kn_exec*);
using Bwd2 = kn_status (*)(double, double, const kn_tensor*, const kn_tensor*, const kn_tensor*,
                           const kn_exec*);

kn_status run_forward(const Op& op, const Params& p, const kn_tensor* x, const kn_tensor* y) {
  switch (op.n_params) {
    case 0: return reinterpret_cast<Fwd0>(op.forward)(x, y, nullptr);
    case 1: return reinterpret_cast<Fwd1>(op.forward)(p[0], x, y, nullptr);
    default: return reinterpret_cast<Fwd2>(op.forward)(p[0], p[1], x, y, nullptr);
  }
}

kn_status run_backward(const Op& op, const Params& p, const kn_tensor* dy, const kn_tensor* saved,
                       const kn_tensor* dx) {
  switch (op.n_params) {
    case 0: return reinterpret_cast<Bwd0>(op.backward)(dy, saved, dx, nullptr);
    case 1: return reinterpret_cast<Bwd1>(op.backward)(p[0], dy, saved, dx, nullptr);
    default: return reinterpret_cast<Bwd2>(op.backward)(p[0], p[1], dy, saved, dx, nullptr);
  }
}

// The descriptor of a tensor that handled() accepted (CPU, strided, float32/float64).
kn_tensor descriptor(const at::Tensor& t) {
  kn_tensor d{};
  d.data = t.data_ptr();
  d.dtype = t.scalar_type() == at::kFloat ? KN_FLOAT32 : KN_FLOAT64;
  d.device_type = KN_DEVICE_CPU;
  d.device_id = 0;
  d.ndim = static_cast<int32_t>(t.dim());
  for (int32_t i = 0; i < d.ndim; ++i) {
    d.shape[i] = t.size(i);
    d.strides[i] = t.stride(i);
  }
  return d;
}

// What this file runs itself; the library takes any other tensor through Python.
bool handled(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided &&
         (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble) && t.dim() <= KN_MAX_DIMS &&
         !t.is_conj() && !t.is_neg();
}

[[noreturn]] void throw_status(const Op& op, const char* which, kn_status s) {
  throw std::runtime_error("pykernels._torch_ext: kn_" + op.name + "_" + which + ": " +
                           kn_status_string(s) + ": " + kn_last_error());
}

}  // namespace

// Named (not anonymous): grad_fn.name() is "torch::autograd::CppNode<pykernels::ElementwiseFunction>".
namespace pykernels {

// forward(x (any shape)) -> y (x's shape); backward(dy) -> dx (x's shape).
struct ElementwiseFunction : torch::autograd::Function<ElementwiseFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t op_index,
                            double p0, double p1) {
    const Op& op = *registry()[static_cast<size_t>(op_index)];
    at::Tensor y = at::empty_like(x);
    const kn_tensor X = descriptor(x), Y = descriptor(y);
    kn_status s;
    {
      py::gil_scoped_release no_gil;  // forward runs on the Python caller's thread
      s = run_forward(op, {p0, p1}, &X, &Y);
    }
    if (s != KN_OK) throw_status(op, "forward", s);
    ctx->saved_data["op"] = op_index;
    if (op.n_params > 0) ctx->saved_data["p0"] = p0;
    if (op.n_params > 1) ctx->saved_data["p1"] = p1;
    ctx->save_for_backward({op.saves_output ? y : x});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const Op& op = *registry()[static_cast<size_t>(ctx->saved_data["op"].toInt())];
    Params p{};
    if (op.n_params > 0) p[0] = ctx->saved_data["p0"].toDouble();
    if (op.n_params > 1) p[1] = ctx->saved_data["p1"].toDouble();
    // Raises torch's own error if the saved tensor was modified in place since.
    const at::Tensor saved = ctx->get_saved_variables()[0];
    const at::Tensor& dy = grads[0];
    at::Tensor dx;
    if (at::GradMode::is_enabled() || !handled(dy)) {
      // create_graph=True (the backward itself is recorded), or a gradient this file
      // does not take: the op's Python backward decides, as without this node.
      py::gil_scoped_acquire gil;
      py::tuple args(1 + 1 + op.n_params);
      args[0] = py::cast(dy);
      args[1] = py::cast(saved);
      for (int i = 0; i < op.n_params; ++i) args[2 + i] = py::float_(p[i]);
      dx = op.backward_fallback(*args).cast<at::Tensor>();
    } else {
      dx = at::empty_like(dy);
      const kn_tensor DY = descriptor(dy), S = descriptor(saved), DX = descriptor(dx);
      const kn_status s = run_backward(op, p, &DY, &S, &DX);
      if (s != KN_OK) throw_status(op, "backward", s);
    }
    return {dx, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace pykernels

namespace {

// libkernels' entry point `symbol`, found through the library this module links.
void* library_symbol(const std::string& symbol) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&kn_status_string), &info) == 0 || info.dli_fname == nullptr)
    throw std::runtime_error("pykernels._torch_ext: cannot locate libkernels");
  void* lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) throw std::runtime_error(std::string("pykernels._torch_ext: dlopen: ") + dlerror());
  void* fn = dlsym(lib, symbol.c_str());
  dlclose(lib);  // RTLD_NOLOAD took a reference; the library stays loaded (this module links it)
  if (fn == nullptr) throw std::invalid_argument("pykernels._torch_ext: libkernels has no " + symbol);
  return fn;
}

// The Python object: node(x, *params) -> y.
struct ElementwiseNode {
  Op* op;
  int64_t index;

  ElementwiseNode(const std::string& name, int n_params, bool saves_output, py::object fallback,
                  py::object backward_fallback) {
    if (n_params < 0 || n_params > kMaxParams)
      throw std::invalid_argument("pykernels._torch_ext: " + name + ": " + std::to_string(n_params) +
                                  " parameters; at most " + std::to_string(kMaxParams) + " are supported");
    op = new Op{name,
                n_params,
                saves_output,
                library_symbol("kn_" + name + "_forward"),
                library_symbol("kn_" + name + "_backward"),
                std::move(fallback),
                std::move(backward_fallback)};
    registry().push_back(op);
    index = static_cast<int64_t>(registry().size() - 1);
  }

  py::object call(const py::args& args) const {
    Params p{};
    if (args.size() != static_cast<size_t>(1 + op->n_params) || !THPVariable_Check(args[0].ptr()))
      return op->fallback(*args);
    for (int i = 0; i < op->n_params; ++i) {
      PyObject* a = args[1 + i].ptr();
      if (PyFloat_CheckExact(a)) {
        p[i] = PyFloat_AS_DOUBLE(a);
      } else if (PyLong_CheckExact(a)) {
        p[i] = PyLong_AsDouble(a);
        if (p[i] == -1.0 && PyErr_Occurred()) {
          PyErr_Clear();
          return op->fallback(*args);
        }
      } else {
        return op->fallback(*args);
      }
    }
    const at::Tensor& x = THPVariable_Unpack(args[0].ptr());
    if (!handled(x)) return op->fallback(*args);
    try {
      if (at::GradMode::is_enabled() && x.requires_grad())
        return py::reinterpret_steal<py::object>(
            THPVariable_Wrap(pykernels::ElementwiseFunction::apply(x, index, p[0], p[1])));
      at::Tensor y = at::empty_like(x);
      const kn_tensor X = descriptor(x), Y = descriptor(y);
      kn_status s;
      {
        py::gil_scoped_release no_gil;
        s = run_forward(*op, p, &X, &Y);
      }
      if (s != KN_OK) throw_status(*op, "forward", s);
      return py::reinterpret_steal<py::object>(THPVariable_Wrap(std::move(y)));
    } catch (const std::runtime_error&) {
      // A failing kernel: the Python path runs the call again and raises the library's
      // own exception (KernelError with the status and message).
      return op->fallback(*args);
    }
  }
};

}  // namespace

PYBIND11_MODULE(_torch_ext, m) {
  using namespace pybind11::literals;
  m.doc() = "C++ autograd nodes for pykernels.torch's element-wise ops (torch_ext/elementwise.cpp)";
  m.attr("torch_version") = KN_TORCH_VERSION;
  m.attr("max_params") = kMaxParams;
  py::class_<ElementwiseNode>(m, "ElementwiseNode")
      .def(py::init<const std::string&, int, bool, py::object, py::object>(), "name"_a, "n_params"_a,
           "saves_output"_a, "fallback"_a, "backward_fallback"_a,
           "The node of the element-wise op `name` (kn_<name>_forward / _backward); raises "
           "ValueError when libkernels has no such entry points.")
      .def("__call__", &ElementwiseNode::call, "node(x, *params) -> y, recording the backward when x needs it")
      .def_property_readonly("name", [](const ElementwiseNode& n) { return n.op->name; });
}
