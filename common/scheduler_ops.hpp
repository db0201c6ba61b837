// Which scenarios need a sched_ext scheduler of their own: the host checks
// the kernel for sched_ext before it sends one, the guest creates the
// schedulers' cgroup for it.
#pragma once

#include "scenario.pb.h"

namespace kstep {

// Does any op, in the backdrop or a step, attach, replace or restart a
// scheduler?
[[nodiscard]] bool uses_scheduler_ops(const scenario::Scenario& scenario);

}  // namespace kstep
