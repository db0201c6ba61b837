// Why a sched_ext scheduler stopped, from what the kernel exposes.
//
// On every disable the kernel logs
//   sched_ext: BPF scheduler "NAME" disabled (REASON)
// and, for error exits, a second line "sched_ext: NAME: MESSAGE" (for a
// stall: which task failed to run for how long). REASON is the kernel's
// scx_exit_reason(): the unregister reasons and sysrq are clean exits, a
// "runnable task stall" is the watchdog, every other reason is an error.
// The process's own exit (code or signal) is added to the message; it does
// not override the kernel's verdict, and without a kernel record the death
// is unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest/scheduler/kmsg.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// The kernel's account of one disable.
struct KernelDisable {
  std::string ops;      // the scheduler's ops name
  std::string reason;   // "runnable task stall", "scx_bpf_error", "unregistered from user space", ...
  std::string message;  // the error line, if the kernel logged one
  std::uint64_t timestamp_us = 0;
};

// How the scheduler process ended, if it did.
struct ProcessEnd {
  int exit_code = 0;  // valid when signal == 0
  int signal = 0;
};

struct SchedulerDeath {
  wire::Detail::Kind kind = wire::Detail::SCHEDULER_DIED_UNKNOWN;
  std::string message;
  std::uint64_t kernel_disabled_us = 0;  // the kernel log's clock, µs since boot; 0 without a record
  std::uint64_t detected_us = 0;         // CLOCK_MONOTONIC µs when the agent saw it
};

// The last disable in `records` (lines that are not sched_ext's are skipped).
[[nodiscard]] std::optional<KernelDisable> find_kernel_disable(const std::vector<KmsgRecord>& records);

// SCHEDULER_STALLED, _EXITED, _CRASHED or _DIED_UNKNOWN for a REASON.
[[nodiscard]] wire::Detail::Kind kind_of_reason(std::string_view reason);

// "exited with code 1", "was killed by SIGSEGV": a predicate for "it ..."
// and "the scheduler process ...".
[[nodiscard]] std::string describe_process_end(const ProcessEnd& end);

[[nodiscard]] SchedulerDeath classify_death(const std::optional<KernelDisable>& disable,
                                            const std::optional<ProcessEnd>& process);

}  // namespace kstep::guest
