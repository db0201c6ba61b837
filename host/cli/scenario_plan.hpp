// What a `kstep run` will ask the guest to do, settled before any VM starts:
// the scenario (loaded from a file or the built-ins and validated against
// the topology the VM will have) and the payload binaries to pack, with
// their shared libraries.
#pragma once

#include <optional>
#include <vector>

#include "common/result.hpp"
#include "host/cli/cli_args.hpp"
#include "host/initramfs/initramfs_archive.hpp"
#include "kstep.pb.h"

namespace kstep::host {

// The scenario a plain `kstep run` runs.
inline constexpr std::string_view kDefaultScenario = "steady";

struct ScenarioPlan {
  std::optional<wire::RunScenario> run;  // nullopt: boot and shake hands only
  std::vector<InitramfsEntry> payload_entries;
};

// Errors list every problem found ("file:line: field: message" per line);
// they are the user's to fix (usage error).
[[nodiscard]] Result<ScenarioPlan> plan_scenario(const RunOptions& options, const wire::Topology& topology);

}  // namespace kstep::host
