// SchedulerSlot: the scheduler a scenario runs under, for the executor.
//
// It owns the attached Scheduler (at most one), runs the scheduler ops
// (attach, detach, replace, restart) and the liveness checks, and reports
// each change as a SchedulerEvent frame. Liveness always watches the
// scheduler attached now, so a ReplaceScheduler moves it to the new process.
//
// A death is recorded once: later checks see it at once, and the executor
// turns it into one failure detail (SCHEDULER_CRASHED, _EXITED, _STALLED or
// _DIED_UNKNOWN) naming the step and the time. A detach kstep asked for is
// not a death.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "guest/executor/frame_emitter.hpp"
#include "guest/executor/handshake_ports.hpp"
#include "guest/executor/scheduler_ports.hpp"

namespace kstep::guest {

class SchedulerSlot {
 public:
  // `launcher` may be null: then every attach fails, saying so.
  // `elapsed_ms` is the scenario's clock, for the events. `handshake`
  // (may be null) is told of every attach, after its ATTACHED event.
  SchedulerSlot(SchedulerLauncher* launcher, FrameEmitter& frames, std::function<std::uint64_t()> elapsed_ms,
                HostHandshake* handshake = nullptr)
      : launcher_(launcher), frames_(&frames), elapsed_ms_(std::move(elapsed_ms)), handshake_(handshake) {}

  [[nodiscard]] bool attached() const noexcept { return scheduler_ != nullptr; }
  [[nodiscard]] const Scheduler* current() const noexcept { return scheduler_.get(); }
  // The death seen by a liveness check, until the executor took it.
  [[nodiscard]] const std::optional<SchedulerDeath>& death() const noexcept { return death_; }
  [[nodiscard]] const std::string& dead_name() const noexcept { return dead_name_; }
  // Whether the last attach failed in the launcher (the ATTACH_FAILED event
  // was sent): the executor then reports the failed op as
  // SCHEDULER_ATTACH_FAILED, as it does for the scenario's scheduler, and
  // not as a plain step failure.
  [[nodiscard]] bool attach_failed() const noexcept { return attach_failed_; }

  [[nodiscard]] Result<void> attach(const SchedulerRequest& request, std::uint32_t step);
  // A clean detach of the attached scheduler.
  [[nodiscard]] Result<void> detach(std::uint32_t step);
  [[nodiscard]] Result<void> replace(const SchedulerRequest& request, std::uint32_t step);
  [[nodiscard]] Result<void> restart(std::uint32_t step);

  // Waits until `deadline`, or less if the attached scheduler dies first;
  // returns true when it died (then death() tells how and the DIED event is
  // sent). Without a scheduler it returns false at once: the caller sleeps.
  [[nodiscard]] bool died_before(ExecutorClock::TimePoint deadline, std::uint32_t step);
  // After a death (once the workers are killed): waits up to `budget` for
  // the dead scheduler's process to end, adds how it ended to death(), and
  // lets the process go (killed if it still runs).
  void settle_death(std::chrono::milliseconds budget);

 private:
  [[nodiscard]] wire::SchedulerEvent event_of(wire::SchedulerEvent::Kind kind, const std::string& name,
                                              std::uint32_t step) const;
  void send(wire::SchedulerEvent event);

  SchedulerLauncher* launcher_;
  FrameEmitter* frames_;
  std::function<std::uint64_t()> elapsed_ms_;
  HostHandshake* handshake_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Scheduler> dead_;  // until settle_death
  std::optional<SchedulerDeath> death_;
  std::string dead_name_;
  bool attach_failed_ = false;
};

}  // namespace kstep::guest
