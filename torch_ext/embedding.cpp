// pykernels._torch_ext: embedding's C++ autograd node (the module and the contract every
// node keeps: torch_ext/common.hpp; the op: kernels/embedding.h,
// pykernels/torch/ops/embedding.py).
//
//   forward:  weight:(V,D) float, indices:(*) int64/int32 -> y:(*,D) = weight[indices]
//   backward: dy:(*,D) -> dweight:(V,D): row v = sum of dy over indices == v (in position
//             order; / their count with scale_grad_by_freq), 0 for unused rows and padding_idx
//
// Why: the 64x32-id lookup into a 50000x256 table is ~95-120 us of kernel, and the Python
// path around it cost ~25 us more (forward 122-147 us against torch's 107-131; Intel Xeon
// model 167).
#include <vector>

#include "torch_ext/common.hpp"

using namespace kntorch;

namespace {

// embedding_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq)
// in Python (pykernels.torch.ops.embedding.embedding_backward_fast), for the backwards
// this file hands back; set once by EmbeddingNode, never freed.
py::object* g_backward_fallback = nullptr;

// y = weight[indices] into a fresh tensor; called from Python (the GIL is released for the
// kernel), with or without the autograd node.
at::Tensor forward_of(const at::Tensor& weight, const at::Tensor& indices) {
  std::vector<int64_t> shape(indices.sizes().begin(), indices.sizes().end());
  shape.push_back(weight.size(1));
  at::Tensor y = at::empty(shape, weight.options());
  const kn_tensor W = descriptor(weight), I = descriptor(indices), Y = descriptor(y);
  check_status("kn_embedding_forward", without_gil([&] { return kn_embedding_forward(&W, &I, &Y, nullptr); }));
  return y;
}

}  // namespace

// Named (not anonymous): grad_fn.name() is "torch::autograd::CppNode<pykernels::EmbeddingFunction>".
namespace pykernels {

struct EmbeddingFunction : torch::autograd::Function<EmbeddingFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& weight,
                            const at::Tensor& indices, int64_t padding_idx, bool scale_grad_by_freq) {
    at::Tensor y = forward_of(weight, indices);
    ctx->save_for_backward({indices});
    ctx->saved_data["num_weights"] = weight.size(0);
    ctx->saved_data["padding_idx"] = padding_idx;
    ctx->saved_data["scale_grad_by_freq"] = scale_grad_by_freq;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor& dy = grads[0];
    const at::Tensor indices = ctx->get_saved_variables()[0];  // torch's error if modified since
    const int64_t num_weights = ctx->saved_data["num_weights"].toInt();
    const kn_embedding_params p{ctx->saved_data["padding_idx"].toInt(),
                                ctx->saved_data["scale_grad_by_freq"].toBool() ? 1 : 0};
    at::Tensor dw;
    if (at::GradMode::is_enabled() || !handled(dy)) {
      // create_graph=True, or a gradient this file does not take: Python decides.
      py::gil_scoped_acquire gil;
      dw = (*g_backward_fallback)(dy, indices, num_weights, p.padding_idx, p.scale_grad_by_freq != 0)
               .cast<at::Tensor>();
    } else {
      dw = at::empty({num_weights, dy.size(-1)}, dy.options());
      const kn_tensor DY = descriptor(dy), I = descriptor(indices), DW = descriptor(dw);
      check_status("kn_embedding_backward", kn_embedding_backward(&p, &DY, &I, &DW, nullptr));
    }
    return {dw, at::Tensor(), at::Tensor(), at::Tensor()};  // weight; the rest are not differentiable
  }
};

}  // namespace pykernels

namespace {

// The Python object: node(weight, indices, padding_idx, scale_grad_by_freq) -> y, the
// arguments of pykernels::embedding.
struct EmbeddingNode {
  py::object fallback;

  EmbeddingNode(py::object fallback_, py::object backward_fallback) : fallback(std::move(fallback_)) {
    if (g_backward_fallback == nullptr) g_backward_fallback = new py::object(std::move(backward_fallback));
  }

  py::object call(const py::args& args) const {
    const at::Tensor* weight = args.size() == 4 ? tensor_arg(args[0]) : nullptr;
    const at::Tensor* indices = weight != nullptr ? tensor_arg(args[1]) : nullptr;
    if (indices == nullptr || !handled(*weight) || weight->dim() != 2 || !handled_index(*indices) ||
        indices->dim() >= KN_MAX_DIMS || !PyBool_Check(args[3].ptr()))
      return fallback(*args);
    int64_t padding_idx = 0;
    if (!int_arg(args[2], &padding_idx)) return fallback(*args);
    const bool scale = args[3].ptr() == Py_True;
    try {
      if (at::GradMode::is_enabled() && weight->requires_grad())
        return wrap(pykernels::EmbeddingFunction::apply(*weight, *indices, padding_idx, scale));
      return wrap(forward_of(*weight, *indices));
    } catch (const std::runtime_error&) {
      return fallback(*args);  // Python reruns it and raises the library's error
    }
  }
};

}  // namespace

KN_TORCH_EXT(embedding) {
  using namespace pybind11::literals;
  py::class_<EmbeddingNode>(m, "EmbeddingNode")
      .def(py::init<py::object, py::object>(), "fallback"_a, "backward_fallback"_a,
           "embedding's node: fallback(*args) is the Python eager path, "
           "backward_fallback(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq) "
           "the Python backward.")
      .def("__call__", &EmbeddingNode::call,
           "node(weight, indices, padding_idx, scale_grad_by_freq) -> y, recording the backward "
           "when weight needs it");
}
