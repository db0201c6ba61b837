// Checks: the scenario's thresholds (scenario.checks) applied to what a
// teardown collected. Pure: the same report always gives the same details.
//
//   starvation  a worker with 0 iterations over its life        STARVATION
//   max_gap_ms  a worker's longest gap between checkpoints       GAP
//   max_spread  (max - min) / max of iterations within a cgroup  UNFAIR
//   isolation   a worker ran on a CPU its cpusets never allowed  ISOLATION
//
// Isolation compares against `allowed` (every CPU the worker's cgroups
// allowed while it lived, so a SetCpuset or a move mid-step is not a
// violation); a worker that was ever unrestricted is not checked.
#pragma once

#include <cstdint>
#include <vector>

#include "guest/executor/scenario_state.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep::guest {

[[nodiscard]] std::vector<wire::Detail> evaluate_checks(const scenario::Checks& checks,
                                                        const wire::StepReport& report,
                                                        const AllowedCpus& allowed, std::uint32_t step,
                                                        std::uint32_t elapsed_ms);

}  // namespace kstep::guest
