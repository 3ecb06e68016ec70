// fuzz_capi: the seeded random-loop front end of the C ABI fuzz harness.
//
//   fuzz_capi --list
//   fuzz_capi --entry kn_conv2d_forward --seconds 10 [--seed 1]
//   fuzz_capi --entry kn_conv2d_forward --iterations 100000 --seed 1
//   fuzz_capi --all --seconds 5 [--seed 1]          every entry, 5 s each
//   fuzz_capi --all --budget 600 --keep-going       10 minutes over all entries
//   fuzz_capi --entry X --seed S --replay ITER [--verbose]
//
// Iteration i of entry X with seed S draws from a PRNG seeded with
// hash(S, X, i) alone, so `--replay i` rebuilds exactly that call without
// running the ones before it. A contract violation prints the entry, seed,
// iteration, the call in one line and the replay command, then aborts. A
// crash or sanitizer report prints the replay command of the call in flight;
// so does a call that runs longer than --call-timeout seconds (default 30).
//
// --keep-going: record each distinct violation and go on; crashes too (the
// calls run in a child process that is restarted after the crashing
// iteration). The end lists every distinct violation and crash, each with a
// replay command; the exit status is 1 if there was any.
//
// --avoid NAME[,NAME...] | known  rewrites the patterns of known, unfixed
// findings away (see --list); the default avoids nothing.
#include <dlfcn.h>
#include <link.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "harness.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- crash reporting

// What the crash handlers print: the replay command of the call in flight.
char g_replay_prefix[512];
const char* g_replay_suffix = "";
std::atomic<uint64_t> g_iter{0};
std::atomic<uint64_t> g_call_seq{0};
std::atomic<bool> g_in_call{false};

void write_str(const char* s) {
  const ssize_t r = ::write(2, s, std::strlen(s));
  (void)r;
}

void write_replay(const char* why) {
  char num[32], rev[32];
  uint64_t v = g_iter.load();
  int n = 0;
  do rev[n++] = static_cast<char>('0' + v % 10), v /= 10;
  while (v);
  for (int i = 0; i < n; ++i) num[i] = rev[n - 1 - i];
  num[n] = '\0';
  write_str("\n==fuzz_capi== ");
  write_str(why);
  write_str(" during the call of:\n==fuzz_capi== replay: ");
  write_str(g_replay_prefix);
  write_str(num);
  write_str(g_replay_suffix);
  write_str("\n");
}

void on_death() {
  if (g_in_call.load()) write_replay("sanitizer report");
}

// Sanitizer runtimes call a death callback before they exit on a report.
// gcc links ASan and UBSan as two runtimes, each with its own callback: set
// it in every loaded object that has one.
void set_death_callbacks() {
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) -> int {
        void* h = dlopen(info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : nullptr, RTLD_LAZY | RTLD_NOLOAD);
        if (!h) return 0;
        using SetFn = void (*)(void (*)(void));
        if (auto fn = reinterpret_cast<SetFn>(dlsym(h, "__sanitizer_set_death_callback"))) fn(on_death);
        dlclose(h);
        return 0;
      },
      nullptr);
}

// The handlers that were there before ours (ASan's SEGV handler prints the
// report): ours prints the replay command, puts theirs back and lets the
// signal happen again.
struct sigaction g_previous[32];

void on_signal(int sig) {
  if (g_in_call.load())
    write_replay(sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGFPE ? "SIGFPE" : "SIGABRT");
  sigaction(sig, &g_previous[sig], nullptr);
  if (sig == SIGABRT) raise(sig);  // a fault re-executes the faulting instruction by itself
}

void install_signal_handlers() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGABRT}) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(sig, &sa, &g_previous[sig]);
  }
}

// Watchdog: a call that runs too long is a finding too (a hang, or work that
// grows with a huge size instead of with the data).
class Watchdog {
 public:
  explicit Watchdog(double limit) : thread_([this, limit] {
      uint64_t seen = ~0ull;
      auto since = Clock::now();
      while (!done_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const uint64_t seq = g_call_seq.load();
        if (!g_in_call.load() || seq != seen) {
          seen = seq, since = Clock::now();
          continue;
        }
        if (std::chrono::duration<double>(Clock::now() - since).count() > limit) {
          write_replay("TIMEOUT (a call ran longer than --call-timeout)");
          std::signal(SIGABRT, SIG_DFL);
          std::abort();
        }
      }
    }) {}
  ~Watchdog() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------- stats

constexpr int kMaxEntries = 128;
struct Counts {  // per entry; in shared memory under --keep-going
  uint64_t calls, ok, must_ok, must_fail, either, violations, crashes;
  double seconds;
};
Counts* g_counts = nullptr;
int g_record_fd = -1;  // --keep-going child: violation records to the parent

struct Recorded {
  std::string replay, detail;
  uint64_t count = 0;
};

void usage() {
  std::printf(
      "usage: fuzz_capi --list\n"
      "       fuzz_capi (--entry NAME | --all) [--seconds S | --budget S | --iterations N] [--seed S]\n"
      "                 [--start ITER] [--keep-going] [--avoid NAME,...|known] [--call-timeout S]\n"
      "       fuzz_capi --entry NAME --seed S --replay ITER [--avoid ...] [--verbose]\n"
      "--seconds and --iterations are per entry; --budget S is S seconds in all, split over the entries.\n");
}

struct Run {
  const fz::Entry* e;
  int index;  // in the table
  uint64_t seed;
  uint64_t first;
  uint64_t count;   // iterations, ~0 = until the deadline
  double seconds;   // < 0: no deadline
  bool keep_going, verbose;
  double call_timeout;
  fz::Options opt;
  std::string self, avoid_arg;
};

std::string replay_cmd(const Run& r, uint64_t iter) {
  return r.self + " --entry " + r.e->name + " --seed " + std::to_string(r.seed) + " --replay " +
         std::to_string(iter) + r.avoid_arg + " --verbose";
}

// The loop over one entry's iterations (in this process or a child).
// Returns false after a violation without --keep-going.
bool run_entry(const Run& r, std::map<std::string, Recorded>& recorded) {
  const uint64_t eh = fz::mix(r.seed, fz::hash_str(r.e->name));
  std::snprintf(g_replay_prefix, sizeof g_replay_prefix, "%s --entry %s --seed %llu --replay ", r.self.c_str(),
                r.e->name, static_cast<unsigned long long>(r.seed));
  Counts& st = g_counts[r.index];
  const auto t0 = Clock::now();
  for (uint64_t k = 0; k < r.count; ++k) {
    const uint64_t iter = r.first + k;
    if (r.seconds >= 0 && (k & 15) == 0 && std::chrono::duration<double>(Clock::now() - t0).count() >= r.seconds)
      break;
    fz::RngSource src(fz::mix(eh, iter));
    g_iter.store(iter);
    g_call_seq.fetch_add(1);
    ++st.calls;  // counted before the call: a crashing call counts too
    g_in_call.store(true);
    const fz::Result res = fz::run_one(*r.e, src, r.opt);
    g_in_call.store(false);
    st.ok += res.status == KN_OK;
    st.must_ok += res.expect == fz::Expect::Succeed;
    st.must_fail += res.expect == fz::Expect::Fail;
    st.either += res.expect == fz::Expect::Either;
    if (r.verbose)
      std::printf("[%s iter %llu] -> %s \"%s\"\n", r.e->name, static_cast<unsigned long long>(iter),
                  kn_status_string(res.status), res.message.c_str());
    if (res.violations.empty()) continue;
    ++st.violations;
    const std::string rp = replay_cmd(r, iter);
    for (const fz::Violation& v : res.violations) {
      Recorded& rec = recorded[v.key];
      if (rec.count++ == 0) {
        rec.replay = rp, rec.detail = v.detail;
        std::printf("\nVIOLATION %s in %s (seed %llu, iteration %llu)\n  %s\n  call: %s\n  got: %s \"%s\"\n  replay: %s\n",
                    v.check.c_str(), r.e->name, static_cast<unsigned long long>(r.seed),
                    static_cast<unsigned long long>(iter), v.detail.c_str(), res.description.c_str(),
                    kn_status_string(res.status), res.message.c_str(), rp.c_str());
        std::fflush(stdout);
      }
      if (g_record_fd >= 0) {  // to the supervising parent: key \t replay \t detail \n
        auto clean = [](std::string x) {
          for (char& ch : x)
            if (ch == '\n' || ch == '\t') ch = ' ';
          return x;
        };
        const std::string line = clean(v.key) + "\t" + clean(rp) + "\t" + clean(v.detail) + "\n";
        const ssize_t w = ::write(g_record_fd, line.data(), line.size());
        (void)w;
      }
    }
    if (!r.keep_going) return false;
  }
  st.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  return true;
}

// The class of a crash from the child's stderr: the sanitizer's first line
// (file:line and kind), else the signal.
std::string crash_key(const std::string& err, std::string& line_out) {
  auto base = [](std::string s) {
    const size_t slash = s.rfind('/', s.find(':') == std::string::npos ? s.size() : s.find(':'));
    return slash == std::string::npos ? s : s.substr(slash + 1);
  };
  auto digits_out = [](const std::string& s) {
    std::string o;
    for (char ch : s) {
      if (ch >= '0' && ch <= '9') {
        if (o.empty() || o.back() != '#') o += '#';
      } else {
        o += ch;
      }
    }
    return o;
  };
  size_t p = err.find(": runtime error: ");
  if (p != std::string::npos) {
    const size_t b = err.rfind('\n', p) == std::string::npos ? 0 : err.rfind('\n', p) + 1;
    const size_t e = err.find('\n', p);
    line_out = err.substr(b, e - b);
    const std::string where = base(err.substr(b, p - b));
    std::string what = digits_out(err.substr(p + 17, e - p - 17));
    what = what.substr(0, 48);
    return "UBSan " + where + " " + what;
  }
  p = err.find("ERROR: AddressSanitizer: ");
  if (p != std::string::npos) {
    const size_t e = err.find('\n', p);
    line_out = err.substr(p, e - p);
    std::string kind = err.substr(p + 25, e - p - 25);
    kind = kind.substr(0, kind.find(' '));
    std::string frame;
    const size_t f = err.find("#0 ", p);
    if (f != std::string::npos) {
      const size_t fe = err.find('\n', f);
      const std::string fl = err.substr(f, fe - f);
      const size_t in = fl.rfind(' ');
      frame = in == std::string::npos ? fl : base(fl.substr(in + 1));
    }
    return "ASan " + kind + " at " + frame;
  }
  for (const char* w : {"TIMEOUT", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGABRT"}) {
    p = err.find(w);
    if (p != std::string::npos) {
      line_out = w;
      return w;
    }
  }
  line_out = "child died without a report";
  return "crash";
}

// --keep-going: run `r` in child processes; after a crash, record it and
// restart after the crashing iteration until the time or iterations are used.
void supervise(Run r, std::map<std::string, Recorded>& recorded, std::map<std::string, Recorded>& crashes) {
  const auto t0 = Clock::now();
  struct Timer {  // the entry's wall time, crashed children included
    Clock::time_point t0;
    int index;
    ~Timer() { g_counts[index].seconds = std::chrono::duration<double>(Clock::now() - t0).count(); }
  } timer{t0, r.index};
  const double seconds = r.seconds;
  const uint64_t first = r.first, count = r.count;
  for (;;) {
    if (seconds >= 0) {
      r.seconds = seconds - std::chrono::duration<double>(Clock::now() - t0).count();
      if (r.seconds <= 0) break;
    } else {
      if (r.first - first >= count) break;
      r.count = count - (r.first - first);
    }
    int err_pipe[2], rec_pipe[2];
    if (pipe(err_pipe) != 0 || pipe(rec_pipe) != 0) std::abort();
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) std::abort();
    if (pid == 0) {
      close(err_pipe[0]);
      close(rec_pipe[0]);
      dup2(err_pipe[1], 2);
      close(err_pipe[1]);
      g_record_fd = rec_pipe[1];
      set_death_callbacks();
      std::map<std::string, Recorded> mine = recorded;  // known keys: not printed again
      {
        Watchdog wd(r.call_timeout);
        run_entry(r, mine);
      }
      std::fflush(stdout);
      _exit(0);
    }
    close(err_pipe[1]);
    close(rec_pipe[1]);
    std::string err, rec;
    pollfd fds[2] = {{err_pipe[0], POLLIN, 0}, {rec_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
      if (poll(fds, 2, -1) < 0) continue;
      for (pollfd& f : fds) {
        if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = read(f.fd, buf, sizeof buf);
        if (n <= 0) {
          close(f.fd);
          f.fd = -1;
          --open_fds;
          continue;
        }
        if (f.fd == err_pipe[0]) {  // kept, printed below for a new kind of crash
          err.append(buf, static_cast<size_t>(n));
          if (err.size() > (1u << 20)) err.erase(0, err.size() - (1u << 19));
        } else {
          rec.append(buf, static_cast<size_t>(n));
        }
      }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    // Violation records: key \t replay \t detail
    size_t pos = 0;
    while (pos < rec.size()) {
      const size_t nl = rec.find('\n', pos);
      if (nl == std::string::npos) break;
      const std::string line = rec.substr(pos, nl - pos);
      pos = nl + 1;
      const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
      if (t1 == std::string::npos || t2 == std::string::npos) continue;
      Recorded& x = recorded[line.substr(0, t1)];
      if (x.count++ == 0) x.replay = line.substr(t1 + 1, t2 - t1 - 1), x.detail = line.substr(t2 + 1);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      if (!err.empty()) std::fprintf(stderr, "%s", err.c_str());
      break;
    }
    // A crash: the child counted the call and printed its replay command
    // (==fuzz_capi== replay: ... --replay ITER); restart after it.
    uint64_t crashed = r.first;
    const size_t rp = err.rfind("--replay ");
    if (rp != std::string::npos) crashed = std::strtoull(err.c_str() + rp + 9, nullptr, 10);
    std::string line;
    const std::string key = std::string(r.e->name) + " " + crash_key(err, line);
    Recorded& x = crashes[key];
    ++g_counts[r.index].crashes;
    if (x.count++ == 0) {  // a new kind: the head of the report (6 KB from its first line)
      x.replay = replay_cmd(r, crashed), x.detail = line;
      std::fflush(stdout);
      size_t from = std::min(err.find("runtime error"), err.find("ERROR: "));
      from = from == std::string::npos ? 0 : (err.rfind('\n', from) == std::string::npos ? 0 : err.rfind('\n', from) + 1);
      std::fprintf(stderr, "%.6000s\n", err.c_str() + from);
      std::fflush(stderr);
      std::printf("\nCRASH in %s (seed %llu, iteration %llu): %s\n  replay: %s\n", r.e->name,
                  static_cast<unsigned long long>(r.seed), static_cast<unsigned long long>(crashed), line.c_str(),
                  replay_cmd(r, crashed).c_str());
      std::fflush(stdout);
    }
    r.first = crashed + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* entry_name = nullptr;
  bool all = false, list = false, keep_going = false, verbose = false, have_seed = false;
  double seconds = -1, budget = -1;
  int64_t iterations = -1, replay = -1;
  uint64_t seed = 0, start = 0;
  double call_timeout = 30;
  fz::Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fuzz_capi: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--list") list = true;
    else if (a == "--all") all = true;
    else if (a == "--entry") entry_name = next();
    else if (a == "--seconds") seconds = std::atof(next());
    else if (a == "--budget") budget = std::atof(next());
    else if (a == "--iterations") iterations = std::atoll(next());
    else if (a == "--seed") seed = std::strtoull(next(), nullptr, 0), have_seed = true;
    else if (a == "--start") start = std::strtoull(next(), nullptr, 0);
    else if (a == "--replay") replay = std::atoll(next());
    else if (a == "--keep-going") keep_going = true;
    else if (a == "--verbose") verbose = true;
    else if (a == "--call-timeout") call_timeout = std::atof(next());
    else if (a == "--avoid") {
      std::string err;
      if (!fz::parse_avoid(next(), opt.avoid, err)) {
        std::fprintf(stderr, "fuzz_capi: %s\n", err.c_str());
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "fuzz_capi: unknown argument %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  const auto& table = fz::entries();
  if (list) {
    for (const fz::Entry& e : table) std::printf("%s\n", e.name);
    std::printf("\n--avoid names (patterns of known findings; default: none avoided):\n");
    for (int i = 0; i < fz::kNumQuirks; ++i) std::printf("  %-18s %s\n", fz::kQuirks[i].name, fz::kQuirks[i].what);
    return 0;
  }
  std::vector<int> todo;
  if (all) {
    for (size_t i = 0; i < table.size(); ++i) todo.push_back(static_cast<int>(i));
  } else if (entry_name) {
    const fz::Entry* e = fz::find_entry(entry_name);
    if (!e) {
      std::fprintf(stderr, "fuzz_capi: no entry '%s' (--list)\n", entry_name);
      return 2;
    }
    todo.push_back(static_cast<int>(e - table.data()));
  } else {
    usage();
    return 2;
  }
  if (table.size() > kMaxEntries) std::abort();
  if (!have_seed) {
    if (replay >= 0) {
      std::fprintf(stderr, "fuzz_capi: --replay needs --seed\n");
      return 2;
    }
    seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) % 1000000007ull;
  }
  if (budget > 0) seconds = budget / static_cast<double>(todo.size());
  if (replay >= 0) keep_going = false, iterations = 1, seconds = -1, start = static_cast<uint64_t>(replay);
  if (seconds < 0 && iterations < 0) seconds = 5;
  opt.verbose = verbose;

  // Counters live in shared memory: a --keep-going child updates them.
  g_counts = static_cast<Counts*>(mmap(nullptr, sizeof(Counts) * kMaxEntries, PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (g_counts == MAP_FAILED) std::abort();
  std::memset(static_cast<void*>(g_counts), 0, sizeof(Counts) * kMaxEntries);

  static std::string replay_suffix;
  const std::string avoid_arg = opt.avoid ? " --avoid " + fz::avoid_string(opt.avoid) : "";
  replay_suffix = avoid_arg + " --verbose";
  g_replay_suffix = replay_suffix.c_str();
  install_signal_handlers();

  std::map<std::string, Recorded> recorded, crashes;
  std::printf("fuzz_capi: seed %llu%s%s%s\n", static_cast<unsigned long long>(seed),
              opt.avoid ? ", avoiding " : "", opt.avoid ? fz::avoid_string(opt.avoid).c_str() : "",
              keep_going ? ", keep-going" : "");
  std::fflush(stdout);

  bool stopped = false;
  for (int index : todo) {
    Run r{&table[static_cast<size_t>(index)], index, seed, start,
          iterations >= 0 ? static_cast<uint64_t>(iterations) : ~0ull, iterations >= 0 ? -1.0 : seconds,
          keep_going, verbose, call_timeout, opt, argv[0], avoid_arg};
    if (keep_going) {
      supervise(r, recorded, crashes);
    } else {
      set_death_callbacks();
      Watchdog wd(call_timeout);
      if (!run_entry(r, recorded)) {
        stopped = true;
        break;
      }
    }
  }
  std::printf("\n%-26s %10s %9s %6s %7s %7s %7s %6s %6s\n", "entry", "calls", "calls/s", "ok%", "must-ok",
              "must-f", "either", "viol", "crash");
  uint64_t total = 0;
  for (int index : todo) {
    const Counts& st = g_counts[index];
    if (!st.calls) continue;
    total += st.calls;
    const double n = static_cast<double>(st.calls);
    std::printf("%-26s %10llu %9.0f %5.1f%% %6.1f%% %6.1f%% %6.1f%% %6llu %6llu\n", table[static_cast<size_t>(index)].name,
                static_cast<unsigned long long>(st.calls), n / std::max(st.seconds, 1e-9),
                100.0 * static_cast<double>(st.ok) / n, 100.0 * static_cast<double>(st.must_ok) / n,
                100.0 * static_cast<double>(st.must_fail) / n, 100.0 * static_cast<double>(st.either) / n,
                static_cast<unsigned long long>(st.violations), static_cast<unsigned long long>(st.crashes));
  }
  std::printf("total calls: %llu\n", static_cast<unsigned long long>(total));
  if (stopped) {
    std::fflush(stdout);
    std::signal(SIGABRT, SIG_DFL);
    std::abort();
  }
  if (!recorded.empty() || !crashes.empty()) {
    std::printf("\n%zu distinct violation(s), %zu distinct crash(es):\n", recorded.size(), crashes.size());
    for (const auto* m : {&recorded, &crashes})
      for (const auto& kv : *m)
        std::printf("  [%llux] %s\n      %s\n      replay: %s\n", static_cast<unsigned long long>(kv.second.count),
                    kv.first.c_str(), kv.second.detail.c_str(), kv.second.replay.c_str());
    return 1;
  }
  return 0;
}
