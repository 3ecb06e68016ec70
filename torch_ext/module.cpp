// pykernels._torch_ext: the module (torch_ext/common.hpp says why it exists and what
// every node does). Each node class comes from its own torch_ext/<op>.cpp through
// KN_TORCH_EXT.
#include <algorithm>
#include <cstring>
#include <vector>

#include "torch_ext/common.hpp"

namespace kntorch {
namespace {
struct Registered {
  const char* name;
  RegisterFn fn;
};
std::vector<Registered>& registry() {  // filled during static initialisation
  static std::vector<Registered> r;
  return r;
}
}  // namespace

int register_node(const char* name, RegisterFn fn) {
  registry().push_back({name, fn});
  return 0;
}
}  // namespace kntorch

PYBIND11_MODULE(_torch_ext, m) {
  m.doc() = "C++ autograd nodes of pykernels.torch's ops (torch_ext/; used by _glue.fast_path)";
  m.attr("torch_version") = KN_TORCH_VERSION;
  auto& r = kntorch::registry();
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return std::strcmp(a.name, b.name) < 0; });
  for (const auto& e : r) e.fn(m);
}
