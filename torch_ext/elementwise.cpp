// pykernels._torch_ext: the C++ autograd node of the element-wise ops (the module and
// the contract every node keeps: torch_ext/common.hpp).
//
// One node class for every element-wise op <op> whose C entry points are
//
//   kn_<op>_forward (P..., const kn_tensor* x,  const kn_tensor* y,                        const kn_exec*)
//   kn_<op>_backward(P..., const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx, const kn_exec*)
//
// (P: zero to kMaxParams doubles, the op's scalar parameters; saved: x, or the output y;
// all tensors of one shape): ElementwiseNode(name, n_params, saves_output, fallback,
// backward_fallback) finds both entry points by name in libkernels, so an op needs no
// code here; node(x, *params) runs the forward into y = empty_like(x) and, when x needs
// a gradient, records an ElementwiseFunction saving x or y whose backward runs
// kn_<op>_backward into dx = empty_like(dy). backward_fallback(grad_output, saved,
// *params) is the op's Python backward (create_graph=True goes there).
#include <dlfcn.h>

#include <array>
#include <string>

#include "torch_ext/common.hpp"

using namespace kntorch;

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

// Ops live as long as the process (nodes of a graph may outlive the Python objects):
// owned here, never freed. A node's backward reaches its Op by the pointer it saved,
// not through this list (which an import on another thread may be growing).
std::vector<Op*>& ops() {
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

// (The entry's name is built only on failure: forward_of is the 1-element call's hot path.)
void check(const Op& op, const char* which, kn_status s) {
  if (s != KN_OK) throw_status("kn_" + op.name + "_" + which, s);
}

// y = op(x) into a fresh empty_like(x); called from Python (the GIL is released for the
// kernel), with or without the autograd node.
at::Tensor forward_of(const Op& op, const Params& p, const at::Tensor& x) {
  at::Tensor y = at::empty_like(x);
  const kn_tensor X = descriptor(x), Y = descriptor(y);
  check(op, "forward", without_gil([&] { return run_forward(op, p, &X, &Y); }));
  return y;
}

// x = op(x) in place (the C ABI allows an element-wise output that is exactly the input;
// a layout it cannot write in place, e.g. stride 0, fails before anything is written).
void in_place_of(const Op& op, const Params& p, const at::Tensor& x) {
  const kn_tensor X = descriptor(x);
  check(op, "forward", without_gil([&] { return run_forward(op, p, &X, &X); }));
}

}  // namespace

// Named (not anonymous): grad_fn.name() is "torch::autograd::CppNode<pykernels::ElementwiseFunction>".
namespace pykernels {

// forward(x (any shape)) -> y (x's shape); backward(dy) -> dx (x's shape).
// in_place (ops that save their output only): y is x, overwritten and marked dirty, as
// torch's relu_ records it.
struct ElementwiseFunction : torch::autograd::Function<ElementwiseFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const Op* op_ptr,
                            double p0, double p1, bool in_place) {
    const Op& op = *op_ptr;
    at::Tensor y;
    if (in_place) {
      in_place_of(op, {p0, p1}, x);
      ctx->mark_dirty({x});
      y = x;
    } else {
      y = forward_of(op, {p0, p1}, x);
    }
    ctx->saved_data["op"] = reinterpret_cast<int64_t>(op_ptr);
    if (op.n_params > 0) ctx->saved_data["p0"] = p0;
    if (op.n_params > 1) ctx->saved_data["p1"] = p1;
    ctx->save_for_backward({op.saves_output ? y : x});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const Op& op = *reinterpret_cast<const Op*>(ctx->saved_data["op"].toInt());
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
      check(op, "backward", s);
    }
    return {dx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};  // x; op, p0, p1, in_place: not tensors
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
    ops().push_back(op);
  }

  // The tensor and the C-double parameters of node(x, *params); false when they are not
  // what this node runs.
  bool arguments(const py::args& args, const at::Tensor** x, Params* p) const {
    *x = args.size() == static_cast<size_t>(1 + op->n_params) ? tensor_arg(args[0]) : nullptr;
    if (*x == nullptr || !handled(**x)) return false;
    for (int i = 0; i < op->n_params; ++i) {
      PyObject* a = args[1 + i].ptr();
      if (PyFloat_CheckExact(a)) {
        (*p)[i] = PyFloat_AS_DOUBLE(a);
      } else if (PyLong_CheckExact(a)) {
        (*p)[i] = PyLong_AsDouble(a);
        if ((*p)[i] == -1.0 && PyErr_Occurred()) {
          PyErr_Clear();
          return false;
        }
      } else {
        return false;
      }
    }
    return true;
  }

  // node.in_place(x, *params) -> x overwritten with op(x), or None where this node does
  // not do it (Python then copies an out-of-place result in: _glue.run_in_place). Only
  // ops whose backward reads the output: the input is gone. Declined before anything
  // is written: a leaf or a view that needs a gradient (torch's own errors and view
  // bookkeeping come from the Python path), an inference tensor outside inference
  // mode, a layout the kernel cannot write in place.
  py::object in_place(const py::args& args) const {
    Params p{};
    const at::Tensor* xp = nullptr;
    if (!op->saves_output || !arguments(args, &xp, &p)) return py::none();
    const at::Tensor& x = *xp;
    try {
      if (at::GradMode::is_enabled() && x.requires_grad()) {
        if (x.is_leaf() || x.is_view()) return py::none();
        return wrap(pykernels::ElementwiseFunction::apply(x, op, p[0], p[1], true));
      }
      x.unsafeGetTensorImpl()->bump_version();  // as any in-place op (saved copies see it)
      in_place_of(*op, p, x);
      return py::reinterpret_borrow<py::object>(args[0]);
    } catch (const std::exception&) {
      return py::none();
    }
  }

  py::object call(const py::args& args) const {
    Params p{};
    const at::Tensor* xp = nullptr;
    if (!arguments(args, &xp, &p)) return op->fallback(*args);
    const at::Tensor& x = *xp;
    try {
      if (at::GradMode::is_enabled() && x.requires_grad())
        return wrap(pykernels::ElementwiseFunction::apply(x, op, p[0], p[1], false));
      return wrap(forward_of(*op, p, x));
    } catch (const std::runtime_error&) {
      // A failing kernel: the Python path runs the call again and raises the library's
      // own exception (KernelError with the status and message).
      return op->fallback(*args);
    }
  }
};

}  // namespace

KN_TORCH_EXT(elementwise) {
  using namespace pybind11::literals;
  m.attr("max_params") = kMaxParams;
  py::class_<ElementwiseNode>(m, "ElementwiseNode")
      .def(py::init<const std::string&, int, bool, py::object, py::object>(), "name"_a, "n_params"_a,
           "saves_output"_a, "fallback"_a, "backward_fallback"_a,
           "The node of the element-wise op `name` (kn_<name>_forward / _backward); raises "
           "ValueError when libkernels has no such entry points.")
      .def("__call__", &ElementwiseNode::call, "node(x, *params) -> y, recording the backward when x needs it")
      .def("in_place", &ElementwiseNode::in_place,
           "node.in_place(x, *params) -> x overwritten with op(x), recording the backward when x "
           "needs it; None where the node does not do it (nothing was written)")
      .def_property_readonly("name", [](const ElementwiseNode& n) { return n.op->name; });
}
