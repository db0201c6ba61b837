// Command-line grammar of kstep, parsed into plain option structs.
//
//   kstep [-v|--verbose] run [options]
//   kstep report RUN
//   kstep compare A B
//   kstep scenarios
//   kstep kernel fetch [--suite SUITE]...
//   kstep kernel list
//   kstep version | help
//
// Parsing is pure: a bad command line is an Error that names the argument,
// which main() turns into the usage-error outcome.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "host/vm/vm_topology.hpp"
#include "scenario.pb.h"

namespace kstep::host {

enum class AccelChoice { kAuto, kKvm, kTcg };

struct RunOptions {
  std::optional<std::string> kernel;  // cached release or image path
  std::optional<std::filesystem::path> kernel_config;
  std::optional<std::filesystem::path> agent;  // replaces kstep-init as /init
  // Scenario file or built-in name; "none" only shakes hands. Unset: the
  // default scenario, or a handshake when --agent replaces kstep-init.
  std::optional<std::string> scenario;
  unsigned smp = 2;                    // with a topology: its CPU count
  std::optional<VmTopology> topology;  // --topology
  unsigned memory_mib = 512;
  std::string append;                // extra kernel command line
  std::chrono::seconds timeout{30};  // inactivity timeout
  AccelChoice accel = AccelChoice::kAuto;
  bool bisect = false;
  bool console = false;  // echo the guest console
  std::optional<std::filesystem::path> run_dir;
  // A sched_ext scheduler binary (a path, a name in PATH, or the bundled
  // kstep-sched) attached for the whole scenario, and its arguments.
  std::optional<std::string> scheduler;
  std::vector<std::string> sched_args;
  std::chrono::seconds attach_timeout{20};     // fork to "enabled"
  std::optional<std::filesystem::path> json;   // --json FILE: the result document
  std::optional<std::filesystem::path> junit;  // --junit FILE
  // --bpf-write MAP.FIELD=VALUE, added to the scenario's bpf_writes.
  std::vector<scenario::BpfWrite> bpf_writes;
  std::chrono::seconds accessor_timeout{30};  // RunScenario to the map catalog
  std::chrono::seconds resolve_timeout{30};   // the catalog to every write resolved
  std::chrono::seconds map_write_gate{60};    // the guest's workload waiting for the writes
};

struct ReportOptions {
  std::filesystem::path run;  // a run directory or its result.json
};

struct CompareOptions {
  std::filesystem::path a;  // run directories or result.json files
  std::filesystem::path b;
};

struct KernelFetchOptions {
  std::vector<std::string> suites;  // empty: the default order
};

struct KernelListOptions {};
struct ScenariosOptions {};
struct VersionOptions {};
struct HelpOptions {};

using CliCommand = std::variant<RunOptions, KernelFetchOptions, KernelListOptions, ScenariosOptions,
                                VersionOptions, HelpOptions, ReportOptions, CompareOptions>;

struct CliArgs {
  bool verbose = false;
  CliCommand command;
};

// `args` excludes argv[0].
[[nodiscard]] Result<CliArgs> parse_cli(const std::vector<std::string>& args);

// Was --bisect given anywhere? Usage errors need this before a parse succeeds.
[[nodiscard]] bool mentions_bisect(const std::vector<std::string>& args);

[[nodiscard]] std::string usage_text();

}  // namespace kstep::host
