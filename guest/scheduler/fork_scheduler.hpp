// ForkSchedulerLauncher: runs sched_ext scheduler binaries in the guest and
// watches them for the whole scenario.
//
// The binary is started like a payload (its own process group, output
// streamed to the host as PayloadOutput frames marked `scheduler`), in its
// own cgroup outside the scenario's tree, and attach waits until the kernel
// says so: /sys/kernel/sched_ext/state is "enabled" and root/ops names it.
//
// Liveness waits on three things at once, so a death ends a hold at once:
// the process's pidfd (it exited), /dev/kmsg (the kernel logged the
// disable, which it always does) and, every kStatePoll, the state file
// (disabling or disabled). Death detection then classifies the death from
// the kernel's record (scheduler_exit.hpp) without waiting for the process
// to exit, so the death is reported at once. The state file says
// "disabling" as the kernel starts to disable; the kernel logs its
// "disabled" line only when done, which can be tens of ms later under TCG.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "guest/executor/scheduler_ports.hpp"

namespace kstep::guest {

// The state file is re-read this often while waiting: the fallback for a
// disable whose kmsg record is not out yet.
inline constexpr std::chrono::milliseconds kStatePoll{10};

struct SchedExtPaths {
  std::filesystem::path sys_root{"/sys"};  // holds kernel/sched_ext
  std::filesystem::path kmsg{"/dev/kmsg"};
};

class ForkSchedulerLauncher final : public SchedulerLauncher {
 public:
  // `processes` starts the binaries (placing them in the scheduler's
  // cgroup); it must outlive every scheduler this launcher attaches.
  ForkSchedulerLauncher(PayloadLauncher& processes, SchedExtPaths paths)
      : processes_(processes), paths_(std::move(paths)) {}

  [[nodiscard]] Result<std::unique_ptr<Scheduler>> attach(const SchedulerRequest& request) override;

 private:
  PayloadLauncher& processes_;
  SchedExtPaths paths_;
};

// CLOCK_MONOTONIC in µs: the clock of SchedulerDeath::detected_us, shared
// with bpf_ktime_get_ns() in BPF schedulers.
[[nodiscard]] std::uint64_t monotonic_us() noexcept;

}  // namespace kstep::guest
