#include "host/session/scenario_record.hpp"

namespace kstep::host {

std::optional<double> step_throughput(const StepRecord& step) {
  if (!step.start || !step.end || step.resumes.empty()) {
    return std::nullopt;
  }
  const auto from_ms = step.resumes.front().elapsed_ms();
  const auto to_ms = step.end->elapsed_ms();
  if (to_ms <= from_ms || step.end->iterations() < step.start->total_iterations()) {
    return std::nullopt;
  }
  return static_cast<double>(step.end->iterations() - step.start->total_iterations()) * 1000.0 /
         static_cast<double>(to_ms - from_ms);
}

Result<void> ScenarioRecord::add(const wire::GuestMessage& message) {
  if (end_) {
    return fail("{} after ScenarioEnd",
                message.GetDescriptor()->FindFieldByNumber(message.body_case())->name());
  }
  // A scenario that could not start at all (or whose process died) ends
  // with ScenarioEnd alone.
  if (!start_ && !message.has_scenario_start() && !message.has_scenario_end()) {
    return fail("{} before ScenarioStart",
                message.GetDescriptor()->FindFieldByNumber(message.body_case())->name());
  }
  switch (message.body_case()) {
    case wire::GuestMessage::kScenarioStart:
      if (start_) {
        return fail("a second ScenarioStart");
      }
      start_ = message.scenario_start();
      return {};
    case wire::GuestMessage::kStepStart: return add_step_start(message.step_start());
    case wire::GuestMessage::kScenarioResume: return add_resume(message.scenario_resume());
    case wire::GuestMessage::kScenarioPause: return add_pause(message.scenario_pause());
    case wire::GuestMessage::kStepEnd: return add_step_end(message.step_end());
    case wire::GuestMessage::kStepReport: return add_report(message.step_report());
    case wire::GuestMessage::kScenarioEnd: return add_end(message.scenario_end());
    default: break;
  }
  return fail("{} is not a scenario frame",
              message.GetDescriptor()->FindFieldByNumber(message.body_case())->name());
}

Result<void> ScenarioRecord::check_elapsed(const char* frame, std::uint32_t elapsed_ms) {
  if (elapsed_ms < last_elapsed_ms_) {
    return fail("{} at {} ms goes back in time: an earlier frame was at {} ms", frame, elapsed_ms,
                last_elapsed_ms_);
  }
  last_elapsed_ms_ = elapsed_ms;
  return {};
}

Result<StepRecord*> ScenarioRecord::current(const char* frame, std::uint32_t step) {
  if (steps_.empty() || steps_.back().step != step) {
    return fail("{} for step {} without its StepStart (current step: {})", frame, step,
                steps_.empty() ? std::string{"none"} : std::to_string(steps_.back().step));
  }
  return &steps_.back();
}

Result<void> ScenarioRecord::add_step_start(const wire::StepStart& frame) {
  KSTEP_TRY(check_elapsed("StepStart", frame.elapsed_ms()));
  if (frame.step() == 0) {
    if (baseline_ || !steps_.empty()) {
      return fail("a second baseline StepStart (step 0)");
    }
    baseline_ = frame;
    return {};
  }
  const std::uint32_t expected = steps_.empty() ? 1 : steps_.back().step + 1;
  if (frame.step() != expected) {
    return fail("StepStart for step {} where step {} was expected", frame.step(), expected);
  }
  if (start_->steps() != 0 && frame.step() > start_->steps()) {
    return fail("StepStart for step {} of a scenario with {} steps", frame.step(), start_->steps());
  }
  StepRecord record;
  record.step = frame.step();
  record.start = frame;
  steps_.push_back(std::move(record));
  return {};
}

Result<void> ScenarioRecord::add_resume(const wire::ScenarioResume& frame) {
  KSTEP_TRY(check_elapsed("ScenarioResume", frame.elapsed_ms()));
  auto step = current("ScenarioResume", frame.step());
  if (!step) {
    return Unexpected{std::move(step).error()};
  }
  if ((*step)->end || (*step)->resumes.size() != (*step)->pauses.size()) {
    return fail("ScenarioResume for step {} {}", frame.step(),
                (*step)->end ? "after its StepEnd" : "while it is already resumed");
  }
  (*step)->resumes.push_back(frame);
  return {};
}

Result<void> ScenarioRecord::add_pause(const wire::ScenarioPause& frame) {
  KSTEP_TRY(check_elapsed("ScenarioPause", frame.elapsed_ms()));
  auto step = current("ScenarioPause", frame.step());
  if (!step) {
    return Unexpected{std::move(step).error()};
  }
  if ((*step)->resumes.size() != (*step)->pauses.size() + 1) {
    return fail("ScenarioPause for step {} without a ScenarioResume before it", frame.step());
  }
  (*step)->pauses.push_back(frame);
  return {};
}

Result<void> ScenarioRecord::add_step_end(const wire::StepEnd& frame) {
  KSTEP_TRY(check_elapsed("StepEnd", frame.elapsed_ms()));
  auto step = current("StepEnd", frame.step());
  if (!step) {
    return Unexpected{std::move(step).error()};
  }
  if ((*step)->end) {
    return fail("a second StepEnd for step {}", frame.step());
  }
  if ((*step)->resumes.size() != (*step)->pauses.size()) {
    return fail("StepEnd for step {} before its ScenarioPause", frame.step());
  }
  (*step)->end = frame;
  return {};
}

Result<void> ScenarioRecord::add_report(const wire::StepReport& frame) {
  auto step = current("StepReport", frame.step());
  if (!step) {
    return Unexpected{std::move(step).error()};
  }
  if ((*step)->report) {
    return fail("a second StepReport for step {}", frame.step());
  }
  (*step)->report = frame;
  return {};
}

// ScenarioEnd's time is the last completed step's, which may precede a
// later failed step's frames, so it is not checked against them.
Result<void> ScenarioRecord::add_end(const wire::ScenarioEnd& frame) {
  const StepRecord* last_ended = nullptr;
  for (const auto& step : steps_) {
    if (step.end) {
      last_ended = &step;
    }
  }
  if (last_ended != nullptr) {
    const auto& end = *last_ended->end;
    if (frame.step() != end.step() || frame.elapsed_ms() != end.elapsed_ms() ||
        frame.iterations() != end.iterations()) {
      return fail(
          "ScenarioEnd carries (step {}, {} ms, {} iterations) but the last completed step was (step {}, {} "
          "ms, {} "
          "iterations)",
          frame.step(), frame.elapsed_ms(), frame.iterations(), end.step(), end.elapsed_ms(),
          end.iterations());
    }
  }
  end_ = frame;
  return {};
}

}  // namespace kstep::host
