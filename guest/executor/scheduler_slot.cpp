#include "guest/executor/scheduler_slot.hpp"

#include <fmt/format.h>

namespace kstep::guest {
wire::SchedulerEvent SchedulerSlot::event_of(wire::SchedulerEvent::Kind kind, const std::string& name,
                                             std::uint32_t step) const {
  wire::SchedulerEvent event;
  event.set_kind(kind);
  event.set_name(name);
  event.set_step(step);
  event.set_elapsed_ms(frames_->narrow(elapsed_ms_(), "SchedulerEvent.elapsed_ms"));
  return event;
}

void SchedulerSlot::send(wire::SchedulerEvent event) {
  frames_->scheduler_event(std::move(event));
}

Result<void> SchedulerSlot::attach(const SchedulerRequest& request, std::uint32_t step) {
  if (scheduler_) {
    return fail("scheduler '{}' is attached already: detach or replace it first", scheduler_->request().name);
  }
  if (death_) {
    return fail("scheduler '{}' died earlier in this scenario", dead_name_);
  }
  Result<std::unique_ptr<Scheduler>> attached =
      launcher_ != nullptr ? launcher_->attach(request) : fail("this agent cannot run sched_ext schedulers");
  attach_failed_ = !attached;
  if (!attached) {
    auto event = event_of(wire::SchedulerEvent::ATTACH_FAILED, request.name, step);
    event.set_detail(wire::Detail::SCHEDULER_ATTACH_FAILED);
    event.set_message(attached.error().message);
    send(std::move(event));
    return Unexpected{
        std::move(attached).error().context(fmt::format("attaching scheduler '{}'", request.name))};
  }
  scheduler_ = std::move(*attached);
  auto event = event_of(wire::SchedulerEvent::ATTACHED, request.name, step);
  event.set_pid(scheduler_->pid());
  event.set_ops(scheduler_->ops());
  event.set_attach_us(static_cast<std::uint64_t>(scheduler_->attach_time().count()));
  send(std::move(event));
  if (handshake_ != nullptr) {
    handshake_->scheduler_attached(request.name, scheduler_->pid());
  }
  return {};
}

Result<void> SchedulerSlot::detach(std::uint32_t step) {
  if (!scheduler_) {
    return fail("no scheduler is attached");
  }
  if (died_before(ExecutorClock::TimePoint::min(), step)) {
    return fail("scheduler '{}' had died: {}", dead_name_, death_->message);
  }
  auto scheduler = std::move(scheduler_);
  auto detached = scheduler->detach();
  auto event = event_of(wire::SchedulerEvent::DETACHED, scheduler->request().name, step);
  event.set_pid(scheduler->pid());
  event.set_ops(scheduler->ops());
  if (!detached) {
    event.set_message(detached.error().message);
  }
  send(std::move(event));
  if (!detached) {
    return Unexpected{std::move(detached).error().context(
        fmt::format("detaching scheduler '{}'", scheduler->request().name))};
  }
  return {};
}

Result<void> SchedulerSlot::replace(const SchedulerRequest& request, std::uint32_t step) {
  KSTEP_TRY(detach(step));
  return attach(request, step);
}

Result<void> SchedulerSlot::restart(std::uint32_t step) {
  if (!scheduler_) {
    return fail("no scheduler is attached");
  }
  const SchedulerRequest request = scheduler_->request();
  return replace(request, step);
}

bool SchedulerSlot::died_before(ExecutorClock::TimePoint deadline, std::uint32_t step) {
  if (!scheduler_) {
    return false;
  }
  // The host hears of the stop at once; the reason follows with DIED.
  scheduler_->set_on_detected([this, step](std::uint64_t detected_us) {
    auto stopped = event_of(wire::SchedulerEvent::STOPPED, scheduler_->request().name, step);
    stopped.set_pid(scheduler_->pid());
    stopped.set_ops(scheduler_->ops());
    stopped.set_detected_us(detected_us);
    send(std::move(stopped));
  });
  auto death = scheduler_->wait_for_death(deadline);
  if (!death) {
    return false;
  }
  death_ = std::move(*death);
  dead_name_ = scheduler_->request().name;
  auto event = event_of(wire::SchedulerEvent::DIED, dead_name_, step);
  event.set_pid(scheduler_->pid());
  event.set_ops(scheduler_->ops());
  event.set_detail(death_->kind);
  event.set_message(death_->message);
  event.set_kernel_disabled_us(death_->kernel_disabled_us);
  event.set_detected_us(death_->detected_us);
  send(std::move(event));
  // A dead scheduler is gone from the slot: ops that need one fail. Its
  // process is let go in settle_death.
  dead_ = std::move(scheduler_);
  return true;
}

void SchedulerSlot::settle_death(std::chrono::milliseconds budget) {
  if (!dead_) {
    return;
  }
  if (death_) {
    death_ = dead_->settle_death(budget);
  }
  dead_.reset();
}

}  // namespace kstep::guest
