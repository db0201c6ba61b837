// `kstep report RUN`: re-renders a saved result (a run directory or its
// result.json) as `kstep run` printed it, and exits with its outcome's code.
#pragma once

#include "host/cli/cli_args.hpp"
#include "host/session/outcome.hpp"

namespace kstep::host {

// An unreadable or foreign file is a usage error that names it.
[[nodiscard]] Outcome report_command(const ReportOptions& options);

}  // namespace kstep::host
