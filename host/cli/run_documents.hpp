// The result documents of `kstep run`: the run's metadata, filled in as its
// parts are settled, and the files made from the assembled result:
// result.json in the run directory, --json FILE and --junit FILE. A run that
// fails before its run directory exists still writes --json and --junit.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "host/cli/cli_args.hpp"
#include "host/cli/run_kernel.hpp"
#include "host/cli/scenario_plan.hpp"
#include "result.pb.h"

namespace kstep::host {

// kstep's version, this host's name and the start time.
[[nodiscard]] result::RunMetadata start_metadata(std::chrono::system_clock::time_point started);
// The scenario and scheduler (with their hashes) from the plan.
void add_plan(result::RunMetadata& metadata, const ScenarioPlan& plan);
// The kernel's release, image and config hash.
void add_kernel(result::RunMetadata& metadata, const RunKernel& kernel);

// Writes result.json into `run_dir` (when there is one) and the files the
// options ask for; a file that cannot be written is a warning, not a
// different outcome.
void write_documents(const RunOptions& options, const result::RunResult& result,
                     const std::optional<std::filesystem::path>& run_dir);

}  // namespace kstep::host
