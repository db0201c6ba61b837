// Schedulers in a run: the --scheduler one around the whole scenario, the
// scheduler ops, and a death ending a hold or caught between steps.
#include <gtest/gtest.h>

#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using namespace std::chrono_literals;
using Kind = wire::GuestMessage::BodyCase;
using wire::GuestMessage;
using wire::SchedulerEvent;

constexpr char kDeclarations[] = R"pb(
  payloads { name: "s" path: "s" kind: SCHEDULER }
  payloads { name: "t" path: "t" kind: SCHEDULER }
)pb";

constexpr char kStall[] =
    "the kernel disabled \"fake\" (runnable task stall): kworker/0:1[123] failed to run";

// A backdrop with workers and one short step.
constexpr char kBackdropAndOneStep[] = R"pb(
  duration_s: 10
  backdrop {
    cgroups {
      name: "bd"
      workers { workers: 2 }
    }
  }
  steps { hold { seconds: 1 } }
)pb";

class StepExecutorScheduler : public ExecutorFixture {
 protected:
  StepExecutorScheduler() {
    payload_paths["s"] = "/kstep/payloads/s";
    payload_paths["t"] = "/kstep/payloads/t";
  }

  // kstep run --scheduler.
  void use_scenario_scheduler() {
    SchedulerRequest request;
    request.name = "sched";
    request.guest_path = "/kstep/schedulers/sched";
    request.args = {"--verbose"};
    scenario_scheduler = request;
  }

  [[nodiscard]] std::vector<SchedulerEvent> events() const {
    std::vector<SchedulerEvent> found;
    for (const auto& message : sink.of(GuestMessage::kSchedulerEvent)) {
      found.push_back(message.scheduler_event());
    }
    return found;
  }

  [[nodiscard]] std::vector<std::uint32_t> started_steps() const {
    std::vector<std::uint32_t> steps;
    for (const auto& start : sink.step_starts()) {
      steps.push_back(start.step());
    }
    return steps;
  }
};

FakeSchedulerPlan dies_after(std::chrono::milliseconds after, wire::Detail::Kind kind, std::string message) {
  FakeSchedulerPlan plan;
  plan.dies_after = after;
  plan.death = SchedulerDeath{kind, std::move(message), 0, 0};
  return plan;
}

TEST_F(StepExecutorScheduler, TheScenarioSchedulerIsAttachedBeforeTheBackdropAndDetachedAfterIt) {
  use_scenario_scheduler();
  std::size_t attached_at_backdrop = 0;
  workers.on_spawn = [&](const WorkerRequest&) { attached_at_backdrop = schedulers.attached.size(); };
  bool backdrop_gone_at_detach = false;
  schedulers.on_detach = [&] {
    backdrop_gone_at_detach = workers.groups.size() == 1 && workers.groups[0]->destroyed;
  };
  const auto end = run(kBackdropAndOneStep);
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(attached_at_backdrop, 1U);
  EXPECT_TRUE(backdrop_gone_at_detach);

  ASSERT_EQ(schedulers.attached.size(), 1U);
  const auto& record = *schedulers.attached[0];
  EXPECT_EQ(record.request.name, "sched");
  EXPECT_EQ(record.request.guest_path, "/kstep/schedulers/sched");
  EXPECT_EQ(record.request.args, std::vector<std::string>{"--verbose"});
  ASSERT_TRUE(record.detached_at.has_value());
  EXPECT_EQ(ms_since_start(*record.detached_at), 1000);
  EXPECT_FALSE(record.died_seen_at.has_value());

  const std::vector<Kind> expected{
      GuestMessage::kScenarioStart,  GuestMessage::kSchedulerEvent,                                // attach
      GuestMessage::kStepStart,                                                                    // baseline
      GuestMessage::kStepStart,      GuestMessage::kScenarioResume, GuestMessage::kScenarioPause,  // step 1
      GuestMessage::kStepEnd,        GuestMessage::kStepReport,                                    //
      GuestMessage::kSchedulerEvent,                                                               // detach
      GuestMessage::kScenarioEnd,
  };
  EXPECT_EQ(sink.kinds(), expected);
  const auto sent = events();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(sent[0].kind(), SchedulerEvent::ATTACHED);
  EXPECT_EQ(sent[0].name(), "sched");
  EXPECT_EQ(sent[0].pid(), 1000);
  EXPECT_EQ(sent[0].ops(), "fake");
  EXPECT_EQ(sent[0].step(), 0U);
  EXPECT_EQ(sent[0].elapsed_ms(), 0U);
  EXPECT_EQ(sent[0].attach_us(), 1500U);
  EXPECT_EQ(sent[1].kind(), SchedulerEvent::DETACHED);
  EXPECT_EQ(sent[1].name(), "sched");
  EXPECT_EQ(sent[1].pid(), 1000);
  EXPECT_EQ(sent[1].step(), 1U);
  EXPECT_EQ(sent[1].elapsed_ms(), 1000U);
  EXPECT_EQ(sent[1].message(), "");
}

TEST_F(StepExecutorScheduler, AnAttachFailureOfTheScenarioSchedulerRunsNothing) {
  use_scenario_scheduler();
  FakeSchedulerPlan plan;
  plan.attach_error = "rejected by the verifier: it exited with code 1 before attaching";
  schedulers.plans = {plan};
  const auto end = run(kBackdropAndOneStep);
  EXPECT_FALSE(end.passed());
  ASSERT_EQ(end.details_size(), 1);
  EXPECT_EQ(end.details(0).kind(), wire::Detail::SCHEDULER_ATTACH_FAILED);
  EXPECT_EQ(end.details(0).step(), 0U);
  EXPECT_EQ(end.details(0).message(),
            "attaching scheduler 'sched': rejected by the verifier: it exited with code 1 before attaching");
  EXPECT_TRUE(workers.groups.empty());
  EXPECT_TRUE(schedulers.attached.empty());
  const std::vector<Kind> expected{GuestMessage::kScenarioStart, GuestMessage::kSchedulerEvent,
                                   GuestMessage::kScenarioEnd};
  EXPECT_EQ(sink.kinds(), expected);
  const auto sent = events();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].kind(), SchedulerEvent::ATTACH_FAILED);
  EXPECT_EQ(sent[0].detail(), wire::Detail::SCHEDULER_ATTACH_FAILED);
  EXPECT_EQ(sent[0].message(), "rejected by the verifier: it exited with code 1 before attaching");
}

TEST_F(StepExecutorScheduler, ADeathEndsTheHoldAtOnceAfterKillingEveryWorker) {
  use_scenario_scheduler();
  schedulers.plans = {dies_after(3000ms, wire::Detail::SCHEDULER_STALLED, kStall)};
  const auto end = run(R"pb(
    duration_s: 30
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 2 }
      }
    }
    steps {
      name: "busy"
      setup {
        name: "a"
        workers { workers: 1 }
      }
      hold { seconds: 10 }
    }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_FALSE(end.passed());
  ASSERT_TRUE(schedulers.attached.at(0)->died_seen_at.has_value());
  EXPECT_EQ(ms_since_start(*schedulers.attached[0]->died_seen_at), 3000);
  // Its exit was asked for (settle_death) before the detail was written.
  EXPECT_TRUE(schedulers.attached[0]->settled);
  EXPECT_FALSE(schedulers.attached[0]->detached_at.has_value());  // dead: nothing to detach

  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  const auto& detail = end.details(0);
  EXPECT_EQ(detail.kind(), wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(detail.step(), 1U);
  EXPECT_EQ(detail.elapsed_ms(), 3000U);
  EXPECT_EQ(detail.message(),
            std::string{"scheduler 'sched' stalled during step 1 ('busy') at 3.00 s: "} + kStall);

  // Killed before they were stopped: their reports say so.
  ASSERT_EQ(workers.groups.size(), 2U);
  for (const auto& group : workers.groups) {
    EXPECT_TRUE(group->killed) << group->request.cgroup;
  }
  const auto reports = sink.step_reports();
  ASSERT_EQ(reports.size(), 1U);
  const auto* busy = cgroup_report(reports[0], "a");
  ASSERT_NE(busy, nullptr);
  ASSERT_EQ(busy->workers_size(), 1);
  EXPECT_TRUE(busy->workers(0).killed());
  const auto* backdrop = cgroup_report(end.backdrop(), "bd");
  ASSERT_NE(backdrop, nullptr);
  ASSERT_EQ(backdrop->workers_size(), 2);
  EXPECT_TRUE(backdrop->workers(0).killed());

  EXPECT_EQ(started_steps(), (std::vector<std::uint32_t>{0, 1}));
  EXPECT_TRUE(sink.step_ends().empty());
  ASSERT_EQ(sink.pauses().size(), 1U);
  EXPECT_EQ(sink.pauses()[0].elapsed_ms(), 3000U);
  const std::vector<Kind> expected{
      GuestMessage::kScenarioStart,  GuestMessage::kSchedulerEvent,  // attach
      GuestMessage::kStepStart,                                      // baseline
      GuestMessage::kStepStart,      GuestMessage::kScenarioResume, GuestMessage::kSchedulerEvent,  // stopped
      GuestMessage::kSchedulerEvent,                                                                // died
      GuestMessage::kScenarioPause,  GuestMessage::kStepReport,     GuestMessage::kScenarioEnd,
  };
  EXPECT_EQ(sink.kinds(), expected);
  const auto sent = events();
  ASSERT_EQ(sent.size(), 3U);
  // STOPPED at the moment it was seen, DIED with the kernel's reason.
  EXPECT_EQ(sent[1].kind(), SchedulerEvent::STOPPED);
  EXPECT_EQ(sent[1].step(), 1U);
  EXPECT_EQ(sent[1].elapsed_ms(), 3000U);
  EXPECT_EQ(sent[2].kind(), SchedulerEvent::DIED);
  EXPECT_EQ(sent[2].detail(), wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(sent[2].step(), 1U);
  EXPECT_EQ(sent[2].elapsed_ms(), 3000U);
  EXPECT_EQ(sent[2].message(), kStall);
}

TEST_F(StepExecutorScheduler, ACrashEndsALoopStep) {
  use_scenario_scheduler();
  schedulers.plans = {dies_after(2500ms, wire::Detail::SCHEDULER_CRASHED, "scx_bpf_error")};
  const auto end = run(R"pb(
    duration_s: 5
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      ops {
        set_affinity {
          cgroup: "a"
          cpus { cpus: "0" }
        }
      }
      hold { loop { interval_s: 1 } }
    }
  )pb");
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::SCHEDULER_CRASHED);
  EXPECT_EQ(end.details(0).message(), "scheduler 'sched' crashed during step 1 at 2.50 s: scx_bpf_error");
  ASSERT_EQ(workers.groups.size(), 1U);
  EXPECT_EQ(workers.groups[0]->affinity_calls.size(), 3U);  // at 0, 1 and 2 s
  EXPECT_TRUE(workers.groups[0]->killed);
}

TEST_F(StepExecutorScheduler, ADeathBetweenStepsIsCaughtBeforeTheNextStepStarts) {
  use_scenario_scheduler();
  schedulers.plans = {dies_after(1200ms, wire::Detail::SCHEDULER_CRASHED, "scx_bpf_error")};
  // The hold's wait returns alive at 1 s but oversleeps to 1.3 s: the
  // scheduler died after the hold, before the next step.
  clock.oversleep_once(300ms);
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps { hold { seconds: 1 } }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_FALSE(end.passed());
  EXPECT_EQ(started_steps(), (std::vector<std::uint32_t>{0, 1}));
  ASSERT_EQ(sink.step_ends().size(), 1U);  // step 1 completed
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::SCHEDULER_CRASHED);
  EXPECT_EQ(end.details(0).step(), 1U);
  EXPECT_EQ(end.details(0).message(), "scheduler 'sched' crashed after step 1 at 1.30 s: scx_bpf_error");
  ASSERT_TRUE(schedulers.attached.at(0)->died_seen_at.has_value());
  EXPECT_EQ(ms_since_start(*schedulers.attached[0]->died_seen_at), 1300);
  ASSERT_EQ(workers.groups.size(), 1U);
  EXPECT_TRUE(workers.groups[0]->killed);
  EXPECT_FALSE(schedulers.attached[0]->detached_at.has_value());
}

TEST_F(StepExecutorScheduler, AttachSchedulerStartsTheDeclaredBinaryAndItIsDetachedAtTheEnd) {
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps { hold { seconds: 1 } }
    steps {
      ops { attach_scheduler { payload: "s" args: "--slice-us=500" } }
      hold { seconds: 1 }
    }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(schedulers.attached.size(), 1U);
  const auto& record = *schedulers.attached[0];
  EXPECT_EQ(record.request.name, "s");
  EXPECT_EQ(record.request.guest_path, "/kstep/payloads/s");
  EXPECT_EQ(record.request.args, std::vector<std::string>{"--slice-us=500"});
  EXPECT_EQ(record.request.attach_timeout, 20000ms);
  EXPECT_EQ(ms_since_start(record.attached_at), 1000);
  ASSERT_TRUE(record.detached_at.has_value());
  EXPECT_EQ(ms_since_start(*record.detached_at), 3000);
  const auto sent = events();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(sent[0].kind(), SchedulerEvent::ATTACHED);
  EXPECT_EQ(sent[0].name(), "s");
  EXPECT_EQ(sent[0].step(), 2U);
  EXPECT_EQ(sent[0].elapsed_ms(), 1000U);
  EXPECT_EQ(sent[1].kind(), SchedulerEvent::DETACHED);
  EXPECT_EQ(sent[1].step(), 3U);
}

TEST_F(StepExecutorScheduler, ASchedulerAttachedByAnOpIsWatched) {
  schedulers.plans = {dies_after(1500ms, wire::Detail::SCHEDULER_EXITED, "unregistered from BPF")};
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps {
      ops { attach_scheduler { payload: "s" } }
      hold { seconds: 1 }
    }
    steps { hold { seconds: 5 } }
  )pb");
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(end.details(0).step(), 2U);
  EXPECT_EQ(end.details(0).message(), "scheduler 's' exited during step 2 at 1.50 s: unregistered from BPF");
}

TEST_F(StepExecutorScheduler, AFailedAttachOpIsAnAttachFailureAndStopsTheRun) {
  FakeSchedulerPlan plan;
  plan.attach_error = "timed out: not attached 20000 ms after it started (sched_ext state: disabled)";
  schedulers.plans = {plan};
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps {
      ops { attach_scheduler { payload: "s" } }
      hold { seconds: 1 }
    }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_FALSE(end.passed());
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::SCHEDULER_ATTACH_FAILED);
  EXPECT_EQ(end.details(0).step(), 1U);
  EXPECT_NE(end.details(0).message().find("attaching scheduler 's': timed out"), std::string::npos)
      << end.details(0).message();
  EXPECT_EQ(started_steps(), (std::vector<std::uint32_t>{0}));  // the op fails before step 1's StepStart
}

TEST_F(StepExecutorScheduler, AttachingASecondSchedulerFails) {
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps {
      ops { attach_scheduler { payload: "s" } }
      ops { attach_scheduler { payload: "t" } }
      hold { seconds: 1 }
    }
  )pb");
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::STEP_FAILED);
  EXPECT_NE(end.details(0).message().find("scheduler 's' is attached already"), std::string::npos)
      << end.details(0).message();
  ASSERT_EQ(schedulers.attached.size(), 1U);
  EXPECT_TRUE(schedulers.attached[0]->detached_at.has_value());  // still detached at the end
}

TEST_F(StepExecutorScheduler, DetachSchedulerIsACleanDetachAndNotADeath) {
  // It would die at 1.5 s if it were still watched.
  schedulers.plans = {dies_after(1500ms, wire::Detail::SCHEDULER_CRASHED, "scx_bpf_error")};
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps {
      ops { attach_scheduler { payload: "s" } }
      hold { seconds: 1 }
    }
    steps {
      ops { detach_scheduler {} }
      hold { seconds: 1 }
    }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(schedulers.attached.size(), 1U);
  ASSERT_TRUE(schedulers.attached[0]->detached_at.has_value());
  EXPECT_EQ(ms_since_start(*schedulers.attached[0]->detached_at), 1000);
  EXPECT_FALSE(schedulers.attached[0]->died_seen_at.has_value());
  const auto sent = events();
  ASSERT_EQ(sent.size(), 2U);  // no second detach at the end
  EXPECT_EQ(sent[1].kind(), SchedulerEvent::DETACHED);
  EXPECT_EQ(sent[1].step(), 2U);
  EXPECT_EQ(sent[1].elapsed_ms(), 1000U);
}

TEST_F(StepExecutorScheduler, DetachSchedulerWithoutASchedulerFails) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      ops { detach_scheduler {} }
      hold { seconds: 1 }
    }
  )pb");
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::STEP_FAILED);
  EXPECT_NE(end.details(0).message().find("no scheduler is attached"), std::string::npos)
      << end.details(0).message();
  EXPECT_TRUE(events().empty());
}

TEST_F(StepExecutorScheduler, ReplaceSchedulerDetachesTheOldOneAndWatchesTheNewOne) {
  schedulers.plans = {
      // The old one would die at 1.5 s if it were still watched.
      dies_after(1500ms, wire::Detail::SCHEDULER_CRASHED, "old"),
      dies_after(1500ms, wire::Detail::SCHEDULER_STALLED, "new"),
  };
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps {
      ops { attach_scheduler { payload: "s" } }
      hold { seconds: 1 }
    }
    steps {
      ops { replace_scheduler { payload: "t" args: "-v" } }
      hold { seconds: 5 }
    }
  )pb");
  ASSERT_EQ(schedulers.attached.size(), 2U);
  const auto& old_one = *schedulers.attached[0];
  const auto& new_one = *schedulers.attached[1];
  ASSERT_TRUE(old_one.detached_at.has_value());
  EXPECT_EQ(ms_since_start(*old_one.detached_at), 1000);
  EXPECT_FALSE(old_one.died_seen_at.has_value());
  EXPECT_EQ(new_one.request.name, "t");
  EXPECT_EQ(new_one.request.args, std::vector<std::string>{"-v"});
  EXPECT_EQ(ms_since_start(new_one.attached_at), 1000);
  ASSERT_TRUE(new_one.died_seen_at.has_value());
  EXPECT_EQ(ms_since_start(*new_one.died_seen_at), 2500);

  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_EQ(end.details(0).kind(), wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(end.details(0).step(), 2U);
  EXPECT_EQ(end.details(0).message(), "scheduler 't' stalled during step 2 at 2.50 s: new");

  const auto sent = events();
  ASSERT_EQ(sent.size(), 5U);
  EXPECT_EQ(sent[0].kind(), SchedulerEvent::ATTACHED);
  EXPECT_EQ(sent[1].kind(), SchedulerEvent::DETACHED);
  EXPECT_EQ(sent[1].name(), "s");
  EXPECT_EQ(sent[1].step(), 2U);
  EXPECT_EQ(sent[2].kind(), SchedulerEvent::ATTACHED);
  EXPECT_EQ(sent[2].name(), "t");
  EXPECT_EQ(sent[2].pid(), 1001);
  EXPECT_EQ(sent[3].kind(), SchedulerEvent::STOPPED);
  EXPECT_EQ(sent[3].name(), "t");
  EXPECT_EQ(sent[3].pid(), 1001);
  EXPECT_EQ(sent[4].kind(), SchedulerEvent::DIED);
  EXPECT_EQ(sent[4].name(), "t");
  EXPECT_EQ(sent[4].pid(), 1001);
}

TEST_F(StepExecutorScheduler, RestartSchedulerRunsTheSameBinaryAndArgsAgain) {
  const auto end = run(std::string{kDeclarations} + R"pb(
    duration_s: 10
    steps {
      ops { attach_scheduler { payload: "s" args: "--x" } }
      hold { seconds: 1 }
    }
    steps {
      ops { restart_scheduler {} }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(schedulers.attached.size(), 2U);
  for (const auto& record : schedulers.attached) {
    EXPECT_EQ(record->request.name, "s");
    EXPECT_EQ(record->request.guest_path, "/kstep/payloads/s");
    EXPECT_EQ(record->request.args, std::vector<std::string>{"--x"});
  }
  EXPECT_EQ(ms_since_start(*schedulers.attached[0]->detached_at), 1000);
  EXPECT_EQ(ms_since_start(schedulers.attached[1]->attached_at), 1000);
  EXPECT_EQ(ms_since_start(*schedulers.attached[1]->detached_at), 2000);
  const auto sent = events();
  ASSERT_EQ(sent.size(), 4U);
  EXPECT_EQ(sent[1].kind(), SchedulerEvent::DETACHED);
  EXPECT_EQ(sent[1].pid(), 1000);
  EXPECT_EQ(sent[2].kind(), SchedulerEvent::ATTACHED);
  EXPECT_EQ(sent[2].pid(), 1001);
  EXPECT_EQ(sent[2].step(), 2U);
  EXPECT_EQ(sent[3].kind(), SchedulerEvent::DETACHED);
  EXPECT_EQ(sent[3].pid(), 1001);
}

TEST_F(StepExecutorScheduler, RestartSchedulerWithoutASchedulerFails) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      ops { restart_scheduler {} }
      hold { seconds: 1 }
    }
  )pb");
  ASSERT_EQ(end.details_size(), 1) << end.DebugString();
  EXPECT_NE(end.details(0).message().find("no scheduler is attached"), std::string::npos)
      << end.details(0).message();
  EXPECT_TRUE(schedulers.attached.empty());
}

}  // namespace
}  // namespace kstep::guest::testing
