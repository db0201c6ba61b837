#include "host/session/classify.hpp"

#include <fmt/format.h>

namespace kstep::host {

Classification classify(const SessionFacts& facts) {
  // Precedence: the user's interrupt first (nothing else is a verdict then),
  // then evidence from the kernel itself, then what the agent and the wire
  // said, then how the VM ended.
  if (facts.interrupted) {
    return {Outcome::kInterrupted, "interrupted by signal; the VM was stopped"};
  }
  if (!facts.splats.empty()) {
    const Splat& first = facts.splats.front();
    return {Outcome::kKernelPanic, fmt::format("{} on the console (line {}): {}", to_string(first.kind),
                                               first.line_number, first.line)};
  }
  if (facts.protocol_error) {
    return {Outcome::kProtocolError, *facts.protocol_error};
  }
  if (facts.inactivity_timeout) {
    return {Outcome::kGuestHang,
            facts.hello_received
                ? "the guest went silent: no frame and no console output within the timeout"
                : "the guest hung during boot: no frame and no console output within the timeout"};
  }
  if (facts.ignored_shutdown) {
    return {Outcome::kGuestHang, "the guest did not power off after Shutdown"};
  }
  if (!facts.hello_received) {
    if (facts.guest_fatal) {
      return {Outcome::kBootFailure, fmt::format("the agent failed before Hello: {}", *facts.guest_fatal)};
    }
    if (facts.qemu_failure && !facts.console_output_seen) {
      return {Outcome::kInfrastructureError, *facts.qemu_failure};
    }
    return {Outcome::kBootFailure, "the VM stopped before the agent said Hello"};
  }
  if (facts.kernel_unsupported) {
    return {Outcome::kKernelUnsupported, *facts.kernel_unsupported};
  }
  if (facts.guest_fatal) {
    return {Outcome::kInfrastructureError, fmt::format("the agent failed: {}", *facts.guest_fatal)};
  }
  // A dead scheduler usually fails checks too; its death is the cause.
  if (facts.scheduler_failure) {
    return {Outcome::kSchedulerFailure, *facts.scheduler_failure};
  }
  if (facts.scenario_failure) {
    return {Outcome::kScenarioFailure, fmt::format("the scenario failed: {}", *facts.scenario_failure)};
  }
  if (!facts.shutdown_sent) {
    return {Outcome::kScenarioFailure, "the guest powered off before the host asked it to"};
  }
  return {Outcome::kPass, "the guest ran and shut down cleanly"};
}

}  // namespace kstep::host
