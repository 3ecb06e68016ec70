// fuzz_capi_libfuzzer: the libFuzzer front end of the C ABI fuzz harness
// (clang, -fsanitize=fuzzer,address,undefined). The fuzzer's bytes are the
// random stream: the first byte picks the entry (unless KN_FUZZ_ENTRY names
// one), the rest drive the same generators and mutations as fuzz_capi.
//
//   KN_FUZZ_ENTRY=kn_conv2d_forward ./fuzz_capi_libfuzzer CORPUS_DIR -max_total_time=600
//   ./fuzz_capi_libfuzzer crash-<sha1>             replay one input (prints the call)
//
// Environment: KN_FUZZ_ENTRY=name (one entry), KN_FUZZ_AVOID=name,...|known
// (see fuzz_capi --list), KN_FUZZ_VERBOSE=1 (print every call). At exit it
// prints the calls per entry.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

const fz::Entry* g_entry = nullptr;
fz::Options g_opt;
std::vector<unsigned long long> g_calls, g_ok;

void print_counts() {
  const auto& table = fz::entries();
  std::fprintf(stderr, "\nfuzz_capi_libfuzzer: calls per entry (ok%%):\n");
  for (size_t i = 0; i < table.size(); ++i)
    if (g_calls[i])
      std::fprintf(stderr, "  %-26s %10llu  %5.1f%%\n", table[i].name, g_calls[i],
                   100.0 * static_cast<double>(g_ok[i]) / static_cast<double>(g_calls[i]));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* name = std::getenv("KN_FUZZ_ENTRY");
  if (name && name[0]) {
    g_entry = fz::find_entry(name);
    if (!g_entry) {
      std::fprintf(stderr, "fuzz_capi_libfuzzer: no entry '%s'\n", name);
      std::exit(2);
    }
  }
  const char* avoid = std::getenv("KN_FUZZ_AVOID");
  if (avoid && avoid[0]) {
    std::string err;
    if (!fz::parse_avoid(avoid, g_opt.avoid, err)) {
      std::fprintf(stderr, "fuzz_capi_libfuzzer: KN_FUZZ_AVOID: %s\n", err.c_str());
      std::exit(2);
    }
  }
  const char* verbose = std::getenv("KN_FUZZ_VERBOSE");
  g_opt.verbose = verbose && verbose[0] == '1';
  g_calls.assign(fz::entries().size(), 0);
  g_ok.assign(fz::entries().size(), 0);
  std::atexit(print_counts);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fz::BytesSource src(data, size);
  const auto& table = fz::entries();
  const fz::Entry& e = g_entry ? *g_entry : table[src.u8() % table.size()];
  const size_t index = static_cast<size_t>(&e - table.data());
  const fz::Result r = fz::run_one(e, src, g_opt);
  ++g_calls[index];
  g_ok[index] += r.status == KN_OK;
  if (g_opt.verbose)
    std::fprintf(stderr, "  -> %s \"%s\"\n", kn_status_string(r.status), r.message.c_str());
  if (!r.violations.empty()) {
    for (const fz::Violation& v : r.violations)
      std::fprintf(stderr, "\nVIOLATION %s in %s\n  %s\n", v.check.c_str(), e.name, v.detail.c_str());
    std::fprintf(stderr, "  call: %s\n  got: %s \"%s\"\n  replay: run this binary on the crash file it writes\n",
                 r.description.c_str(), kn_status_string(r.status), r.message.c_str());
    std::abort();
  }
  return 0;
}
