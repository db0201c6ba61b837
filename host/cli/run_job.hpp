// `kstep run`: kernel -> initramfs -> VM session -> outcome, printed and
// written to the run directory.
#pragma once

#include "host/cli/cli_args.hpp"
#include "host/cli/host_context.hpp"
#include "host/session/outcome.hpp"

namespace kstep::host {

// Runs the job and returns its outcome; everything the user needs to know
// has been printed (and logged to the run directory) by then.
[[nodiscard]] Outcome run_job(const RunOptions& options, const HostContext& context);

}  // namespace kstep::host
