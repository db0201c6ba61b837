// A worker's scheduling and memory settings.
//
// The agent turns scenario::Workers into a SettingsPlan before forking:
// validation and every allocation happen there, and the failure is a plain
// Result naming the field. The forked worker then applies the plan to itself
// with raw system calls only (it may be the child of a multithreaded agent,
// so it must stay async-signal-safe) and reports a failure as a SetupStep
// plus errno, which the agent turns back into a message.
//
// Memory policy goes through the raw set_mempolicy syscall; the constants are
// the kernel's (include/uapi/linux/mempolicy.h), defined here because
// <numaif.h> belongs to libnuma, which the static agent does not link.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "guest/workers/shared_region.hpp"
#include "scenario.pb.h"

namespace kstep::guest::workers {

// Node ids a memory policy may name (the kernel's largest MAX_NUMNODES).
inline constexpr unsigned kMaxNodes = 1024;

namespace mpol {
inline constexpr int kDefault = 0;
inline constexpr int kPreferred = 1;
inline constexpr int kBind = 2;
inline constexpr int kInterleave = 3;
inline constexpr int kLocal = 4;
inline constexpr int kPreferredMany = 5;
inline constexpr int kWeightedInterleave = 6;
inline constexpr int kFlagStaticNodes = 1 << 15;
inline constexpr int kFlagRelativeNodes = 1 << 14;
inline constexpr int kFlagNumaBalancing = 1 << 13;
}  // namespace mpol

struct SettingsPlan {
  scenario::SchedPolicy policy = scenario::NORMAL;  // never UNSPECIFIED
  int kernel_policy = 0;                            // SCHED_OTHER, ...
  int rt_priority = 0;                              // sched_priority (FIFO, RR)
  int nice = 0;
  bool apply_nice = false;  // NORMAL and BATCH

  bool apply_mempolicy = false;
  int mempolicy_mode = 0;   // mpol::k* mode
  int mempolicy_flags = 0;  // mpol::kFlag* bits
  // set_mempolicy's nodemask and maxnode (bits in the mask + 1, as the
  // kernel counts; 0 with no nodes).
  unsigned long nodemask[kMaxNodes / (8 * sizeof(unsigned long))] = {};
  unsigned long maxnode = 0;
};

// Validates `config` (nice -20..19 for NORMAL/BATCH only, rt_priority 1..99
// for FIFO/RR only with 0 meaning 1, node ids below kMaxNodes, flags the
// kernel accepts together) and resolves it to system call arguments.
[[nodiscard]] Result<SettingsPlan> plan_settings(const scenario::Workers& config);

struct SetupFailure {
  SetupStep step = SetupStep::kNone;
  int error = 0;  // errno
  [[nodiscard]] bool failed() const noexcept { return step != SetupStep::kNone; }
};

// In the worker, after fork: applies the plan to the calling process.
// Async-signal-safe.
[[nodiscard]] SetupFailure apply_settings(const SettingsPlan& plan) noexcept;

// "sched_setscheduler(SCHED_FIFO, priority 1): Operation not permitted".
// Only for the steps apply_settings() takes.
[[nodiscard]] std::string describe_setup_failure(const SettingsPlan& plan, SetupFailure failure);

}  // namespace kstep::guest::workers
