#include "host/session/scenario_record.hpp"

#include <fmt/format.h>

namespace kstep::host {
namespace {

// "StepReport for step 3", "ScenarioStart": what a frame is, for errors.
std::string describe_frame(const wire::GuestMessage& message) {
  switch (message.body_case()) {
    case wire::GuestMessage::kStepStart:
      return fmt::format("StepStart for step {}", message.step_start().step());
    case wire::GuestMessage::kScenarioResume:
      return fmt::format("ScenarioResume for step {}", message.scenario_resume().step());
    case wire::GuestMessage::kScenarioPause:
      return fmt::format("ScenarioPause for step {}", message.scenario_pause().step());
    case wire::GuestMessage::kStepEnd: return fmt::format("StepEnd for step {}", message.step_end().step());
    case wire::GuestMessage::kStepReport:
      return fmt::format("StepReport for step {}", message.step_report().step());
    case wire::GuestMessage::BODY_NOT_SET: return "a frame without a body";
    default: break;
  }
  const auto* field = message.GetDescriptor()->FindFieldByNumber(message.body_case());
  return field->message_type() != nullptr ? field->message_type()->name() : field->name();
}

}  // namespace

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
    if (message.has_scenario_end()) {
      return fail("a second ScenarioEnd");
    }
    return fail("{} after ScenarioEnd", describe_frame(message));
  }
  // A scenario that could not start at all (or whose process died) ends
  // with ScenarioEnd alone.
  if (!start_ && !message.has_scenario_start() && !message.has_scenario_end()) {
    return fail("{} before ScenarioStart", describe_frame(message));
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
  return fail("{} is not a scenario frame", describe_frame(message));
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
  if (steps_.empty() || steps_.back().step != step || !steps_.back().start) {
    return fail(
        "{} for step {} without its StepStart (current step: {})", frame, step,
        steps_.empty() || !steps_.back().start ? std::string{"none"} : std::to_string(steps_.back().step));
  }
  if (steps_.back().report) {
    return fail("{} for step {} after its StepReport", frame, step);
  }
  return &steps_.back();
}

Result<void> ScenarioRecord::check_next_step(const char* frame, std::uint32_t step) {
  const std::uint32_t expected = steps_.empty() ? 1 : steps_.back().step + 1;
  if (step != expected) {
    return fail("{} for step {} where step {} was expected", frame, step, expected);
  }
  if (start_->steps() != 0 && step > start_->steps()) {
    return fail("{} for step {} of a scenario with {} steps", frame, step, start_->steps());
  }
  if (!baseline_) {
    return fail("{} for step {} before the baseline StepStart (step 0)", frame, step);
  }
  if (!steps_.empty()) {
    const auto& previous = steps_.back();
    if (!previous.end) {
      return fail("{} for step {} but step {} has no StepEnd (a step that stops early ends the scenario)",
                  frame, step, previous.step);
    }
    if (!previous.report) {
      return fail("{} for step {} before the StepReport of step {}", frame, step, previous.step);
    }
  }
  return {};
}

Result<void> ScenarioRecord::add_step_start(const wire::StepStart& frame) {
  KSTEP_TRY(check_elapsed("StepStart", frame.elapsed_ms()));
  if (frame.step() == 0) {
    if (baseline_) {
      return fail("a second baseline StepStart (step 0)");
    }
    baseline_ = frame;
    return {};
  }
  if (!steps_.empty() && steps_.back().step == frame.step()) {
    if (steps_.back().start) {
      return fail("a second StepStart for step {}", frame.step());
    }
    return fail("StepStart for step {} after its StepReport", frame.step());
  }
  KSTEP_TRY(check_next_step("StepStart", frame.step()));
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
  if ((*step)->end) {
    return fail("ScenarioResume for step {} after its StepEnd", frame.step());
  }
  if ((*step)->resumes.size() != (*step)->pauses.size()) {
    return fail("a second ScenarioResume for step {} (it is resumed since {} ms)", frame.step(),
                (*step)->resumes.back().elapsed_ms());
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
    if ((*step)->pauses.empty()) {
      return fail("ScenarioPause for step {} without a ScenarioResume before it", frame.step());
    }
    return fail("a second ScenarioPause for step {} (no ScenarioResume since its pause at {} ms)",
                frame.step(), (*step)->pauses.back().elapsed_ms());
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
  if ((*step)->resumes.empty()) {
    return fail("StepEnd for step {} before its ScenarioResume (a step ends after its hold)", frame.step());
  }
  if ((*step)->resumes.size() != (*step)->pauses.size()) {
    return fail("StepEnd for step {} before its ScenarioPause", frame.step());
  }
  (*step)->end = frame;
  return {};
}

// A step whose ops or setup failed sends no StepStart, only its StepReport.
Result<void> ScenarioRecord::add_report(const wire::StepReport& frame) {
  if (steps_.empty() || steps_.back().step != frame.step()) {
    KSTEP_TRY(check_next_step("StepReport", frame.step()));
    StepRecord record;
    record.step = frame.step();
    record.report = frame;
    steps_.push_back(std::move(record));
    return {};
  }
  auto& step = steps_.back();
  if (step.report) {
    return fail("a second StepReport for step {}", frame.step());
  }
  if (step.resumes.size() != step.pauses.size()) {
    return fail("StepReport for step {} before its ScenarioPause (the step is still holding)", frame.step());
  }
  step.report = frame;
  return {};
}

Result<void> ScenarioRecord::check_passed_end() const {
  if (!start_) {
    return fail("ScenarioEnd says passed without a ScenarioStart");
  }
  if (!baseline_) {
    return fail("ScenarioEnd says passed without the baseline StepStart (step 0)");
  }
  for (const auto& step : steps_) {
    const char* missing = !step.start    ? "StepStart"
                          : !step.end    ? "StepEnd"
                          : !step.report ? "StepReport"
                                         : nullptr;
    if (missing != nullptr) {
      return fail("ScenarioEnd says passed but step {} has no {}", step.step, missing);
    }
  }
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
  if (frame.passed()) {
    KSTEP_TRY(check_passed_end());
  }
  end_ = frame;
  return {};
}

}  // namespace kstep::host
