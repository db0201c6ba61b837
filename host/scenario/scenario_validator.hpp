// Validating a scenario on the host, before any VM boots.
//
// The guest executor would find most of these mistakes too, but only after a
// boot of several seconds, one at a time, and far from the line that caused
// them. The validator walks the scenario the way the executor will run it
// (backdrop cgroups, backdrop ops, then per step: setup, ops, hold, teardown),
// tracking which cgroups and payloads exist at each point, and reports every
// problem it finds with the file, line and field path.
//
// The walk's order is the executor's (guest/executor/step_executor.cpp): a
// step applies its ops, then creates its setup cgroups, so its ops cannot
// name them; a loop step creates its setup first, then applies its ops
// every interval (the validator checks two rounds).
#pragma once

#include <string>
#include <vector>

#include "host/scenario/scenario_loader.hpp"
#include "kstep.pb.h"

namespace kstep::host {

struct ScenarioError {
  std::string origin;
  int line = 0;       // 1-based; 0 when neither the field nor any parent is in the source
  std::string field;  // "steps[1].setup[0].cpuset"; empty for the scenario as a whole
  std::string message;

  // "origin:line: field: message", leaving out what is unknown.
  [[nodiscard]] std::string describe() const;
};

// Every problem of `loaded` on `topology` (the machine the scenario will run
// on: cpusets and NUMA nodes are resolved against it), in source order of
// the walk. Empty when the scenario is valid.
[[nodiscard]] std::vector<ScenarioError> validate_scenario(const LoadedScenario& loaded,
                                                           const wire::Topology& topology);

// The errors' describe(), one per line.
[[nodiscard]] std::string describe_errors(const std::vector<ScenarioError>& errors);

}  // namespace kstep::host
