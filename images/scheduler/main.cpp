// kstep-sched: loads the kstep test scheduler, attaches it, and waits.
//
// Contract with kstep's guest agent and tests:
//   stdout  "kstep-sched: attached mode=<mode>" once attached (flushed), then
//           "kstep-sched: exited kind=<n> reason=<...> msg=<...>" when the BPF
//           side exits (then "kstep-sched: fault_at_us=<CLOCK_MONOTONIC>" after
//           an injected error or exit), or "kstep-sched: detached signal=<n>" on SIGINT/SIGTERM;
//   stderr  diagnostics, libbpf messages (the verifier log on rejection);
//           after an error or stall exit the kernel's debug dump, framed as
//           the kernel's tools/sched_ext loaders print it (UEI_REPORT):
//           "DEBUG DUMP", a line of '=', a blank line, the dump, a line of '=';
//   exit    0 detached by signal or clean BPF exit, 1 load/attach failure or
//           BPF error exit, 2 bad command line.
#include <bpf/libbpf.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <fstream>
#include <span>
#include <string>

#include <fmt/format.h>

#include "images/scheduler/sched_object.hpp"
#include "images/scheduler/sched_options.hpp"
#include "images/scheduler/termination_watch.hpp"

namespace {

using namespace kstep::sched;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// How often the .bss exit record is checked: exits show up within ~10 ms.
constexpr std::chrono::milliseconds kPollInterval{10};

// libbpf's warnings and info (the verifier log included) go to stderr; its
// debug chatter does not.
int print_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) {
    return 0;
  }
  return std::vfprintf(stderr, format, args);
}

// The framing of UEI_REPORT (tools/sched_ext/include/scx/user_exit_info.h),
// so one extractor on the host reads kstep-sched and the kernel's schedulers.
void print_debug_dump(const std::string& dump) {
  const std::string rule(80, '=');
  fmt::print(stderr, "\nDEBUG DUMP\n{}\n\n{}\n{}\n\n", rule, dump, rule);
  std::fflush(stderr);
}

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return "unknown";
  }
  return line;
}

int run(const SchedOptions& options) {
  libbpf_set_print(print_libbpf);
  auto watch = TerminationWatch::start();
  if (!watch) {
    fmt::print(stderr, "kstep-sched: {}\n", watch.error().message);
    return kExitFailure;
  }

  const auto started = std::chrono::steady_clock::now();
  auto sched = SchedObject::open(options);
  if (!sched) {
    fmt::print(stderr, "kstep-sched: {}\n", sched.error().message);
    return kExitFailure;
  }
  const auto load_started = std::chrono::steady_clock::now();
  if (auto loaded = sched->load(); !loaded) {
    fmt::print(stderr, "kstep-sched: {}\n", loaded.error().message);
    return kExitFailure;
  }
  // Loading is where the kernel verifies the programs: the floor of any
  // attach, which kstep's benchmark compares its attach time against.
  const auto load_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - load_started);
  if (auto attached = sched->attach(); !attached) {
    fmt::print(stderr, "kstep-sched: {}\n", attached.error().message);
    return kExitFailure;
  }
  const auto attach_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

  fmt::print(stdout, "kstep-sched: attached mode={}\n", mode_name(options.mode));
  std::fflush(stdout);
  fmt::print(stderr, "kstep-sched: state={} ops={} attach_ms={} load_us={} watchdog_ms={}\n",
             first_line("/sys/kernel/sched_ext/state"), first_line("/sys/kernel/sched_ext/root/ops"),
             attach_ms.count(), load_us.count(), options.watchdog_ms);

  auto signal = watch->wait([&] { return sched->exit_record().has_value(); }, kPollInterval);
  const Counters counters = sched->counters();
  fmt::print(stderr,
             "kstep-sched: counters enqueued={} dispatched={} local={} shared={} stalled_dispatches={} "
             "ticks={}\n",
             counters.enqueued, counters.dispatched, counters.local, counters.shared, counters.stalled,
             counters.ticks);
  if (!signal) {
    fmt::print(stderr, "kstep-sched: {}\n", signal.error().message);
    return kExitFailure;
  }
  if (*signal != 0) {
    sched->detach();
    fmt::print(stdout, "kstep-sched: detached signal={}\n", *signal);
    std::fflush(stdout);
    return kExitOk;
  }
  const ExitRecord exit = *sched->exit_record();
  if (!exit.dump.empty()) {
    print_debug_dump(exit.dump);
  }
  fmt::print(stdout, "kstep-sched: exited kind={} reason={} msg={}\n", exit.kind, exit.reason, exit.msg);
  if (counters.fault_at_ns != 0) {
    // CLOCK_MONOTONIC, like the agent's detected_us: the benchmark's origin.
    fmt::print(stdout, "kstep-sched: fault_at_us={}\n", counters.fault_at_ns / 1000);
  }
  std::fflush(stdout);
  return exit.kind < kExitKindError ? kExitOk : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto options = parse_sched_options(std::span<const char* const>(argv + 1, argc > 0 ? argc - 1 : 0));
    if (!options) {
      fmt::print(stderr, "kstep-sched: {} (see --help)\n", options.error().message);
      return kExitUsage;
    }
    if (options->help) {
      fmt::print(stdout, "{}", sched_usage());
      return kExitOk;
    }
    return run(*options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "kstep-sched: fatal: {}\n", e.what());
    return kExitFailure;
  }
}
