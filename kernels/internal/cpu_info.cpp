// kn_cpu_info's line: the CPU's identity and caches, then each kernel
// family's run-time choice as the family itself reports it (cpu_info.hpp).
#include "kernels/internal/cpu_info.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define KN_CPUID 1
#else
#define KN_CPUID 0
#endif

#include "kernels/internal/blas.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/gemm_ladder.hpp"

namespace kn::cpu_info {
namespace {

std::string trim(std::string s) {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  size_t b = 0, e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Values may not contain the item separator: "; " splits the line.
std::string clean(std::string s) {
  for (char& c : s)
    if (c == ';') c = ',';
  return s;
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (!f || !std::getline(f, line)) return "";
  return trim(line);
}

// "48K" / "2048K" / "32M" (sysfs's own format) -> bytes; 0 if unparsable.
long parse_size(const std::string& s) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || v <= 0) return 0;
  switch (*end) {
    case 'K': case 'k': return v * 1024;
    case 'M': case 'm': return v * 1024 * 1024;
    case 'G': case 'g': return v * 1024 * 1024 * 1024;
    default: return v;
  }
}

// From /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}.
long sysfs_cache_bytes(int level) {
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string lv = read_line(dir + "level");
    if (lv.empty()) {
      if (i > 0) break;  // index0 missing: no sysfs cache info at all
      continue;
    }
    if (std::atoi(lv.c_str()) != level) continue;
    const std::string type = read_line(dir + "type");
    if (type == "Instruction") continue;  // level 1: the data cache
    if (const long b = parse_size(read_line(dir + "size"))) return b;
  }
  return 0;
}

std::string fmt_size(long bytes) {
  if (bytes <= 0) return "unknown";
  constexpr long kMiB = 1024 * 1024;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "M";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + "K";
  return std::to_string(bytes) + "B";
}

const char* arch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__powerpc64__)
  return "ppc64";
#else
  return "other";
#endif
}

std::string build() {
  const Identity id = identify();
  std::string blas;
  try {
    blas = blas::core_info();
  } catch (const Error& e) {
    blas = std::string("unavailable (") + e.what() + ")";
  }
  const auto num = [](int v) { return v < 0 ? std::string("unknown") : std::to_string(v); };
  const char* clones = simd::clone_target();
  const std::string simd = std::string(clones) + (std::strcmp(clones, "none") == 0
                                                      ? " (baseline build, no target_clones)"
                                                      : " (target_clones)");
  std::string line;
  const auto item = [&](const char* key, const std::string& value) {
    if (!line.empty()) line += "; ";
    line += key;
    line += '=';
    line += clean(value);
  };
  item("cpu", id.brand);
  item("vendor", id.vendor);
  item("family", num(id.family));
  item("model", num(id.model));
  item("arch", arch());
  item("isa", isa());
  item("l1d", fmt_size(cache_bytes(1)));
  item("l2", fmt_size(cache_bytes(2)));
  item("l3", fmt_size(cache_bytes(3)));
  // The same clone set serves the element-wise ops and the softmax family's
  // rows (softmax, log_softmax, cross_entropy), the norms, dropout, gspmm, ...
  item("elementwise", simd);
  item("softmax", simd);
  item("gemm_ladder", gemm_ladder::describe());
  item("sdpa_softmax", cpu::sdpa_softmax_isa());
  item("conv2d_direct", cpu::conv2d_direct_isa());
  item("blas", blas);
  return line;
}

}  // namespace

Identity identify() {
  Identity id;
#if KN_CPUID
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    char vendor[13];
    std::memcpy(vendor, &b, 4), std::memcpy(vendor + 4, &d, 4), std::memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    id.vendor = trim(vendor);
    if (a >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
      // Display family / model as Intel's and AMD's manuals define them.
      const int base_family = (a >> 8) & 0xF, base_model = (a >> 4) & 0xF;
      const int ext_family = (a >> 20) & 0xFF, ext_model = (a >> 16) & 0xF;
      id.family = base_family == 0xF ? base_family + ext_family : base_family;
      id.model = base_family == 0x6 || base_family == 0xF ? (ext_model << 4) + base_model
                                                          : base_model;
    }
  }
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000004u) {
    unsigned regs[12];
    for (unsigned leaf = 0; leaf < 3; ++leaf)
      __get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2],
                  &regs[4 * leaf + 3]);
    char brand[49];
    std::memcpy(brand, regs, 48);
    brand[48] = '\0';
    const std::string s = trim(brand);
    if (!s.empty()) id.brand = s;
  }
#else
  // No cpuid: the kernel's description, where it has one.
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    if (key == "model name" || key == "Model" || key == "cpu") {
      id.brand = trim(line.substr(colon + 1));
      break;
    }
  }
#endif
  return id;
}

std::string isa() {
  std::string out;
#if KN_CPUID
  __builtin_cpu_init();
  // The features the run-time dispatch tests (libgcc's checks include the
  // OS having enabled the AVX / AVX-512 register state).
  const auto add = [&](bool has, const char* name) {
    if (!has) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bw"), "avx512bw");
  add(__builtin_cpu_supports("avx512dq"), "avx512dq");
  add(__builtin_cpu_supports("avx512vl"), "avx512vl");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  add(__builtin_cpu_supports("avx"), "avx");
#endif
  return out.empty() ? "baseline" : out;
}

long cache_bytes(int level) {
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
    defined(_SC_LEVEL3_CACHE_SIZE)
  const int name = level == 1   ? _SC_LEVEL1_DCACHE_SIZE
                   : level == 2 ? _SC_LEVEL2_CACHE_SIZE
                                : _SC_LEVEL3_CACHE_SIZE;
  if (level >= 1 && level <= 3) {
    const long v = sysconf(name);  // glibc: 0 or -1 where it does not know
    if (v > 0) return v;
  }
#endif
  return level >= 1 && level <= 3 ? sysfs_cache_bytes(level) : 0;
}

const char* report() {
  static const std::string line = build();  // thread-safe, once per process
  return line.c_str();
}

}  // namespace kn::cpu_info
