// The frames a run sends: their order, and what each one says.
#include <gtest/gtest.h>

#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using Kind = wire::GuestMessage::BodyCase;
using wire::GuestMessage;

constexpr char kTwoSteps[] = R"pb(
  name: "two-steps"
  duration_s: 10
  backdrop {
    cgroups {
      name: "bd"
      workers { workers: 2 }
    }
  }
  steps {
    name: "warm"
    setup {
      name: "a"
      workers { workers: 1 }
    }
    hold { fraction: 0.2 }
  }
  steps { hold { seconds: 1 } }
)pb";

class StepExecutorFrames : public ExecutorFixture {};

TEST_F(StepExecutorFrames, ComeInTheDocumentedOrder) {
  (void)run(kTwoSteps);
  const std::vector<Kind> expected{
      GuestMessage::kScenarioStart,                                 //
      GuestMessage::kStepStart,                                     // baseline
      GuestMessage::kStepStart,     GuestMessage::kScenarioResume,  // step 1
      GuestMessage::kScenarioPause, GuestMessage::kStepEnd,        GuestMessage::kStepReport,
      GuestMessage::kStepStart,     GuestMessage::kScenarioResume,  // step 2
      GuestMessage::kScenarioPause, GuestMessage::kStepEnd,        GuestMessage::kStepReport,
      GuestMessage::kScenarioEnd,
  };
  EXPECT_EQ(sink.kinds(), expected);
}

TEST_F(StepExecutorFrames, DescribeTheScenarioTheBaselineAndEachStep) {
  const auto end = run(kTwoSteps);

  const auto start = sink.of(GuestMessage::kScenarioStart).at(0).scenario_start();
  EXPECT_EQ(start.name(), "two-steps");
  EXPECT_EQ(start.steps(), 2U);
  EXPECT_EQ(start.duration_ms(), 10000U);
  EXPECT_EQ(start.cpus(), 4U);

  const auto starts = sink.step_starts();
  ASSERT_EQ(starts.size(), 3U);
  // Baseline: the backdrop's cgroup and its two workers, nothing run yet.
  EXPECT_EQ(starts[0].step(), 0U);
  EXPECT_EQ(starts[0].elapsed_ms(), 0U);
  EXPECT_EQ(starts[0].cgroup_count(), 1U);
  EXPECT_EQ(starts[0].worker_count(), 2U);
  EXPECT_EQ(starts[0].total_iterations(), 0U);
  // Step 1 adds "a" with one worker.
  EXPECT_EQ(starts[1].step(), 1U);
  EXPECT_EQ(starts[1].cgroup_count(), 2U);
  EXPECT_EQ(starts[1].worker_count(), 3U);
  // Step 2: "a" is gone, the backdrop ran 2 workers x 10/ms for 2 s.
  EXPECT_EQ(starts[2].step(), 2U);
  EXPECT_EQ(starts[2].elapsed_ms(), 2000U);
  EXPECT_EQ(starts[2].cgroup_count(), 1U);
  EXPECT_EQ(starts[2].worker_count(), 2U);
  EXPECT_EQ(starts[2].total_iterations(), 40000U);

  const auto resumes = sink.resumes();
  ASSERT_EQ(resumes.size(), 2U);
  EXPECT_EQ(resumes[0].hold_ms(), 2000U);  // 0.2 of 10 s
  EXPECT_EQ(resumes[1].hold_ms(), 1000U);
  EXPECT_EQ(resumes[1].elapsed_ms(), 2000U);

  const auto ends = sink.step_ends();
  ASSERT_EQ(ends.size(), 2U);
  EXPECT_EQ(ends[0].step(), 1U);
  EXPECT_EQ(ends[0].elapsed_ms(), 2000U);
  EXPECT_EQ(ends[0].iterations(), 60000U);  // 3 workers x 10/ms x 2000 ms
  EXPECT_EQ(ends[1].elapsed_ms(), 3000U);
  EXPECT_EQ(ends[1].iterations(), 60000U);  // 2 workers x 10/ms x 3000 ms

  const auto reports = sink.step_reports();
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_EQ(reports[0].step(), 1U);
  const auto* a = cgroup_report(reports[0], "a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->workers_size(), 1);
  EXPECT_EQ(a->workers(0).iterations(), 20000U);
  EXPECT_EQ(cgroup_report(reports[0], "bd"), nullptr);  // backdrop workers report at the end

  EXPECT_TRUE(end.passed());
  EXPECT_EQ(end.step(), 2U);
  EXPECT_EQ(end.elapsed_ms(), 3000U);
  EXPECT_EQ(end.iterations(), 60000U);
  const auto* bd = cgroup_report(end.backdrop(), "bd");
  ASSERT_NE(bd, nullptr);
  EXPECT_EQ(bd->workers_size(), 2);
  EXPECT_EQ(end.backdrop().step(), 0U);
}

TEST_F(StepExecutorFrames, RunReturnsTheScenarioEndItSent) {
  const auto end = run(kTwoSteps);
  const auto sent = sink.of(GuestMessage::kScenarioEnd);
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].scenario_end().SerializeAsString(), end.SerializeAsString());
}

TEST_F(StepExecutorFrames, StepEndSamplesElapsedAndIterationsAtOneInstant) {
  // A loaded machine oversleeps the hold's one slice: the hold ends late,
  // and the pair must describe the same late instant.
  clock.oversleep_once(std::chrono::milliseconds{37});
  (void)run(R"pb(
    duration_s: 10
    steps {
      setup {
        name: "a"
        workers { workers: 3 }
      }
      hold { seconds: 0.05 }
    }
  )pb");
  const auto ends = sink.step_ends();
  ASSERT_EQ(ends.size(), 1U);
  EXPECT_EQ(ends[0].elapsed_ms(), 87U);
  EXPECT_EQ(ends[0].iterations(), 3U * 10U * 87U);
  ASSERT_EQ(sink.pauses().size(), 1U);
  EXPECT_EQ(sink.pauses()[0].elapsed_ms(), ends[0].elapsed_ms());
}

TEST_F(StepExecutorFrames, StepStartCountsOpsAndSetsOneBitPerOpKind) {
  (void)run(R"pb(
    duration_s: 10
    steps {
      ops { add_cgroup: "x" }
      ops { add_cgroup: "y" }
      ops {
        set_cpuset {
          cgroup: "x"
          cpuset { cpus: "1" }
        }
      }
      ops { freeze_cgroup: "y" }
      hold { seconds: 1 }
    }
  )pb");
  const auto starts = sink.step_starts();
  ASSERT_EQ(starts.size(), 2U);
  EXPECT_EQ(starts[1].op_count(), 4U);
  EXPECT_EQ(starts[1].op_kinds(), (1U << scenario::Op::kAddCgroup) | (1U << scenario::Op::kSetCpuset) |
                                      (1U << scenario::Op::kFreezeCgroup));
  EXPECT_EQ(starts[1].cgroup_count(), 2U);
}

TEST_F(StepExecutorFrames, ScenarioEndCarriesTheLastCompletedStep) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
    steps {
      ops { remove_cgroup: "nope" }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_FALSE(end.passed());
  EXPECT_EQ(end.step(), 1U);
  EXPECT_EQ(end.elapsed_ms(), 1000U);
  EXPECT_EQ(end.iterations(), 10000U);
  // The failed step never held: no StepEnd, no Resume or Pause of its own.
  EXPECT_EQ(sink.step_ends().size(), 1U);
  EXPECT_EQ(sink.resumes().size(), 1U);
  EXPECT_EQ(sink.pauses().size(), 1U);
  EXPECT_EQ(sink.step_reports().size(), 2U);
}

TEST_F(StepExecutorFrames, ScenarioEndFallsBackToTheBaselineWhenNoStepCompletes) {
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps {
      ops { kill_payload: "none" }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_FALSE(end.passed());
  const auto starts = sink.step_starts();
  ASSERT_FALSE(starts.empty());
  EXPECT_EQ(end.step(), 0U);
  EXPECT_EQ(end.elapsed_ms(), starts[0].elapsed_ms());
  EXPECT_EQ(end.iterations(), starts[0].total_iterations());
}

TEST_F(StepExecutorFrames, AScenarioWithoutStepsSendsStartBaselineAndEnd) {
  const auto end = run(R"pb(duration_s: 1)pb");
  const std::vector<Kind> expected{GuestMessage::kScenarioStart, GuestMessage::kStepStart,
                                   GuestMessage::kScenarioEnd};
  EXPECT_EQ(sink.kinds(), expected);
  EXPECT_TRUE(end.passed());
}

}  // namespace
}  // namespace kstep::guest::testing
