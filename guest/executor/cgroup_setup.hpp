// Creating what a scenario runs: cgroups (empty or from a CgroupDef), worker
// groups and payloads, each tracked in the ScenarioState for the phase's
// owner the moment it exists, so that a failure half-way through still
// tears down whatever was created.
//
// A CgroupDef is applied in the order its parts depend on each other:
// create the directory, write its knobs (the cpuset resolved against the
// guest's topology), spawn its workers, start its payload.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.hpp"
#include "guest/executor/run_context.hpp"
#include "scenario.pb.h"

namespace kstep::guest {

// Upper bound of a worker group: a cpu_pct typo must not fork-bomb the guest.
inline constexpr unsigned kMaxWorkersPerGroup = 65536;

// Creates and tracks a cgroup. A name tracked by either owner, or already a
// directory, is refused; the parent of a nested cgroup must be tracked. The
// scenario's controllers are enabled in the parent's subtree_control (the
// root's for a top-level cgroup) first, so the new cgroup has its knobs.
[[nodiscard]] Result<void> add_cgroup(RunContext& run, const Phase& phase, const std::string& name);

[[nodiscard]] Result<void> apply_cgroup_def(RunContext& run, const Phase& phase,
                                            const scenario::CgroupDef& def);

// `workers` exactly, or ceil(cpu_pct% of `cpus`), at least 1.
[[nodiscard]] Result<unsigned> resolve_worker_count(const scenario::Workers& workers, std::size_t cpus);

// Workers into the tracked `cgroup`; cpu_pct counts its effective cpuset,
// else every CPU of the topology.
[[nodiscard]] Result<void> spawn_workers(RunContext& run, const Phase& phase, const std::string& cgroup,
                                         const scenario::Workers& workers);

// A declared payload, in `cgroup` ("" leaves the placement to the launcher:
// the scenario's root).
[[nodiscard]] Result<void> start_payload(RunContext& run, const Phase& phase, const std::string& cgroup,
                                         const scenario::PayloadRun& payload_run);

}  // namespace kstep::guest
