// What a finished scenario run leaves behind: the per-step table printed at
// the end of `kstep run`, and the files in the run directory
// (scenario.textproto: what ran; steps.txt: the table; reports.txt: every
// StepReport and the ScenarioEnd in protobuf text format).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "host/session/scenario_record.hpp"
#include "result.pb.h"

namespace kstep::host {

// Every step of the scenario, paired from its StepStart and StepEnd frames
// (steps the guest never started are there, not started).
[[nodiscard]] std::vector<result::StepResult> step_results(const scenario::Scenario& scenario,
                                                           const ScenarioRecord& record);

// One row per step: number, name, hold, iterations, throughput, workers,
// details. Steps the guest never started are shown as such.
[[nodiscard]] std::string render_step_table(const std::vector<result::StepResult>& steps);
[[nodiscard]] std::string render_step_table(const scenario::Scenario& scenario, const ScenarioRecord& record);

[[nodiscard]] Result<void> write_scenario_files(const std::filesystem::path& run_dir,
                                                const scenario::Scenario& scenario,
                                                const ScenarioRecord& record);

}  // namespace kstep::host
