// pykernels._torch_ext: linear's C++ autograd node (the module and the contract every
// node keeps: torch_ext/common.hpp; the op: kernels/linear.h, pykernels/torch/ops/linear.py).
//
//   forward:  x:(N,in), weight:(out,in), bias:(out,) or absent -> y:(N,out) = x weight^T + bias
//   backward: dy:(N,out) -> dx:(N,in) = dy weight, dw:(out,in) = dy^T x, db:(out,) = sum_n dy,
//             each only when its input needs a gradient
//
// Saved as the Python path saves them: x only when weight needs a gradient, weight only
// when x does. At MLP sizes the Python autograd.Function was most of a call (32x64->10:
// 3 us of kernels in ~9 us of forward and ~40 us of backward).
#include <optional>
#include <string>

#include "torch_ext/common.hpp"

using namespace kntorch;

namespace {

// linear_backward(grad_output, x, weight, need_input, need_weight, need_bias) in Python
// (pykernels.torch.ops.linear.linear_backward_fast), for the backwards this file hands back.
py::object* g_backward_fallback = nullptr;  // set once by LinearNode, never freed (nodes outlive it)

// y:(N, out) = x weight^T + bias (bias undefined: none), into a fresh tensor; called from
// Python (the GIL is released for the kernel), with or without the autograd node.
at::Tensor forward_of(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  at::Tensor y = at::empty({x.size(0), weight.size(0)}, x.options());
  const kn_tensor X = descriptor(x), W = descriptor(weight), Y = descriptor(y);
  kn_tensor B{};
  if (bias.defined()) B = descriptor(bias);
  check_status("kn_linear_forward",
               without_gil([&] { return kn_linear_forward(&X, &W, bias.defined() ? &B : nullptr, &Y, nullptr); }));
  return y;
}

}  // namespace

// Named (not anonymous): grad_fn.name() is "torch::autograd::CppNode<pykernels::LinearFunction>".
namespace pykernels {

struct LinearFunction : torch::autograd::Function<LinearFunction> {
  // bias: absent or undefined = no bias (torch's Function takes no undefined tensor input).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& weight, const std::optional<at::Tensor>& bias_) {
    const at::Tensor bias = bias_.has_value() ? *bias_ : at::Tensor();
    at::Tensor y = forward_of(x, weight, bias);
    ctx->save_for_backward({weight.requires_grad() ? x : at::Tensor(), x.requires_grad() ? weight : at::Tensor()});
    ctx->saved_data["bias"] = bias.defined();  // the graph has a bias edge (index 2)
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();  // torch's error if modified in place since
    const at::Tensor& x = saved[0];
    const at::Tensor& weight = saved[1];
    const bool need_x = ctx->needs_input_grad(0), need_w = ctx->needs_input_grad(1),
               need_b = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2);
    const at::Tensor& dy = grads[0];
    at::Tensor dx, dw, db;
    if (at::GradMode::is_enabled() || !handled(dy)) {
      // create_graph=True, or a gradient this file does not take: Python decides.
      py::gil_scoped_acquire gil;
      py::object none = py::none();
      py::tuple r = (*g_backward_fallback)(dy, x.defined() ? py::cast(x) : none,
                                           weight.defined() ? py::cast(weight) : none, need_x, need_w, need_b);
      if (need_x) dx = r[0].cast<at::Tensor>();
      if (need_w) dw = r[1].cast<at::Tensor>();
      if (need_b) db = r[2].cast<at::Tensor>();
      return {dx, dw, db};
    }
    const int64_t n = dy.size(0), out = dy.size(1);
    kn_tensor DY = descriptor(dy), X{}, W{}, DX{}, DW{}, DB{};
    if (need_x) {
      dx = at::empty({n, weight.size(1)}, dy.options());
      W = descriptor(weight);
      DX = descriptor(dx);
    }
    if (need_w) {
      dw = at::empty({out, x.size(1)}, dy.options());
      X = descriptor(x);
      DW = descriptor(dw);
    }
    if (need_b) {
      db = at::empty({out}, dy.options());
      DB = descriptor(db);
    }
    check_status("kn_linear_backward", kn_linear_backward(&DY, need_w ? &X : nullptr, need_x ? &W : nullptr,
                                                   need_x ? &DX : nullptr, need_w ? &DW : nullptr,
                                                   need_b ? &DB : nullptr, nullptr));
    return {dx, dw, db};
  }
};

}  // namespace pykernels

namespace {

// The Python object: node(x, weight, bias=None) -> y.
struct LinearNode {
  py::object fallback;

  LinearNode(py::object fallback_, py::object backward_fallback) : fallback(std::move(fallback_)) {
    if (g_backward_fallback == nullptr) g_backward_fallback = new py::object(std::move(backward_fallback));
  }

  py::object call(py::handle x_, py::handle w_, py::handle b_) const {
    const at::Tensor* x = tensor_arg(x_);
    const at::Tensor* w = tensor_arg(w_);
    const at::Tensor* b = b_.is_none() ? nullptr : tensor_arg(b_);
    if (x == nullptr || w == nullptr || (b == nullptr && !b_.is_none()) || !handled(*x) || !handled(*w) ||
        (b != nullptr && !handled(*b)) || x->dim() != 2 || w->dim() != 2 || (b != nullptr && b->dim() != 1))
      return fallback(x_, w_, b_);
    const std::optional<at::Tensor> bias = b != nullptr ? std::optional<at::Tensor>(*b) : std::nullopt;
    try {
      if (at::GradMode::is_enabled() && (x->requires_grad() || w->requires_grad() || (b != nullptr && b->requires_grad())))
        return wrap(pykernels::LinearFunction::apply(*x, *w, bias));
      return wrap(forward_of(*x, *w, b != nullptr ? *b : at::Tensor()));
    } catch (const std::runtime_error&) {
      return fallback(x_, w_, b_);  // Python reruns it and raises the library's error
    }
  }
};

}  // namespace

KN_TORCH_EXT(linear) {
  using namespace pybind11::literals;
  py::class_<LinearNode>(m, "LinearNode")
      .def(py::init<py::object, py::object>(), "fallback"_a, "backward_fallback"_a,
           "linear's node: fallback(x, weight, bias) is the Python eager path, "
           "backward_fallback(grad_output, x, weight, need_input, need_weight, need_bias) the "
           "Python backward.")
      .def("__call__", &LinearNode::call, "x"_a, "weight"_a, "bias"_a = py::none(),
           "node(x, weight, bias=None) -> y, recording the backward when an input needs it");
}
