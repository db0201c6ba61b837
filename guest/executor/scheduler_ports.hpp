// The scheduler seam of the step executor: attaching a sched_ext scheduler
// and watching it for the whole scenario. The real implementation forks the
// binary and reads /sys/kernel/sched_ext and /dev/kmsg (guest/scheduler);
// unit tests pass fakes that die on cue.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "guest/executor/executor_ports.hpp"
#include "guest/scheduler/scheduler_exit.hpp"

namespace kstep::guest {

struct SchedulerRequest {
  std::string name;        // for reports: the PayloadDecl or --scheduler name
  std::string guest_path;  // the binary inside the guest
  std::vector<std::string> args;
  // From fork to /sys/kernel/sched_ext/state "enabled".
  std::chrono::milliseconds attach_timeout{20000};
};

// One attached scheduler process.
class Scheduler {
 public:
  // Detaches it if it still runs (SIGTERM, then SIGKILL) and reaps it.
  virtual ~Scheduler() = default;
  [[nodiscard]] virtual pid_t pid() const = 0;
  [[nodiscard]] virtual const SchedulerRequest& request() const = 0;
  [[nodiscard]] virtual std::string ops() const = 0;  // root/ops at attach
  [[nodiscard]] virtual std::chrono::microseconds attach_time() const = 0;
  // Blocks until `deadline` or until the scheduler dies (its process exits,
  // or the kernel disables it), whichever comes first: nullopt when it is
  // alive at the deadline. A deadline in the past checks without waiting.
  // Once dead, it returns the same death at once.
  [[nodiscard]] virtual std::optional<SchedulerDeath> wait_for_death(ExecutorClock::TimePoint deadline) = 0;
  // Called by wait_for_death the moment it sees the scheduler stop (with
  // CLOCK_MONOTONIC µs then), before it waits for the kernel's reason, which
  // the kernel logs only once it has finished disabling the scheduler.
  virtual void set_on_detected(std::function<void(std::uint64_t detected_us)> callback) = 0;
  // After a death: waits up to `budget` for the process to end on its own
  // and returns the death again, now with how the process ended (or that it
  // still runs; destroying the Scheduler then kills it). wait_for_death does
  // not wait for that, so that the death is reported at once.
  [[nodiscard]] virtual SchedulerDeath settle_death(std::chrono::milliseconds budget) = 0;
  // A clean detach: SIGTERM, wait for the kernel's "disabled" and the exit,
  // reap. An error if it had died before (wait_for_death tells how) or
  // would not go.
  [[nodiscard]] virtual Result<void> detach() = 0;
};

class SchedulerLauncher {
 public:
  virtual ~SchedulerLauncher() = default;
  // Starts the binary in its own cgroup and waits for the kernel to report
  // it attached. Each failure says which it was: the kernel lacks sched_ext,
  // another scheduler is attached, it died before attach (with its exit and
  // its stderr tail, which holds a verifier log), or it timed out.
  [[nodiscard]] virtual Result<std::unique_ptr<Scheduler>> attach(const SchedulerRequest& request) = 0;
};

}  // namespace kstep::guest
