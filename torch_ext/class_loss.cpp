// pykernels._torch_ext: the C++ autograd node of the class-index losses, nll_loss and
// cross_entropy (the module and the contract every node keeps: torch_ext/common.hpp; the
// ops: kernels/nll_loss.h, kernels/cross_entropy.h, pykernels/torch/ops/nll_loss.py and
// cross_entropy.py).
//
//   forward:  input (N, C, d1..dk) | (N, C) | (C,) float, target (N, d1..dk) | (N,) | ()
//             int64/int32, weight (C,) or absent, reduction, ignore_index[, label_smoothing]
//             -> (loss: target's shape for 'none', else 0-d; total_weight: 0-d, no gradient)
//   backward: dloss -> dinput (input's shape); nll_loss's reads target, weight and
//             total_weight, cross_entropy's the input too (it recomputes each row's softmax)
//
// Why: nll_loss 4096x1000's forward is ~15 us of kernel (a gather of one element per
// 4 KB row, bound by page walks), and the Python autograd.Function around it cost as
// much again (forward 32-37 us against torch's 21-24; Intel Xeon model 167).
#include <string>

#include "torch_ext/common.hpp"

using namespace kntorch;

namespace {

// The two ops: their entry points differ only in that cross_entropy's backward also
// reads the input.
enum class Loss : int64_t { kNll = 0, kCrossEntropy = 1 };

// op_backward(grad_output, input, target, weight, total_weight, reduction, ignore_index
// [, label_smoothing]) in Python (pykernels.torch.ops.<op>.<op>_backward_fast), for the
// backwards this file hands back; set once by ClassLossNode, never freed (nodes outlive it).
py::object* g_backward_fallback[2] = {nullptr, nullptr};

const char* entry(Loss loss, bool forward) {
  if (loss == Loss::kNll) return forward ? "kn_nll_loss_forward" : "kn_nll_loss_backward";
  return forward ? "kn_cross_entropy_forward" : "kn_cross_entropy_backward";
}

// "none" / "mean" / "sum" -> kn_reduction; -1 for anything else (Python raises).
int reduction_code(const std::string& r) {
  if (r == "mean") return KN_REDUCTION_MEAN;
  if (r == "sum") return KN_REDUCTION_SUM;
  if (r == "none") return KN_REDUCTION_NONE;
  return -1;
}

const char* reduction_name(int64_t code) {
  return code == KN_REDUCTION_MEAN ? "mean" : code == KN_REDUCTION_SUM ? "sum" : "none";
}

// (loss, total_weight) into fresh tensors; called from Python (the GIL is released for
// the kernel), with or without the autograd node. weight undefined: none.
std::pair<at::Tensor, at::Tensor> forward_of(Loss loss, const kn_cross_entropy_params& p,
                                             const at::Tensor& input, const at::Tensor& target,
                                             const at::Tensor& weight) {
  at::Tensor out = p.reduction == KN_REDUCTION_NONE ? at::empty(target.sizes(), input.options())
                                                    : at::empty({}, input.options());
  at::Tensor tw = at::empty({}, input.options());
  const kn_tensor I = descriptor(input), T = descriptor(target), O = descriptor(out),
                  TW = descriptor(tw);
  kn_tensor W{};
  if (weight.defined()) W = descriptor(weight);
  const kn_tensor* w = weight.defined() ? &W : nullptr;
  check_status(entry(loss, true), without_gil([&] {
                 return loss == Loss::kNll ? kn_nll_loss_forward(&p, &I, &T, w, &O, &TW, nullptr)
                                           : kn_cross_entropy_forward(&p, &I, &T, w, &O, &TW, nullptr);
               }));
  return {out, tw};
}

}  // namespace

// Named (not anonymous): grad_fn.name() is "torch::autograd::CppNode<pykernels::ClassLossFunction>".
namespace pykernels {

struct ClassLossFunction : torch::autograd::Function<ClassLossFunction> {
  // weight: absent = none. Only input needs a gradient here (a weight that requires one
  // takes the Python path, which raises torch's NotImplementedError in the backward).
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& input, const at::Tensor& target,
                                                const std::optional<at::Tensor>& weight_, int64_t loss,
                                                int64_t reduction, int64_t ignore_index,
                                                double label_smoothing) {
    const at::Tensor weight = weight_.has_value() ? *weight_ : at::Tensor();
    const kn_cross_entropy_params p{static_cast<int32_t>(reduction), ignore_index, label_smoothing};
    auto [out, tw] = forward_of(static_cast<Loss>(loss), p, input, target, weight);
    ctx->mark_non_differentiable({tw});
    // No zeros for total_weight's gradient (see _glue.mark_non_differentiable); the
    // loss's may then be undefined too.
    ctx->set_materialize_grads(false);
    ctx->save_for_backward({input, target, weight, tw});
    ctx->saved_data["loss"] = loss;
    ctx->saved_data["reduction"] = reduction;
    ctx->saved_data["ignore_index"] = ignore_index;
    ctx->saved_data["label_smoothing"] = label_smoothing;
    return {out, tw};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor& dout = grads[0];
    const torch::autograd::variable_list none(7);
    if (!dout.defined()) return none;
    const auto saved = ctx->get_saved_variables();  // torch's error if modified in place since
    const at::Tensor &input = saved[0], &target = saved[1], &weight = saved[2], &tw = saved[3];
    const Loss loss = static_cast<Loss>(ctx->saved_data["loss"].toInt());
    const kn_cross_entropy_params p{static_cast<int32_t>(ctx->saved_data["reduction"].toInt()),
                                    ctx->saved_data["ignore_index"].toInt(),
                                    ctx->saved_data["label_smoothing"].toDouble()};
    torch::autograd::variable_list result = none;
    if (at::GradMode::is_enabled() || !handled(dout)) {
      // create_graph=True, or a gradient this file does not take: Python decides.
      py::gil_scoped_acquire gil;
      py::object w = weight.defined() ? py::cast(weight) : py::none();
      py::object& fallback = *g_backward_fallback[static_cast<int>(loss)];
      py::object di = loss == Loss::kNll
                          ? fallback(dout, input, target, w, tw, reduction_name(p.reduction), p.ignore_index)
                          : fallback(dout, input, target, w, tw, reduction_name(p.reduction), p.ignore_index,
                                     p.label_smoothing);
      result[0] = di.cast<at::Tensor>();
      return result;
    }
    at::Tensor dinput = at::empty_like(input);
    const kn_tensor DO = descriptor(dout), I = descriptor(input), T = descriptor(target),
                    TW = descriptor(tw), DI = descriptor(dinput);
    kn_tensor W{};
    if (weight.defined()) W = descriptor(weight);
    const kn_tensor* w = weight.defined() ? &W : nullptr;
    check_status(entry(loss, false),
          loss == Loss::kNll ? kn_nll_loss_backward(&p, &DO, &T, w, &TW, &DI, nullptr)
                             : kn_cross_entropy_backward(&p, &DO, &I, &T, w, &TW, &DI, nullptr));
    result[0] = dinput;
    return result;
  }
};

}  // namespace pykernels

namespace {

// The Python object: node(input, target, weight, reduction, ignore_index
// [, label_smoothing]) -> (loss, total_weight), the arguments of pykernels::<op>.
struct ClassLossNode {
  Loss loss;
  py::object fallback;

  ClassLossNode(const std::string& name, py::object fallback_, py::object backward_fallback)
      : fallback(std::move(fallback_)) {
    if (name == "nll_loss")
      loss = Loss::kNll;
    else if (name == "cross_entropy")
      loss = Loss::kCrossEntropy;
    else
      throw std::invalid_argument("pykernels._torch_ext: ClassLossNode: unknown op " + name +
                                  " (nll_loss or cross_entropy)");
    py::object*& slot = g_backward_fallback[static_cast<int>(loss)];
    if (slot == nullptr) slot = new py::object(std::move(backward_fallback));
  }

  py::object call(const py::args& args) const {
    const size_t n_args = loss == Loss::kNll ? 5 : 6;
    if (args.size() != n_args) return fallback(*args);
    const at::Tensor* input = tensor_arg(args[0]);
    const at::Tensor* target = tensor_arg(args[1]);
    const at::Tensor* weight = args[2].is_none() ? nullptr : tensor_arg(args[2]);
    PyObject* r = args[3].ptr();
    PyObject* smoothing = n_args == 6 ? args[5].ptr() : nullptr;
    if (input == nullptr || target == nullptr || (weight == nullptr && !args[2].is_none()) ||
        !handled(*input) || !handled_index(*target) || (weight != nullptr && !handled(*weight)) ||
        (weight != nullptr && weight->requires_grad()) || !PyUnicode_CheckExact(r) ||
        (smoothing != nullptr && !PyFloat_CheckExact(smoothing)))
      return fallback(*args);
    const int reduction = reduction_code(py::cast<std::string>(args[3]));
    int64_t ignore_index = 0;
    if (reduction < 0 || !int_arg(args[4], &ignore_index)) return fallback(*args);
    const double label_smoothing = smoothing != nullptr ? PyFloat_AS_DOUBLE(smoothing) : 0.0;
    const at::Tensor w = weight != nullptr ? *weight : at::Tensor();
    try {
      if (at::GradMode::is_enabled() && input->requires_grad()) {
        auto outs = pykernels::ClassLossFunction::apply(
            *input, *target, weight != nullptr ? std::optional<at::Tensor>(w) : std::nullopt,
            static_cast<int64_t>(loss), reduction, ignore_index, label_smoothing);
        return py::make_tuple(wrap(outs[0]), wrap(outs[1]));
      }
      const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
      auto [out, tw] = forward_of(loss, p, *input, *target, w);
      return py::make_tuple(wrap(out), wrap(tw));
    } catch (const std::runtime_error&) {
      return fallback(*args);  // Python reruns it and raises the library's error
    }
  }
};

}  // namespace

KN_TORCH_EXT(class_loss) {
  using namespace pybind11::literals;
  py::class_<ClassLossNode>(m, "ClassLossNode")
      .def(py::init<const std::string&, py::object, py::object>(), "name"_a, "fallback"_a,
           "backward_fallback"_a,
           "The node of nll_loss or cross_entropy: fallback(*args) is the op's Python eager "
           "path, backward_fallback(grad_output, input, target, weight, total_weight, "
           "reduction, ignore_index[, label_smoothing]) its Python backward.")
      .def("__call__", &ClassLossNode::call,
           "node(input, target, weight, reduction, ignore_index[, label_smoothing]) -> "
           "(loss, total_weight), recording the backward when input needs it");
}
