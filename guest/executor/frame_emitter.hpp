// FrameEmitter: the executor's frames, built and sent through one FrameSink.
//
// The executor counts in wide types (std::size_t, 64-bit milliseconds); the
// wire has 32-bit fields. Every narrowing goes through narrow(), which
// saturates at the field's maximum instead of wrapping (a clipped-high value
// is recognisable, a wrapped one looks plausible and is wrong) and sends one
// WARN Log per field the first time that field saturates, so a long run does
// not drown the host in identical notes.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "guest/executor/executor_ports.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// `value` clipped to the uint32 range.
[[nodiscard]] constexpr std::uint32_t saturate_u32(std::uint64_t value) noexcept {
  return value > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(value);
}

// What a StepStart says about the state a step's ops and setup left behind.
struct StepStimulus {
  std::uint64_t step = 0;
  std::uint64_t elapsed_ms = 0;
  std::uint64_t op_count = 0;
  std::uint64_t op_kinds = 0;  // bit n: an Op with field number n ran
  std::uint64_t cgroups = 0;
  std::uint64_t workers = 0;
  std::uint64_t iterations = 0;
};

class FrameEmitter {
 public:
  explicit FrameEmitter(FrameSink& sink) noexcept : sink_(&sink) {}

  // `value` as a uint32 wire field called `field` ("StepStart.elapsed_ms"),
  // saturated; the first saturation of each field is logged.
  std::uint32_t narrow(std::uint64_t value, std::string_view field);

  void log(wire::Log::Level level, std::string text);

  void scenario_start(std::string_view name, std::uint64_t steps, std::uint64_t duration_ms,
                      std::uint64_t cpus);
  void step_start(const StepStimulus& stimulus);
  void scenario_resume(std::uint64_t step, std::uint64_t elapsed_ms, std::uint64_t hold_ms);
  void scenario_pause(std::uint64_t step, std::uint64_t elapsed_ms);
  void step_end(std::uint64_t step, std::uint64_t elapsed_ms, std::uint64_t iterations);
  void step_report(const wire::StepReport& report);
  void scenario_end(const wire::ScenarioEnd& end);
  void scheduler_event(wire::SchedulerEvent event);

 private:
  void send(const wire::GuestMessage& message) { sink_->send(message); }

  FrameSink* sink_;
  std::set<std::string, std::less<>> saturated_fields_;
};

}  // namespace kstep::guest
