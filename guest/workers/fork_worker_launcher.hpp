// ForkWorkerLauncher: the real WorkerLauncher, forking one process per worker.
//
// spawn() validates the request, forks every worker, hands each pid to
// `place` (the agent moves it into the request's cgroup by writing
// cgroup.procs) while the worker waits at a gate, and releases the group only
// when every worker is placed and has applied its own scheduling policy,
// nice and memory policy. So no worker runs a single iteration outside its
// cgroup or with the wrong settings: a failure at any stage kills and reaps
// the group and spawn() returns an error naming the cgroup, the worker and
// the system call.
//
// See fork_worker_group.hpp (the agent's side), worker_process.hpp (the
// worker's life) and work_loops.hpp (what each WorkType does).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "guest/executor/executor_ports.hpp"

namespace kstep::guest {

class ForkWorkerLauncher final : public WorkerLauncher {
 public:
  using Place = std::function<Result<void>(pid_t pid, const std::string& cgroup)>;

  // How long workers may take to apply their settings once placed. Generous:
  // under TCG and a scheduler under test, a few system calls can take long.
  static constexpr std::chrono::milliseconds kSetupTimeout{10'000};

  explicit ForkWorkerLauncher(Place place) : place_(std::move(place)) {}

  [[nodiscard]] Result<std::unique_ptr<WorkerGroup>> spawn(const WorkerRequest& request) override;

 private:
  Place place_;
};

}  // namespace kstep::guest
