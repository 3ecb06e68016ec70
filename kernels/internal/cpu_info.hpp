// What this process's CPU dispatch chose, family by family (kn_cpu_info).
//
// Every kernel family that picks its code at run time reports its own choice
// through one small function defined next to the test it makes, so the
// report is the kernels' own decision, not a re-derivation:
//
//   elementwise, softmax, norms, ...  KN_SIMD_CLONES (GCC target_clones):
//                 simd::clone_target()                  kernels/internal/simd.cpp
//   gemm_ladder   gemm_ladder::micro_kernel_name()      kernels/internal/gemm_ladder.cpp
//                 (and kn::blas::gemm routes small float32 products to it
//                 only when it runs the AVX-512 kernels: uses_avx512())
//   sdpa_softmax  cpu::sdpa_softmax_isa()               kernels/cpu/scaled_dot_product_attention.cpp
//   conv2d_direct cpu::conv2d_direct_isa()              kernels/cpu/conv2d.cpp
//   blas          blas::core_info()                     kernels/internal/blas.cpp
//
// report() joins them with the CPU's identity (cpuid brand string, vendor,
// family, model, the ISA extensions the dispatch tests) and its cache sizes
// into one "key=value; key=value" line, built once (thread-safe) per process.
#pragma once

#include <string>

namespace kn {

namespace simd {
// The clone every KN_SIMD_CLONES function runs on this CPU: "avx512f",
// "avx2" or "default" (baseline x86-64), or "none" where the build has no
// target_clones (not GCC on x86-64 ELF).
const char* clone_target();
}  // namespace simd

namespace cpu {
// scaled_dot_product_attention's float32 softmax rows: "avx512" (intrinsics)
// or "portable" (plain loops, KN_SIMD_CLONES).
const char* sdpa_softmax_isa();
// conv2d's direct kernels for small float32 convs: "avx512", or "off" (every
// conv takes im2col + GEMM).
const char* conv2d_direct_isa();
}  // namespace cpu

namespace cpu_info {

// The CPU as cpuid describes it (x86-64); "unknown" / -1 elsewhere.
struct Identity {
  std::string brand = "unknown";   // leaves 0x80000002-4, trimmed
  std::string vendor = "unknown";  // leaf 0: GenuineIntel, AuthenticAMD, ...
  int family = -1, model = -1;     // leaf 1, with the extended fields folded in
};
Identity identify();

// The ISA extensions the dispatch tests, that this CPU (and OS) has, e.g.
// "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,avx"; "baseline" if none.
std::string isa();

// Cache size in bytes of level 1 (data), 2 or 3 of cpu0; 0 if unknown.
long cache_bytes(int level);

// The whole line (see kn_cpu_info in kernels/core.h). Loads OpenBLAS to name
// its core type; an unloadable BLAS is reported as such, not thrown (only
// std::bad_alloc can escape, and the next call tries again).
const char* report();

}  // namespace cpu_info
}  // namespace kn
