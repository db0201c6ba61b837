// The values of cgroup v2 knobs, checked and formatted the way the kernel
// takes them.
//
// Shared by the host, which rejects a bad scenario before booting a VM, and
// the guest, which writes the same strings into the cgroup files. The limits
// are the kernel's own (kernel/sched/core.c, kernel/cgroup/pids.c), so a
// value that passes here is one the kernel accepts, and the error names the
// value and the allowed range instead of the kernel's bare EINVAL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "scenario.pb.h"

namespace kstep {

// Bytes: decimal digits with an optional binary suffix K, M, G or T (1K =
// 1024; lower case accepted, as the kernel's memparse does). "max" is not a
// size: see memory_knob_value. Values that do not fit 64 bits are errors.
[[nodiscard]] Result<std::uint64_t> parse_memory_size(std::string_view text);

// memory.max/high/low and memory.swap.max: "max", or the size in bytes as a
// decimal string ("64M" -> "67108864").
[[nodiscard]] Result<std::string> memory_knob_value(std::string_view text);

// pids.max: "max", or a positive count up to the kernel's PID_MAX_LIMIT.
[[nodiscard]] Result<std::string> pids_knob_value(std::string_view text);

// cpu.max as "<quota_us> <period_us>". quota_pct p is p% of one CPU over a
// 100000 us period (quota p * 1000 us, rounded). The kernel wants a period
// of 1000..1000000 us and a quota of at least 1000 us. An unset CpuMax is
// an error: the caller decides whether the knob is written at all.
[[nodiscard]] Result<std::string> cpu_max_knob_value(const scenario::CpuMax& cpu_max);

// cpu.weight and io.weight: 1..10000. `knob` names the field in the error.
// 0 means "unset" in a scenario; callers skip it before asking.
[[nodiscard]] Result<void> check_weight(std::uint32_t weight, std::string_view knob);

}  // namespace kstep
