#include "host/session/outcome.hpp"

#include <array>

namespace kstep::host {
namespace {

struct OutcomeInfo {
  Outcome outcome;
  std::string_view name;
  int exit_code;
  int bisect_code;
  int severity;
};

// One table so names, codes and bisect mapping cannot drift apart.
constexpr std::array kOutcomes = {
    OutcomeInfo{Outcome::kPass, "pass", 0, 0, 0},
    OutcomeInfo{Outcome::kScenarioFailure, "scenario-failure", 1, 1, 40},
    OutcomeInfo{Outcome::kKernelPanic, "kernel-panic", 2, 1, 90},
    OutcomeInfo{Outcome::kGuestHang, "guest-hang", 3, 1, 70},
    OutcomeInfo{Outcome::kBootFailure, "boot-failure", 4, 1, 60},
    OutcomeInfo{Outcome::kSchedulerFailure, "scheduler-failure", 5, 1, 50},
    OutcomeInfo{Outcome::kKernelUnsupported, "kernel-unsupported", 7, 125, 45},
    OutcomeInfo{Outcome::kProtocolError, "protocol-error", 6, 125, 30},
    OutcomeInfo{Outcome::kUsageError, "usage-error", 64, 128, 10},
    OutcomeInfo{Outcome::kInfrastructureError, "infrastructure-error", 70, 125, 20},
    OutcomeInfo{Outcome::kInterrupted, "interrupted", 130, 128, 100},
};

const OutcomeInfo& info(Outcome outcome) noexcept {
  for (const auto& entry : kOutcomes) {
    if (entry.outcome == outcome) {
      return entry;
    }
  }
  __builtin_unreachable();
}

}  // namespace

std::string_view to_string(Outcome outcome) noexcept {
  return info(outcome).name;
}

std::optional<Outcome> outcome_from_string(std::string_view name) noexcept {
  for (const auto& entry : kOutcomes) {
    if (entry.name == name) {
      return entry.outcome;
    }
  }
  return std::nullopt;
}

int exit_code(Outcome outcome) noexcept {
  return info(outcome).exit_code;
}
int bisect_exit_code(Outcome outcome) noexcept {
  return info(outcome).bisect_code;
}
int severity(Outcome outcome) noexcept {
  return info(outcome).severity;
}

}  // namespace kstep::host
