// Checks of what a cgroup carries: its definition's knobs, its workers
// (count, policy, memory policy) and the payload runs started in it.
// Internal to the scenario validator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "host/scenario/scenario_names.hpp"
#include "host/scenario/validation_context.hpp"
#include "scenario.pb.h"

namespace kstep::host {

// Where workers land: the CPUs and memory nodes their cgroup allows.
struct Placement {
  std::vector<unsigned> cpus;
  std::vector<unsigned> mems;
};

// Checks `def` and defines its cgroup in `names` (when the name is usable),
// then checks its workers and starts its payload.
void check_cgroup_def(const ValidationContext& ctx, ScenarioNames& names, Scope scope,
                      const scenario::CgroupDef& def, const std::string& path);

void check_workers(const ValidationContext& ctx, const scenario::Workers& workers, const Placement& placement,
                   const std::string& path);

// Checks a payload run and registers its id. `cgroup` is where it runs
// ("" for the scenario's root cgroup).
void check_payload_run(const ValidationContext& ctx, ScenarioNames& names, Scope scope,
                       const scenario::PayloadRun& run, std::string_view cgroup, const std::string& path);

// The placement of the live cgroup `name`; all CPUs and nodes when it is not
// live (its lookup error is reported elsewhere).
[[nodiscard]] Placement placement_of(const ValidationContext& ctx, const ScenarioNames& names,
                                     std::string_view name, bool live);

}  // namespace kstep::host
