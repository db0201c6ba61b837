// Command-line options of kstep-sched, the bundled test scheduler's loader.
//
// Pure parsing, with no libbpf or skeleton dependency, so the unit tests link
// it on its own. Every failure names the offending option; the loader turns it
// into exit code 2.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace kstep::sched {

enum class SchedMode { kGlobal, kLocal };

[[nodiscard]] std::string_view mode_name(SchedMode mode);

// The kernel refuses ops.timeout_ms above this (SCX_WATCHDOG_MAX_TIMEOUT).
inline constexpr std::uint64_t kMaxWatchdogMs = 30'000;
// Busy-waiting longer than this in ops.dispatch only makes the guest unusable.
inline constexpr std::uint64_t kMaxSlowDispatchUs = 1'000'000;

struct SchedOptions {
  SchedMode mode = SchedMode::kGlobal;
  // Faults: 0 = off; times count from the scheduler's ops.init.
  std::uint64_t stall_after_ms = 0;
  std::uint64_t error_after_ms = 0;
  std::uint64_t exit_after_ms = 0;
  std::uint64_t slow_dispatch_us = 0;
  // ops.timeout_ms: how long a runnable task may wait before the kernel
  // ejects the scheduler. Short by default so stall tests end quickly.
  std::uint64_t watchdog_ms = 5'000;
  // Hidden test hook: load a program the verifier must reject.
  bool fail_verifier = false;
  bool help = false;

  friend bool operator==(const SchedOptions&, const SchedOptions&) = default;
};

// Parses the arguments after argv[0]. Accepts "--name value" and "--name=value".
[[nodiscard]] Result<SchedOptions> parse_sched_options(std::span<const char* const> args);

// The --help text (the hidden test options are left out).
[[nodiscard]] std::string sched_usage();

}  // namespace kstep::sched
