// kn_cpu_info (kernels/internal/cpu_info.hpp): every key is there, and each
// kernel family's entry is that family's own run-time decision (the
// functions the kernels call), the CPU identity agrees with the kernel's
// /proc/cpuinfo, the cache sizes with sysconf, and the line is built once.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/cpu_info.hpp"
#include "kernels/internal/gemm_ladder.hpp"
#include "kernels/kernels.h"

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "k=v; k=v" -> map, failing the test on a malformed or repeated item.
std::map<std::string, std::string> parse(const std::string& line) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t end = line.find("; ", pos);
    if (end == std::string::npos) end = line.size();
    const std::string item = line.substr(pos, end - pos);
    const size_t eq = item.find('=');
    EXPECT_NE(eq, std::string::npos) << "item without '=': " << item;
    if (eq != std::string::npos) {
      EXPECT_TRUE(out.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
          << "repeated key in " << line;
    }
    pos = end + 2;
  }
  return out;
}

std::map<std::string, std::string> fields() {
  const char* info = kn_cpu_info();
  EXPECT_NE(info, nullptr) << kn_last_error();
  return info ? parse(info) : std::map<std::string, std::string>{};
}

// The value of "key : value" in /proc/cpuinfo (first processor), or "".
std::string proc_cpuinfo(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    const size_t colon = line.find(':');
    if (colon != std::string::npos && trim(line.substr(0, colon)) == key)
      return trim(line.substr(colon + 1));
    if (line.empty()) break;  // end of the first processor
  }
  return "";
}

TEST(CpuInfo, HasEveryKeyInOrder) {
  const char* info = kn_cpu_info();
  ASSERT_NE(info, nullptr) << kn_last_error();
  EXPECT_STREQ(kn_last_error(), "");
  const std::string line = info;
  const std::vector<std::string> keys = {"cpu", "vendor", "family", "model", "arch", "isa",
                                         "l1d", "l2", "l3", "elementwise", "softmax",
                                         "gemm_ladder", "sdpa_softmax", "conv2d_direct", "blas"};
  const auto f = parse(line);
  EXPECT_EQ(f.size(), keys.size()) << line;
  size_t last = 0;
  for (const auto& k : keys) {
    ASSERT_EQ(f.count(k), 1u) << k << " missing from " << line;
    EXPECT_FALSE(f.at(k).empty()) << k << " is empty in " << line;
    const size_t at = k == keys.front() ? line.find(k + "=") : line.find("; " + k + "=");
    EXPECT_GE(at, last) << k << " out of order in " << line;
    last = at;
  }
}

TEST(CpuInfo, StaticAndThreadSafe) {
  std::vector<const char*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&, i] { seen[i] = kn_cpu_info(); });
  for (auto& t : threads) t.join();
  for (const char* p : seen) EXPECT_EQ(p, kn_cpu_info());  // one string, built once
}

bool x86_gcc() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  return true;
#else
  return false;
#endif
}

bool cpu_supports_avx512f() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") != 0;
#else
  return false;
#endif
}

TEST(CpuInfo, GemmLadderIsTheLaddersOwnChoice) {
  const std::string v = fields().at("gemm_ladder");
  EXPECT_EQ(v, kn::gemm_ladder::describe());
  const bool avx512 = kn::gemm_ladder::uses_avx512();
  EXPECT_EQ(v.rfind(avx512 ? "avx512 6x32 " : "portable 6x32 ", 0), 0u) << v;
  // kn::blas::gemm routes float32 products to the ladder only with AVX-512.
  EXPECT_EQ(v.find("routed to it") != std::string::npos, avx512) << v;
  EXPECT_STREQ(kn::gemm_ladder::micro_kernel_name(), avx512 ? "avx512" : "portable");
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  EXPECT_EQ(avx512, __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"));
#endif
}

TEST(CpuInfo, SimdClonesAreTheResolversChoice) {
  const auto f = fields();
  const std::string target = kn::simd::clone_target();
  EXPECT_EQ(f.at("elementwise").rfind(target + " (", 0), 0u) << f.at("elementwise");
  EXPECT_EQ(f.at("softmax"), f.at("elementwise"));  // one clone set serves both
  if (x86_gcc()) {
    __builtin_cpu_init();
    const char* expected = __builtin_cpu_supports("avx512f") ? "avx512f"
                           : __builtin_cpu_supports("avx2") ? "avx2"
                                                             : "default";
    EXPECT_EQ(target, expected);
    EXPECT_EQ(f.at("elementwise"), target + " (target_clones)");
  } else {
    EXPECT_EQ(target, "none");
  }
}

TEST(CpuInfo, AttentionAndConvEntriesAreTheirKernelsChoice) {
  const auto f = fields();
  EXPECT_EQ(f.at("sdpa_softmax"), kn::cpu::sdpa_softmax_isa());
  EXPECT_EQ(f.at("conv2d_direct"), kn::cpu::conv2d_direct_isa());
  const bool avx512 = cpu_supports_avx512f();
  EXPECT_EQ(f.at("sdpa_softmax"), avx512 ? "avx512" : "portable");
  EXPECT_EQ(f.at("conv2d_direct"), avx512 ? "avx512" : "off");
}

TEST(CpuInfo, BlasIsKnBlasInfosCore) {
  const std::string v = fields().at("blas");
  const char* blas = kn_blas_info();
  if (!blas) {  // no OpenBLAS on this machine: reported, not thrown
    EXPECT_EQ(v.rfind("unavailable (", 0), 0u) << v;
    return;
  }
  EXPECT_EQ(v, kn::blas::core_info());
  EXPECT_NE(std::string(blas).find("; core=" + v + ";"), std::string::npos) << blas << " vs " << v;
}

TEST(CpuInfo, IdentityAgreesWithTheKernel) {
  const auto f = fields();
  if (!x86_gcc()) {
    GTEST_SKIP() << "cpuid identity is x86-64 only: " << f.at("cpu");
  }
  EXPECT_NE(f.at("isa"), "");
  const std::string vendor = proc_cpuinfo("vendor_id");
  if (vendor.empty()) GTEST_SKIP() << "no /proc/cpuinfo";
  EXPECT_EQ(f.at("vendor"), vendor);
  EXPECT_EQ(f.at("family"), proc_cpuinfo("cpu family"));
  EXPECT_EQ(f.at("model"), proc_cpuinfo("model"));
  const std::string name = proc_cpuinfo("model name");  // Linux: the cpuid brand string
  if (!name.empty()) {
    EXPECT_EQ(f.at("cpu"), name);
  }
  // Every flag named in isa= is one /proc/cpuinfo lists (avx512f, avx2, fma, ...).
  const std::string flags = " " + proc_cpuinfo("flags") + " ";
  const std::string isa = f.at("isa") + ",";
  for (size_t pos = 0, comma; (comma = isa.find(',', pos)) != std::string::npos; pos = comma + 1) {
    const std::string flag = isa.substr(pos, comma - pos);
    if (flag != "baseline") {
      EXPECT_NE(flags.find(" " + flag + " "), std::string::npos) << flag;
    }
  }
}

TEST(CpuInfo, CacheSizesFromSysconfOrSysfs) {
  const auto f = fields();
  const char* keys[] = {"l1d", "l2", "l3"};
  for (int level = 1; level <= 3; ++level) {
    const long bytes = kn::cpu_info::cache_bytes(level);
    const std::string& v = f.at(keys[level - 1]);
    if (bytes <= 0) {
      EXPECT_EQ(v, "unknown");
      continue;
    }
    const long unit = v.back() == 'M' ? 1024L * 1024 : v.back() == 'K' ? 1024L : 1L;
    EXPECT_EQ(std::stol(v) * unit, bytes) << keys[level - 1] << "=" << v;
#ifdef _SC_LEVEL1_DCACHE_SIZE
    const long sc = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE
                            : level == 2 ? _SC_LEVEL2_CACHE_SIZE
                                         : _SC_LEVEL3_CACHE_SIZE);
    if (sc > 0) {
      EXPECT_EQ(bytes, sc);
    }
#endif
  }
  EXPECT_EQ(kn::cpu_info::cache_bytes(4), 0);
}

}  // namespace
