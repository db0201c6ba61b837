#include "guest/executor/frame_emitter.hpp"

#include <fmt/format.h>

namespace kstep::guest {

std::uint32_t FrameEmitter::narrow(std::uint64_t value, std::string_view field) {
  const std::uint32_t narrowed = saturate_u32(value);
  if (narrowed != value && saturated_fields_.find(field) == saturated_fields_.end()) {
    saturated_fields_.emplace(field);
    log(wire::Log::WARN,
        fmt::format("{} = {} does not fit 32 bits: sent as {} (saturated; later saturations of "
                    "this field are not logged)",
                    field, value, narrowed));
  }
  return narrowed;
}

void FrameEmitter::log(wire::Log::Level level, std::string text) {
  wire::GuestMessage message;
  message.mutable_log()->set_level(level);
  message.mutable_log()->set_text(std::move(text));
  send(message);
}

void FrameEmitter::scenario_start(std::string_view name, std::uint64_t steps, std::uint64_t duration_ms,
                                  std::uint64_t cpus) {
  wire::GuestMessage message;
  auto& start = *message.mutable_scenario_start();
  start.set_name(std::string{name});
  start.set_steps(narrow(steps, "ScenarioStart.steps"));
  start.set_duration_ms(narrow(duration_ms, "ScenarioStart.duration_ms"));
  start.set_cpus(narrow(cpus, "ScenarioStart.cpus"));
  send(message);
}

void FrameEmitter::step_start(const StepStimulus& stimulus) {
  wire::GuestMessage message;
  auto& start = *message.mutable_step_start();
  start.set_step(narrow(stimulus.step, "StepStart.step"));
  start.set_elapsed_ms(narrow(stimulus.elapsed_ms, "StepStart.elapsed_ms"));
  start.set_op_count(narrow(stimulus.op_count, "StepStart.op_count"));
  start.set_op_kinds(stimulus.op_kinds);
  start.set_cgroup_count(narrow(stimulus.cgroups, "StepStart.cgroup_count"));
  start.set_worker_count(narrow(stimulus.workers, "StepStart.worker_count"));
  start.set_total_iterations(stimulus.iterations);
  send(message);
}

void FrameEmitter::scenario_resume(std::uint64_t step, std::uint64_t elapsed_ms, std::uint64_t hold_ms) {
  wire::GuestMessage message;
  auto& resume = *message.mutable_scenario_resume();
  resume.set_step(narrow(step, "ScenarioResume.step"));
  resume.set_elapsed_ms(narrow(elapsed_ms, "ScenarioResume.elapsed_ms"));
  resume.set_hold_ms(narrow(hold_ms, "ScenarioResume.hold_ms"));
  send(message);
}

void FrameEmitter::scenario_pause(std::uint64_t step, std::uint64_t elapsed_ms) {
  wire::GuestMessage message;
  auto& pause = *message.mutable_scenario_pause();
  pause.set_step(narrow(step, "ScenarioPause.step"));
  pause.set_elapsed_ms(narrow(elapsed_ms, "ScenarioPause.elapsed_ms"));
  send(message);
}

void FrameEmitter::step_end(std::uint64_t step, std::uint64_t elapsed_ms, std::uint64_t iterations) {
  wire::GuestMessage message;
  auto& end = *message.mutable_step_end();
  end.set_step(narrow(step, "StepEnd.step"));
  end.set_elapsed_ms(narrow(elapsed_ms, "StepEnd.elapsed_ms"));
  end.set_iterations(iterations);
  send(message);
}

void FrameEmitter::step_report(const wire::StepReport& report) {
  wire::GuestMessage message;
  *message.mutable_step_report() = report;
  send(message);
}

void FrameEmitter::scenario_end(const wire::ScenarioEnd& end) {
  wire::GuestMessage message;
  *message.mutable_scenario_end() = end;
  send(message);
}

void FrameEmitter::scheduler_event(wire::SchedulerEvent event) {
  wire::GuestMessage message;
  *message.mutable_scheduler_event() = std::move(event);
  send(message);
}

}  // namespace kstep::guest
