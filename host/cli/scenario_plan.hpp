// What a `kstep run` will ask the guest to do, settled before any VM starts:
// the scenario (loaded from a file or the built-ins and validated against
// the topology the VM will have) and the payload binaries to pack, with
// their shared libraries, and the sched_ext scheduler it runs under.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "host/cli/cli_args.hpp"
#include "host/initramfs/initramfs_archive.hpp"
#include "kstep.pb.h"

namespace kstep::host {

// The scenario a plain `kstep run` runs.
inline constexpr std::string_view kDefaultScenario = "steady";
// `--scheduler kstep-sched`, or a SCHEDULER payload with that path, names
// the bundled test scheduler.
inline constexpr std::string_view kBundledScheduler = "kstep-sched";
// Where the --scheduler binary is packed: /payloads/kstep-scheduler/NAME.
inline constexpr std::string_view kSchedulerBundle = "kstep-scheduler";

struct ScenarioPlan {
  std::optional<wire::RunScenario> run;  // nullopt: boot and shake hands only
  std::vector<InitramfsEntry> payload_entries;
  // The --scheduler or a scheduler op needs a kernel with sched_ext.
  bool needs_sched_ext = false;
  std::optional<std::filesystem::path> scheduler_binary;  // the --scheduler binary on this host
};

// Errors list every problem found ("file:line: field: message" per line);
// they are the user's to fix (usage error). `bundled_scheduler` is where
// kstep-sched was built (find_bundled_scheduler), if it was.
[[nodiscard]] Result<ScenarioPlan> plan_scenario(
    const RunOptions& options, const wire::Topology& topology,
    const std::optional<std::filesystem::path>& bundled_scheduler);

}  // namespace kstep::host
