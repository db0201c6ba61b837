// The outcome classes of a run and the exit codes they map to.
//
// Every run ends in exactly one outcome. The exit codes are part of kstep's
// interface (README "Outcomes and exit codes"): scripts and CI act on them.
// With --bisect they are mapped onto `git bisect run`'s convention instead.
#pragma once

#include <optional>
#include <string_view>

namespace kstep::host {

enum class Outcome {
  kPass,
  kScenarioFailure,
  kKernelPanic,  // panic, Oops, BUG, WARNING, lockups, RCU stalls
  kGuestHang,    // no frame and no console output for --timeout
  kBootFailure,  // the guest never said Hello
  kSchedulerFailure,
  kKernelUnsupported,  // the kernel lacks what the run needs (sched_ext for a scheduler)
  kProtocolError,
  kUsageError,
  kInfrastructureError,
  kInterrupted,  // SIGINT / SIGTERM
};

[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;
[[nodiscard]] std::optional<Outcome> outcome_from_string(std::string_view name) noexcept;

// The process exit code of a normal run.
[[nodiscard]] int exit_code(Outcome outcome) noexcept;

// The exit code under --bisect: 0 good, 1 bad, 125 skip (not a verdict on
// the kernel under test), 128 abort the bisection (the command itself is
// wrong or the user interrupted it; skipping every commit would hide that).
[[nodiscard]] int bisect_exit_code(Outcome outcome) noexcept;

// When two things go wrong in one run (a panic that also cuts the protocol
// stream short), the more specific verdict on the kernel wins.
[[nodiscard]] int severity(Outcome outcome) noexcept;

}  // namespace kstep::host
