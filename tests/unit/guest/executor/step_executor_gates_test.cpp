// The handshake gates: await_accessor_ready and wait_for_map_write as ops,
// the workload waiting for the host's map writes, the scheduler's maps
// published at attach, and what a timeout, a failed write, a missing host
// and a dying scheduler do to the wait. The host is a fake on the fake clock.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "guest/executor/handshake_ports.hpp"
#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using namespace std::chrono_literals;

// The host's side of the latches: each is set at a time on the fake clock
// (never, when unset). A wait sleeps the clock to the latch or the deadline.
class FakeHostHandshake final : public HostHandshake {
 public:
  explicit FakeHostHandshake(FakeClock& clock) : clock_(clock) {}

  std::optional<ExecutorClock::TimePoint> accessor_ready_at;
  std::optional<ExecutorClock::TimePoint> write_done_at;
  MapWriteOutcome write_outcome{true, ""};
  std::vector<std::pair<std::string, pid_t>> published;  // scheduler_attached calls

  void scheduler_attached(const std::string& name, pid_t pid) override { published.emplace_back(name, pid); }

  bool wait_accessor_ready(ExecutorClock::TimePoint deadline) override {
    return wait_for(accessor_ready_at, deadline);
  }

  std::optional<MapWriteOutcome> wait_map_write(ExecutorClock::TimePoint deadline) override {
    if (!wait_for(write_done_at, deadline)) {
      return std::nullopt;
    }
    return write_outcome;
  }

 private:
  bool wait_for(std::optional<ExecutorClock::TimePoint> at, ExecutorClock::TimePoint deadline) {
    if (at && *at <= deadline) {
      if (clock_.now() < *at) {
        clock_.sleep_until(*at);
      }
      return true;
    }
    if (clock_.now() < deadline) {
      clock_.sleep_until(deadline);
    }
    return false;
  }

  FakeClock& clock_;
};

class StepExecutorGates : public ExecutorFixture {
 protected:
  StepExecutorGates() {
    handshake = &host;
    SchedulerRequest request;
    request.name = "sched";
    request.guest_path = "/kstep/schedulers/sched";
    scenario_scheduler = request;
    workers.on_spawn = [this](const WorkerRequest&) { spawned_at.push_back(ms_since_start(clock.now())); };
  }

  // One step: `gates` (text of ops), then a cgroup and a worker spawned in it.
  wire::ScenarioEnd run_gates(const std::string& gates) {
    return run("duration_s: 200\nsteps { " + gates + R"pb(
      ops { add_cgroup_def { name: "a" } }
      ops {
        spawn {
          cgroup: "a"
          workers { workers: 1 }
        }
      }
      hold { seconds: 1 }
    })pb");
  }

  [[nodiscard]] ExecutorClock::TimePoint at(std::chrono::milliseconds after_start) const {
    return clock.origin() + after_start;
  }

  FakeHostHandshake host{clock};
  std::vector<std::int64_t> spawned_at;  // ms since the run started, one per spawn
};

TEST_F(StepExecutorGates, TheAttachedSchedulersMapsArePublished) {
  const auto end = run_gates("");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(host.published.size(), 1U);
  EXPECT_EQ(host.published[0].first, "sched");
  EXPECT_EQ(host.published[0].second, 1000);  // the fake launcher's first pid
}

TEST_F(StepExecutorGates, AwaitAccessorReadyHoldsTheStepUntilTheHostAdoptedTheMaps) {
  host.accessor_ready_at = at(3000ms);
  const auto end = run_gates("ops { await_accessor_ready {} }");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(spawned_at.size(), 1U);
  EXPECT_EQ(spawned_at[0], 3000);
  EXPECT_EQ(sink.logs_containing("await_accessor_ready: AccessorReady after 3000 ms"), 1);
}

TEST_F(StepExecutorGates, TheLatchIsSticky) {
  host.accessor_ready_at = at(1000ms);
  const auto end = run_gates("ops { await_accessor_ready {} } ops { await_accessor_ready {} }");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(sink.logs_containing("AccessorReady after 1000 ms"), 1);
  EXPECT_EQ(sink.logs_containing("AccessorReady after 0 ms"), 1);
  EXPECT_EQ(spawned_at.at(0), 1000);
}

TEST_F(StepExecutorGates, AGateThatTimesOutWarnsAndTheScenarioProceeds) {
  const auto end = run_gates("ops { await_accessor_ready { timeout_ms: 500 } }");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(
      sink.logs_containing("await_accessor_ready: no AccessorReady from the host within 500 ms; proceeding"),
      1);
  ASSERT_EQ(spawned_at.size(), 1U);
  EXPECT_EQ(spawned_at[0], 500);
}

TEST_F(StepExecutorGates, AGateWithoutABudgetWaitsSixtySeconds) {
  const auto end = run_gates("ops { wait_for_map_write {} }");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(sink.logs_containing("no BpfWriteDone from the host within 60000 ms"), 1);
  EXPECT_EQ(spawned_at.at(0), 60000);
}

TEST_F(StepExecutorGates, WithoutAHostTheGatesSaySoAndProceed) {
  handshake = nullptr;
  const auto end = run_gates("ops { await_accessor_ready {} } ops { wait_for_map_write {} }");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(sink.logs_containing("this agent has no host handshake; proceeding"), 2);
  EXPECT_EQ(spawned_at.at(0), 0);
}

TEST_F(StepExecutorGates, QueuedWritesHoldTheWorkloadUntilBpfWriteDone) {
  await_map_write = true;
  host.write_done_at = at(2000ms);
  const auto end = run(R"pb(
    duration_s: 200
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  // The backdrop's worker, the first of the workload, started after the write.
  ASSERT_EQ(spawned_at.size(), 1U);
  EXPECT_EQ(spawned_at[0], 2000);
  EXPECT_EQ(sink.logs_containing("wait_for_map_write: BpfWriteDone after 2000 ms"), 1);
}

TEST_F(StepExecutorGates, WithoutQueuedWritesTheWorkloadDoesNotWait) {
  const auto end = run_gates("");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(spawned_at.at(0), 0);
  EXPECT_EQ(sink.logs_containing("wait_for_map_write"), 0);
}

TEST_F(StepExecutorGates, AFailedWriteIsWarnedAndTheWorkloadProceeds) {
  await_map_write = true;
  host.write_done_at = at(100ms);
  host.write_outcome = MapWriteOutcome{false, "bss.no_such_knob: no such field"};
  const auto end = run_gates("");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(
      sink.logs_containing("the host's BPF map writes failed (bss.no_such_knob: no such field); proceeding"),
      1);
  EXPECT_EQ(spawned_at.at(0), 100);
}

TEST_F(StepExecutorGates, ASchedulerThatDiesWhileTheWorkloadWaitsEndsTheWait) {
  await_map_write = true;  // and the writes never land
  FakeSchedulerPlan plan;
  plan.dies_after = 1000ms;
  schedulers.plans.push_back(plan);
  const auto end = run_gates("");
  EXPECT_FALSE(end.passed());
  EXPECT_FALSE(details_of(end, wire::Detail::SCHEDULER_CRASHED).empty()) << end.DebugString();
  EXPECT_TRUE(spawned_at.empty());
  EXPECT_TRUE(sink.step_starts().empty());
  EXPECT_LT(ms_since_start(clock.now()), 5000);
}

TEST_F(StepExecutorGates, ASchedulerThatDiesAtAGateFailsTheStep) {
  FakeSchedulerPlan plan;
  plan.dies_after = 1000ms;
  schedulers.plans.push_back(plan);
  const auto end = run_gates("ops { await_accessor_ready {} }");
  EXPECT_FALSE(end.passed());
  EXPECT_TRUE(spawned_at.empty());
  EXPECT_LT(ms_since_start(clock.now()), 5000);
}

}  // namespace
}  // namespace kstep::guest::testing
