// The scenario process's body: the step executor wired to the real kernel.
//
// Runs in the child the agent forks per RunScenario (scenario_process.hpp):
// reads the topology from sysfs, prepares the kstep cgroup root with the
// controllers the scenario needs, forks workers and payloads into it, and
// writes every frame to `frames_fd`.
#pragma once

#include "guest/hello.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// Name of the directory under the cgroup2 mount that holds every scenario
// cgroup; recreated for each run.
inline constexpr std::string_view kScenarioCgroupRoot = "kstep";
// The cgroup schedulers run in: beside the scenario's tree, not in it, so
// no scenario op can move, freeze or remove it.
inline constexpr std::string_view kSchedulerCgroup = "kstep-scheduler";

// Exit status: 0 when the scenario passed, 1 when it failed (the frames say
// why), 2 when it could not run at all (a FatalError-like Log and a failed
// ScenarioEnd say why).
[[nodiscard]] int run_scenario_child(const wire::RunScenario& run, int frames_fd, const SystemRoots& roots);

}  // namespace kstep::guest
