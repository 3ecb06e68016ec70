// kn::simd::clone_target(): which KN_SIMD_CLONES clone runs on this CPU.
#include "kernels/internal/simd.hpp"

#include "kernels/internal/cpu_info.hpp"

namespace kn::simd {

const char* clone_target() {
#if KN_HAVE_SIMD_CLONES
  // GCC's target_clones resolver (an ifunc, run at load time) takes the
  // highest-priority target the CPU supports, testing libgcc's __cpu_model:
  // the data __builtin_cpu_supports reads. The targets of KN_SIMD_CLONES, in
  // its priority order (avx512f > avx2 > default).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "default";
#else
  return "none";
#endif
}

}  // namespace kn::simd
