// Fakes of the scheduler seam: schedulers that attach (or fail to), and die
// at a chosen moment of the fake clock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guest/executor/scheduler_ports.hpp"
#include "tests/unit/guest/executor/executor_fakes.hpp"

namespace kstep::guest::testing {

// What the next attach of a given name does.
struct FakeSchedulerPlan {
  std::optional<std::string> attach_error;  // attach fails with this message
  // Dies this long after it attached, with this death.
  std::optional<std::chrono::milliseconds> dies_after;
  SchedulerDeath death{wire::Detail::SCHEDULER_CRASHED, "the kernel disabled \"fake\" (scx_bpf_error)", 0, 0};
  bool detach_fails = false;
};

struct FakeSchedulerRecord {
  SchedulerRequest request;
  ExecutorClock::TimePoint attached_at{};
  std::optional<ExecutorClock::TimePoint> detached_at;
  std::optional<ExecutorClock::TimePoint> died_seen_at;  // when wait_for_death returned the death
  bool settled = false;                                  // settle_death was called
};

class FakeScheduler final : public Scheduler {
 public:
  FakeScheduler(FakeClock& clock, FakeSchedulerPlan plan, FakeSchedulerRecord& record, pid_t pid,
                std::function<void()> on_detach)
      : clock_(clock), plan_(std::move(plan)), record_(record), pid_(pid), on_detach_(std::move(on_detach)) {}

  [[nodiscard]] pid_t pid() const override { return pid_; }
  [[nodiscard]] const SchedulerRequest& request() const override { return record_.request; }
  [[nodiscard]] std::string ops() const override { return "fake"; }
  [[nodiscard]] std::chrono::microseconds attach_time() const override {
    return std::chrono::microseconds{1500};
  }

  std::optional<SchedulerDeath> wait_for_death(ExecutorClock::TimePoint deadline) override {
    if (plan_.dies_after) {
      const auto dies_at = record_.attached_at + *plan_.dies_after;
      if (dies_at <= std::max(deadline, clock_.now())) {
        if (clock_.now() < dies_at) {
          clock_.sleep_until(dies_at);
        }
        if (!record_.died_seen_at) {
          record_.died_seen_at = clock_.now();
          if (on_detected_) {
            on_detected_(plan_.death.detected_us);
          }
        }
        return plan_.death;
      }
    }
    if (clock_.now() < deadline) {
      clock_.sleep_until(deadline);
    }
    return std::nullopt;
  }

  void set_on_detected(std::function<void(std::uint64_t)> callback) override {
    on_detected_ = std::move(callback);
  }

  // The fake's process ends with the death: its message is final.
  SchedulerDeath settle_death(std::chrono::milliseconds /*budget*/) override {
    record_.settled = true;
    return plan_.death;
  }

  Result<void> detach() override {
    record_.detached_at = clock_.now();
    if (on_detach_) {
      on_detach_();
    }
    if (plan_.detach_fails) {
      return fail("it ignored SIGTERM");
    }
    return {};
  }

 private:
  FakeClock& clock_;
  FakeSchedulerPlan plan_;
  FakeSchedulerRecord& record_;
  pid_t pid_;
  std::function<void(std::uint64_t)> on_detected_;
  std::function<void()> on_detach_;
};

class FakeSchedulerLauncher final : public SchedulerLauncher {
 public:
  explicit FakeSchedulerLauncher(FakeClock& clock) : clock_(clock) {}

  // Plans are used in order, one per attach; past the end, attaches succeed
  // and never die.
  std::vector<FakeSchedulerPlan> plans;
  // One per attach that succeeded, in order (stable: deque-like growth is
  // avoided by reserving).
  std::vector<std::unique_ptr<FakeSchedulerRecord>> attached;
  // Called at each detach: a window into the run at that moment.
  std::function<void()> on_detach;

  Result<std::unique_ptr<Scheduler>> attach(const SchedulerRequest& request) override {
    FakeSchedulerPlan plan = next_ < plans.size() ? plans[next_] : FakeSchedulerPlan{};
    ++next_;
    if (plan.attach_error) {
      return fail("{}", *plan.attach_error);
    }
    auto record = std::make_unique<FakeSchedulerRecord>();
    record->request = request;
    record->attached_at = clock_.now();
    auto scheduler = std::make_unique<FakeScheduler>(clock_, plan, *record,
                                                     static_cast<pid_t>(1000 + attached.size()), [this] {
                                                       if (on_detach) {
                                                         on_detach();
                                                       }
                                                     });
    attached.push_back(std::move(record));
    return std::unique_ptr<Scheduler>{std::move(scheduler)};
  }

 private:
  FakeClock& clock_;
  std::size_t next_ = 0;
};

}  // namespace kstep::guest::testing
