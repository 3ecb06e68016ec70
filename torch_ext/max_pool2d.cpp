// pykernels._torch_ext: max_pool2d's C++ autograd node (the module and the contract every
// node keeps: torch_ext/common.hpp; the op: kernels/pool2d.h, pykernels/torch/ops/pool2d.py).
//
//   forward:  x:(N,C,H,W) -> y:(N,C,Ho,Wo), indices:(N,C,Ho,Wo) int64 (flat h*W + w; no
//             gradient); (Ho, Wo) from kn_max_pool2d_output_size
//   backward: dy:(N,C,Ho,Wo) -> dx:(N,C,H,W), dy summed where the saved indices point
//
// Why: at LeNet's second pool (64x16x10x10) the backward kernel is ~25 us and the Python
// autograd.Function around it cost as much again (backward 86 us against torch's 60;
// Intel Xeon model 167).
#include <array>
#include <vector>

#include "torch_ext/common.hpp"

using namespace kntorch;

namespace {

// max_pool2d_backward(grad_output, indices, input_size, kernel_size, stride, padding,
// dilation, ceil_mode) in Python (pykernels.torch.ops.pool2d.max_pool2d_backward_fast), for
// the backwards this file hands back; set once by MaxPool2dNode, never freed.
py::object* g_backward_fallback = nullptr;

// The 9 integers of kn_max_pool2d_params in one list (saved_data holds int lists):
// kernel_size, stride, padding, dilation (h, w each), ceil_mode.
std::vector<int64_t> flat(const kn_max_pool2d_params& p) {
  return {p.kernel_size[0], p.kernel_size[1], p.stride[0],   p.stride[1], p.padding[0],
          p.padding[1],     p.dilation[0],    p.dilation[1], p.ceil_mode};
}

kn_max_pool2d_params unflat(const std::vector<int64_t>& v) {
  kn_max_pool2d_params p{};
  for (int i = 0; i < 2; ++i) {
    p.kernel_size[i] = v[i], p.stride[i] = v[2 + i], p.padding[i] = v[4 + i], p.dilation[i] = v[6 + i];
  }
  p.ceil_mode = static_cast<int32_t>(v[8]);
  return p;
}

py::list pair(const int64_t* v) {
  py::list l(2);
  l[0] = py::int_(v[0]);
  l[1] = py::int_(v[1]);
  return l;
}

// (y, indices) into fresh tensors of the size kn_max_pool2d_output_size gives; called from
// Python (the GIL is released for the kernel), with or without the autograd node.
std::pair<at::Tensor, at::Tensor> forward_of(const kn_max_pool2d_params& p, const at::Tensor& x) {
  int64_t out[2];
  check_status("kn_max_pool2d_output_size", kn_max_pool2d_output_size(&p, x.size(2), x.size(3), out));
  at::Tensor y = at::empty({x.size(0), x.size(1), out[0], out[1]}, x.options());
  at::Tensor indices = at::empty({x.size(0), x.size(1), out[0], out[1]}, x.options().dtype(at::kLong));
  const kn_tensor X = descriptor(x), Y = descriptor(y), I = descriptor(indices);
  check_status("kn_max_pool2d_forward", without_gil([&] { return kn_max_pool2d_forward(&p, &X, &Y, &I, nullptr); }));
  return {y, indices};
}

}  // namespace

// Named (not anonymous): grad_fn.name() is "torch::autograd::CppNode<pykernels::MaxPool2dFunction>".
namespace pykernels {

struct MaxPool2dFunction : torch::autograd::Function<MaxPool2dFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                                                const kn_max_pool2d_params* p) {
    auto [y, indices] = forward_of(*p, x);
    ctx->mark_non_differentiable({indices});
    // No zeros for the indices' gradient (see _glue.mark_non_differentiable); y's may
    // then be undefined too.
    ctx->set_materialize_grads(false);
    ctx->save_for_backward({indices});
    ctx->saved_data["params"] = flat(*p);
    ctx->saved_data["input_size"] = std::vector<int64_t>{x.size(2), x.size(3)};
    return {y, indices};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor& dy = grads[0];
    if (!dy.defined()) return {at::Tensor(), at::Tensor()};
    const at::Tensor indices = ctx->get_saved_variables()[0];  // torch's error if modified since
    const kn_max_pool2d_params p = unflat(ctx->saved_data["params"].toIntVector());
    const std::vector<int64_t> hw = ctx->saved_data["input_size"].toIntVector();
    at::Tensor dx;
    if (at::GradMode::is_enabled() || !handled(dy)) {
      // create_graph=True, or a gradient this file does not take: Python decides.
      py::gil_scoped_acquire gil;
      dx = (*g_backward_fallback)(dy, indices, pair(hw.data()), pair(p.kernel_size), pair(p.stride),
                                  pair(p.padding), pair(p.dilation), p.ceil_mode != 0)
               .cast<at::Tensor>();
    } else {
      dx = at::empty({dy.size(0), dy.size(1), hw[0], hw[1]}, dy.options());
      const kn_tensor DY = descriptor(dy), I = descriptor(indices), DX = descriptor(dx);
      check_status("kn_max_pool2d_backward", kn_max_pool2d_backward(&p, &DY, &I, &DX, nullptr));
    }
    return {dx, at::Tensor()};  // x; p is not a tensor
  }
};

}  // namespace pykernels

namespace {

// A list or tuple of exactly two exact ints, as functional.max_pool2d passes them.
bool pair_arg(py::handle h, int64_t v[2]) {
  if (!PyList_CheckExact(h.ptr()) && !PyTuple_CheckExact(h.ptr())) return false;
  py::sequence s = py::reinterpret_borrow<py::sequence>(h);
  return s.size() == 2 && int_arg(s[0], &v[0]) && int_arg(s[1], &v[1]);
}

// The Python object: node(x, kernel_size, stride, padding, dilation, ceil_mode) ->
// (y, indices), the arguments of pykernels::max_pool2d.
struct MaxPool2dNode {
  py::object fallback;

  MaxPool2dNode(py::object fallback_, py::object backward_fallback) : fallback(std::move(fallback_)) {
    if (g_backward_fallback == nullptr) g_backward_fallback = new py::object(std::move(backward_fallback));
  }

  py::object call(const py::args& args) const {
    kn_max_pool2d_params p{};
    const at::Tensor* x = args.size() == 6 ? tensor_arg(args[0]) : nullptr;
    if (x == nullptr || !handled(*x) || x->dim() != 4 || !pair_arg(args[1], p.kernel_size) ||
        !pair_arg(args[2], p.stride) || !pair_arg(args[3], p.padding) || !pair_arg(args[4], p.dilation) ||
        !PyBool_Check(args[5].ptr()))
      return fallback(*args);
    p.ceil_mode = args[5].ptr() == Py_True ? 1 : 0;
    try {
      if (at::GradMode::is_enabled() && x->requires_grad()) {
        auto outs = pykernels::MaxPool2dFunction::apply(*x, &p);
        return py::make_tuple(wrap(outs[0]), wrap(outs[1]));
      }
      auto [y, indices] = forward_of(p, *x);
      return py::make_tuple(wrap(y), wrap(indices));
    } catch (const std::runtime_error&) {
      return fallback(*args);  // Python reruns it and raises the library's error
    }
  }
};

}  // namespace

KN_TORCH_EXT(max_pool2d) {
  using namespace pybind11::literals;
  py::class_<MaxPool2dNode>(m, "MaxPool2dNode")
      .def(py::init<py::object, py::object>(), "fallback"_a, "backward_fallback"_a,
           "max_pool2d's node: fallback(*args) is the Python eager path, "
           "backward_fallback(grad_output, indices, input_size, kernel_size, stride, padding, "
           "dilation, ceil_mode) the Python backward.")
      .def("__call__", &MaxPool2dNode::call,
           "node(x, kernel_size, stride, padding, dilation, ceil_mode) -> (y, indices), recording "
           "the backward when x needs it");
}
