// ExecutorEnv: everything the step executor reaches outside itself, passed
// in so that unit tests can run it against fakes rooted in a temp dir.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "guest/cgroup/cgroup_fs.hpp"
#include "guest/executor/executor_ports.hpp"
#include "guest/executor/handshake_ports.hpp"
#include "guest/executor/scheduler_ports.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// What a handshake gate waits at most when it names no budget.
inline constexpr std::chrono::milliseconds kDefaultGateBudget{60000};

struct ExecutorEnv {
  CgroupFs& cgroups;
  WorkerLauncher& workers;
  PayloadLauncher& payloads;
  ExecutorClock& clock;
  FrameSink& sink;
  wire::Topology topology;                           // what cpusets resolve against
  std::map<std::string, std::string> payload_paths;  // PayloadDecl.name -> path in the guest
  // How long stopped workers get to report before they are SIGKILLed.
  std::chrono::milliseconds worker_stop_grace{2000};
  // Runs the scheduler ops; null: an agent without scheduler support.
  SchedulerLauncher* schedulers = nullptr;
  // The scheduler the whole scenario runs under (kstep run --scheduler):
  // attached before the backdrop, detached after it. nullopt: the kernel's
  // default scheduler.
  std::optional<SchedulerRequest> scheduler;
  // Attach budget of the scheduler ops.
  std::chrono::milliseconds scheduler_attach_timeout{20000};
  // The host's map handshakes; null: no host (the gates warn and go on).
  HostHandshake* handshake = nullptr;
  // The host queued BPF map writes: once the scenario's scheduler attached,
  // the workload waits for them to land, up to map_write_gate.
  bool await_map_write = false;
  std::chrono::milliseconds map_write_gate{kDefaultGateBudget};
};

}  // namespace kstep::guest
