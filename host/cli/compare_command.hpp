// `kstep compare A B`: two saved results (run directories or result.json
// files) side by side: both runs, the per-step throughput with its change,
// the check details only one side has, and the verdict change.
#pragma once

#include "host/cli/cli_args.hpp"
#include "host/session/outcome.hpp"

namespace kstep::host {

// Pass (exit 0) once both were read and compared, whatever their verdicts:
// the comparison is the product, not a verdict. An unreadable or foreign
// file is a usage error (exit 64) that names it, as for `kstep report`.
[[nodiscard]] Outcome compare_command(const CompareOptions& options);

}  // namespace kstep::host
