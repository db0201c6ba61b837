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
// (disabling or disabled). Death detection then gathers the kernel's
// record and the process's exit for a bounded time and classifies them
// (scheduler_exit.hpp).
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
  // kmsg timestamps minus CLOCK_MONOTONIC, measured once (see
  // calibrate_kmsg_clock); nullopt until then or if it failed.
  std::optional<std::int64_t> kmsg_offset_us_;
  bool calibrated_ = false;
};

// CLOCK_MONOTONIC in µs.
[[nodiscard]] std::uint64_t monotonic_us() noexcept;

// Writes a marker to `kmsg` and reads back its timestamp: the offset of the
// kernel log's clock (local_clock) from CLOCK_MONOTONIC, in µs, to within
// the write's own duration. Lets kernel_disabled_us and detected_us share
// one clock.
[[nodiscard]] Result<std::int64_t> calibrate_kmsg_clock(const std::filesystem::path& kmsg);

}  // namespace kstep::guest
