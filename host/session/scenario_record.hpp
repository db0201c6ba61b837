// ScenarioRecord: the scenario frames of one run, checked for order as they
// arrive.
//
// The executor's contract (proto/kstep.proto): ScenarioStart; StepStart 0
// (the baseline); per step k = 1..n: StepStart, then ScenarioResume and
// ScenarioPause around each hold (a loop step may hold several times),
// StepEnd, StepReport; finally ScenarioEnd, whose (step, elapsed,
// iterations) repeats the last StepEnd's. A scenario that cannot start sends
// ScenarioEnd alone. A failed step may stop early, so
// later frames of a step may be missing (a step whose ops failed sends only
// its StepReport), but none may repeat, go back to an earlier step, or
// precede what it depends on; and a failed step ends the scenario, so the
// next StepStart needs the previous step's StepEnd and StepReport, and a
// passed ScenarioEnd needs them for every step that started. Each violation
// is an error that names the frame, the step and what was expected, which
// the session reports as a protocol error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "kstep.pb.h"

namespace kstep::host {

struct StepRecord {
  std::uint32_t step = 0;
  std::optional<wire::StepStart> start;
  std::vector<wire::ScenarioResume> resumes;
  std::vector<wire::ScenarioPause> pauses;
  std::optional<wire::StepEnd> end;
  std::optional<wire::StepReport> report;
};

// Iterations per second over a step's holds: from StepStart's total to
// StepEnd's, over the time from the first resume to StepEnd.
[[nodiscard]] std::optional<double> step_throughput(const StepRecord& step);

class ScenarioRecord {
 public:
  // Takes one scenario frame (ScenarioStart .. ScenarioEnd, StepReport).
  [[nodiscard]] Result<void> add(const wire::GuestMessage& message);

  [[nodiscard]] const std::optional<wire::ScenarioStart>& start() const noexcept { return start_; }
  [[nodiscard]] const std::optional<wire::StepStart>& baseline() const noexcept { return baseline_; }
  [[nodiscard]] const std::vector<StepRecord>& steps() const noexcept { return steps_; }
  [[nodiscard]] const std::optional<wire::ScenarioEnd>& end() const noexcept { return end_; }

 private:
  Result<void> add_step_start(const wire::StepStart& frame);
  Result<void> add_resume(const wire::ScenarioResume& frame);
  Result<void> add_pause(const wire::ScenarioPause& frame);
  Result<void> add_step_end(const wire::StepEnd& frame);
  Result<void> add_report(const wire::StepReport& frame);
  Result<void> add_end(const wire::ScenarioEnd& frame);
  Result<void> check_elapsed(const char* frame, std::uint32_t elapsed_ms);
  // Step `step` may begin (its StepStart, or the StepReport of a step that
  // failed before its StepStart): it is the next one, after the baseline and
  // a previous step that ended and reported.
  Result<void> check_next_step(const char* frame, std::uint32_t step);
  Result<void> check_passed_end() const;
  // The record of step `step`, which must be the current one.
  Result<StepRecord*> current(const char* frame, std::uint32_t step);

  std::optional<wire::ScenarioStart> start_;
  std::optional<wire::StepStart> baseline_;
  std::vector<StepRecord> steps_;
  std::optional<wire::ScenarioEnd> end_;
  std::uint32_t last_elapsed_ms_ = 0;
};

}  // namespace kstep::host
