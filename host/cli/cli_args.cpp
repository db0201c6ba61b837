#include "host/cli/cli_args.hpp"
#include "host/results/map_values.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace kstep::host {
namespace {

// Walks the argument list; every accessor names the option it serves, so
// errors say which argument is wrong.
class ArgCursor {
 public:
  explicit ArgCursor(const std::vector<std::string>& args) : args_(args) {}
  [[nodiscard]] bool done() const { return index_ >= args_.size(); }
  const std::string& take() { return args_[index_++]; }
  Result<std::string> value_for(const std::string& option) {
    if (done()) {
      return fail("{} needs a value", option);
    }
    return take();
  }

 private:
  const std::vector<std::string>& args_;
  std::size_t index_ = 0;
};

Result<unsigned> parse_unsigned(const std::string& option, const std::string& text, unsigned min,
                                unsigned max) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < min || value > max) {
    return fail("{}: '{}' is not a whole number from {} to {}", option, text, min, max);
  }
  return value;
}

// Accepts "512", "512M", "2G" (MiB by default).
Result<unsigned> parse_memory(const std::string& option, std::string text) {
  unsigned scale = 1;
  if (!text.empty() && (text.back() == 'G' || text.back() == 'g')) {
    scale = 1024;
    text.pop_back();
  } else if (!text.empty() && (text.back() == 'M' || text.back() == 'm')) {
    text.pop_back();
  }
  auto value = parse_unsigned(option, text, 1, 1U << 20U);
  if (!value) {
    return fail("{}: '{}' is not a memory size such as 512M or 2G", option, text);
  }
  const unsigned mib = *value * scale;
  if (mib < 128) {
    return fail("{}: {} MiB is too little to boot; give at least 128M", option, mib);
  }
  return mib;
}

Result<RunOptions> parse_run(ArgCursor& cursor) {
  RunOptions run;
  bool smp_given = false;
  while (!cursor.done()) {
    const std::string arg = cursor.take();
    auto value = [&]() { return cursor.value_for(arg); };
    if (arg == "--kernel") {
      auto v = value();
      KSTEP_TRY(v);
      run.kernel = *v;
    } else if (arg == "--kernel-config") {
      auto v = value();
      KSTEP_TRY(v);
      run.kernel_config = *v;
    } else if (arg == "--agent") {
      auto v = value();
      KSTEP_TRY(v);
      run.agent = *v;
    } else if (arg == "--smp") {
      auto v = value();
      KSTEP_TRY(v);
      auto n = parse_unsigned(arg, *v, 1, 256);
      KSTEP_TRY(n);
      run.smp = *n;
      smp_given = true;
    } else if (arg == "--topology") {
      auto v = value();
      KSTEP_TRY(v);
      auto topology = parse_vm_topology(*v);
      KSTEP_TRY(topology);
      run.topology = *topology;
    } else if (arg == "--scenario") {
      auto v = value();
      KSTEP_TRY(v);
      run.scenario = *v;
    } else if (arg == "--memory") {
      auto v = value();
      KSTEP_TRY(v);
      auto n = parse_memory(arg, *v);
      KSTEP_TRY(n);
      run.memory_mib = *n;
    } else if (arg == "--append") {
      auto v = value();
      KSTEP_TRY(v);
      run.append += run.append.empty() ? *v : " " + *v;
    } else if (arg == "--timeout") {
      auto v = value();
      KSTEP_TRY(v);
      auto n = parse_unsigned(arg, *v, 1, 24 * 3600);
      KSTEP_TRY(n);
      run.timeout = std::chrono::seconds{*n};
    } else if (arg == "--accel") {
      auto v = value();
      KSTEP_TRY(v);
      if (*v == "auto") {
        run.accel = AccelChoice::kAuto;
      } else if (*v == "kvm") {
        run.accel = AccelChoice::kKvm;
      } else if (*v == "tcg") {
        run.accel = AccelChoice::kTcg;
      } else {
        return fail("--accel: '{}' is not one of auto, kvm, tcg", *v);
      }
    } else if (arg == "--run-dir") {
      auto v = value();
      KSTEP_TRY(v);
      run.run_dir = *v;
    } else if (arg == "--scheduler") {
      auto v = value();
      KSTEP_TRY(v);
      if (v->empty()) {
        return fail("--scheduler: give a path, a name in PATH or kstep-sched");
      }
      run.scheduler = *v;
    } else if (arg == "--sched-arg") {
      auto v = value();
      KSTEP_TRY(v);
      run.sched_args.push_back(*v);
    } else if (arg == "--attach-timeout") {
      auto v = value();
      KSTEP_TRY(v);
      auto n = parse_unsigned(arg, *v, 1, 3600);
      KSTEP_TRY(n);
      run.attach_timeout = std::chrono::seconds{*n};
    } else if (arg == "--json") {
      auto v = value();
      KSTEP_TRY(v);
      run.json = *v;
    } else if (arg == "--junit") {
      auto v = value();
      KSTEP_TRY(v);
      run.junit = *v;
    } else if (arg == "--bpf-write") {
      auto v = value();
      KSTEP_TRY(v);
      auto write = parse_bpf_write_flag(*v);
      if (!write) {
        return fail("--bpf-write: {}", write.error().message);
      }
      run.bpf_writes.push_back(std::move(*write));
    } else if (arg == "--accessor-timeout" || arg == "--map-write-timeout" || arg == "--map-write-gate") {
      auto v = value();
      KSTEP_TRY(v);
      auto n = parse_unsigned(arg, *v, 1, 3600);
      KSTEP_TRY(n);
      (arg == "--accessor-timeout"    ? run.accessor_timeout
       : arg == "--map-write-timeout" ? run.resolve_timeout
                                      : run.map_write_gate) = std::chrono::seconds{*n};
    } else if (arg == "--bisect") {
      run.bisect = true;
    } else if (arg == "--console") {
      run.console = true;
    } else {
      return fail("run: unknown option '{}'", arg);
    }
  }
  if (run.topology) {
    if (smp_given && run.smp != run.topology->cpus()) {
      return fail("--smp {} contradicts --topology, which has {} CPUs", run.smp, run.topology->cpus());
    }
    run.smp = run.topology->cpus();
  }
  if (!run.sched_args.empty() && !run.scheduler) {
    return fail("--sched-arg needs --scheduler");
  }
  if (run.scheduler && run.scenario == "none") {
    return fail("--scheduler needs a scenario to run under it; --scenario none only shakes hands");
  }
  return run;
}

Result<CliCommand> parse_kernel(ArgCursor& cursor) {
  if (cursor.done()) {
    return fail("kernel: give a subcommand: fetch or list");
  }
  const std::string sub = cursor.take();
  if (sub == "list") {
    if (!cursor.done()) {
      return fail("kernel list: unexpected argument '{}'", cursor.take());
    }
    return CliCommand{KernelListOptions{}};
  }
  if (sub == "fetch") {
    KernelFetchOptions fetch;
    while (!cursor.done()) {
      const std::string arg = cursor.take();
      if (arg != "--suite") {
        return fail("kernel fetch: unknown option '{}'", arg);
      }
      auto v = cursor.value_for(arg);
      KSTEP_TRY(v);
      fetch.suites.push_back(*v);
    }
    return CliCommand{fetch};
  }
  return fail("kernel: unknown subcommand '{}' (expected fetch or list)", sub);
}

}  // namespace

bool mentions_bisect(const std::vector<std::string>& args) {
  return std::find(args.begin(), args.end(), "--bisect") != args.end();
}

Result<CliArgs> parse_cli(const std::vector<std::string>& args) {
  ArgCursor cursor{args};
  CliArgs cli{.verbose = false, .command = RunOptions{}};
  while (!cursor.done()) {
    const std::string arg = cursor.take();
    if (arg == "-v" || arg == "--verbose") {
      cli.verbose = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "help") {
      cli.command = HelpOptions{};
      return cli;
    }
    if (arg == "--version" || arg == "version") {
      cli.command = VersionOptions{};
      return cli;
    }
    if (arg == "run") {
      auto run = parse_run(cursor);
      KSTEP_TRY(run);
      cli.command = std::move(run).value();
      return cli;
    }
    if (arg == "report") {
      if (cursor.done()) {
        return fail("report: give a run directory (or its result.json)");
      }
      ReportOptions report{cursor.take()};
      if (!cursor.done()) {
        return fail("report: unexpected argument '{}'", cursor.take());
      }
      cli.command = report;
      return cli;
    }
    if (arg == "compare") {
      CompareOptions compare;
      for (auto* side : {&compare.a, &compare.b}) {
        if (cursor.done()) {
          return fail("compare: give two runs (run directories or result.json files)");
        }
        *side = cursor.take();
      }
      if (!cursor.done()) {
        return fail("compare: unexpected argument '{}'", cursor.take());
      }
      cli.command = compare;
      return cli;
    }
    if (arg == "scenarios") {
      if (!cursor.done()) {
        return fail("scenarios: unexpected argument '{}'", cursor.take());
      }
      cli.command = ScenariosOptions{};
      return cli;
    }
    if (arg == "kernel") {
      auto command = parse_kernel(cursor);
      KSTEP_TRY(command);
      cli.command = std::move(command).value();
      return cli;
    }
    return fail("unknown command '{}' (try: kstep help)", arg);
  }
  return fail("no command given (try: kstep help)");
}

std::string usage_text() {
  return R"(usage: kstep [-v] COMMAND [OPTIONS]

commands:
  run                 boot a kernel with the kstep agent as PID 1 and run a scenario
  report RUN          re-render a saved result (a run directory or its result.json)
  compare A B         compare two saved results: step throughput, check details, verdicts
  scenarios           list the built-in scenarios
  kernel fetch        download the newest sched_ext Debian cloud kernel into the cache
  kernel list         list cached kernels (newest first)
  version             print the version
  help                this text

run options:
  --kernel SPEC          cached release (see kernel list) or path to a bzImage/vmlinux
                         (default: the newest cached kernel; fetched if the cache is empty)
  --kernel-config PATH   the kernel's .config (default: found beside the image)
  --agent PATH           boot this static binary as /init instead of kstep-init
  --scenario FILE|NAME   scenario file (protobuf text format) or built-in name (default
                         steady; `none` only boots and shakes hands)
  --smp N                virtual CPUs (default 2)
  --topology P,D,C,T[,N] packages, dies per package, cores per die, threads per core,
                         NUMA nodes (default: one package of --smp cores); one LLC per die
  --memory SIZE          guest memory, e.g. 512M or 2G (default 512M)
  --append ARGS          extra kernel command line (repeatable)
  --timeout SECONDS      hang timeout: no frame and no console output for this long (default 30)
  --accel auto|kvm|tcg   accelerator (default auto: KVM when /dev/kvm is usable)
  --scheduler PATH|NAME  attach this sched_ext scheduler for the whole scenario: a path, a
                         name in PATH, or kstep-sched (the bundled test scheduler)
  --sched-arg ARG        an argument for the scheduler (repeatable, in order)
  --attach-timeout SECONDS
                         budget from the scheduler's start to sched_ext "enabled" (default 20)
  --json FILE            write the result document there (JSON; every run directory has
                         it as result.json)
  --junit FILE           write the result as JUnit XML there
  --run-dir DIR          where logs and results go (default: a new dir under
                         $XDG_STATE_HOME/kstep/runs)
  --console              copy the guest console to stderr as it arrives
  --bisect               exit with git bisect run codes: 0 good, 1 bad, 125 skip, 128 abort
)";
}

}  // namespace kstep::host
