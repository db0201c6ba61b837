// Holds: clamping to the scenario's time, slicing, loop steps.
#include <gtest/gtest.h>

#include <cmath>

#include "guest/executor/hold.hpp"
#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using namespace std::chrono_literals;

class StepExecutorHold : public ExecutorFixture {};

TEST_F(StepExecutorHold, IsClampedToTheTimeLeftInTheScenario) {
  const auto end = run(R"pb(
    duration_s: 5
    steps { hold { seconds: 3 } }
    steps { hold { seconds: 10 } }
    steps { hold { fraction: 0.5 } }
  )pb");
  const auto resumes = sink.resumes();
  ASSERT_EQ(resumes.size(), 3U);
  EXPECT_EQ(resumes[0].hold_ms(), 3000U);
  EXPECT_EQ(resumes[1].hold_ms(), 2000U);  // 10 s asked, 2 s left
  EXPECT_EQ(resumes[2].hold_ms(), 0U);     // nothing left
  const auto ends = sink.step_ends();
  ASSERT_EQ(ends.size(), 3U);
  EXPECT_EQ(ends[1].elapsed_ms(), 5000U);
  EXPECT_EQ(ends[2].elapsed_ms(), 5000U);
  EXPECT_TRUE(end.passed());
}

TEST_F(StepExecutorHold, SleepsInSlicesOfAtMostAHundredMilliseconds) {
  (void)run(R"pb(
    duration_s: 10
    steps { hold { seconds: 1.05 } }
  )pb");
  ASSERT_EQ(clock.sleeps().size(), 11U);
  for (const auto slept : clock.sleeps()) {
    EXPECT_LE(slept, kHoldSlice);
  }
  EXPECT_EQ(clock.sleeps().back(), 50ms);
}

TEST_F(StepExecutorHold, ALoopStepRunsItsSetupOnceAndItsOpsEveryIntervalUntilTheDeadline) {
  const auto end = run(R"pb(
    duration_s: 1
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
      hold { loop { interval_s: 0.3 } }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  const auto groups = workers.groups_in("a");
  ASSERT_EQ(groups.size(), 1U);  // setup ran once
  // At 0, 300, 600 and 900 ms.
  EXPECT_EQ(groups[0]->affinity_calls.size(), 4U);
  ASSERT_EQ(sink.resumes().size(), 1U);
  EXPECT_EQ(sink.resumes()[0].hold_ms(), 1000U);  // the time left
  ASSERT_EQ(sink.step_ends().size(), 1U);
  EXPECT_EQ(sink.step_ends()[0].elapsed_ms(), 1000U);
}

TEST_F(StepExecutorHold, ALoopStepAfterOtherStepsOnlyUsesWhatIsLeft) {
  (void)run(R"pb(
    duration_s: 2
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps { hold { seconds: 1.5 } }
    steps {
      ops {
        set_affinity {
          cgroup: "bd"
          cpus { cpus: "1" }
        }
      }
      hold { loop { interval_s: 0.1 } }
    }
  )pb");
  ASSERT_EQ(workers.groups.size(), 1U);
  EXPECT_EQ(workers.groups[0]->affinity_calls.size(), 5U);  // 1500, 1600, ..., 1900 ms
}

TEST_F(StepExecutorHold, ALoopStepWithNoTimeLeftAppliesNothing) {
  (void)run(R"pb(
    duration_s: 1
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps { hold { seconds: 1 } }
    steps {
      ops {
        set_affinity {
          cgroup: "bd"
          cpus { cpus: "1" }
        }
      }
      hold { loop { interval_s: 0.1 } }
    }
  )pb");
  ASSERT_EQ(workers.groups.size(), 1U);
  EXPECT_TRUE(workers.groups[0]->affinity_calls.empty());
  EXPECT_EQ(sink.step_ends().size(), 2U);
}

TEST_F(StepExecutorHold, AFailingLoopOpFailsTheStepAfterItsResume) {
  const auto end = run(R"pb(
    duration_s: 1
    steps {
      ops { add_cgroup: "again" }
      hold { loop { interval_s: 0.25 } }
    }
  )pb");
  // The first round creates "again", the second finds it there.
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("already exists"), std::string::npos) << failed[0].message();
  EXPECT_EQ(failed[0].elapsed_ms(), 250U);
  // A Resume was sent, so its Pause is too; no StepEnd.
  EXPECT_EQ(sink.resumes().size(), 1U);
  EXPECT_EQ(sink.pauses().size(), 1U);
  EXPECT_TRUE(sink.step_ends().empty());
  EXPECT_FALSE(exists("again"));
}

TEST_F(StepExecutorHold, InvalidHoldsFailTheRunBeforeAnythingIsCreated) {
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps { hold { seconds: 1 } }
    steps { hold { fraction: 1.5 } }
    steps { hold { loop { interval_s: -1 } } }
  )pb");
  EXPECT_FALSE(end.passed());
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 2U);
  EXPECT_EQ(failed[0].step(), 2U);
  EXPECT_NE(failed[0].message().find("fraction 1.5"), std::string::npos) << failed[0].message();
  EXPECT_EQ(failed[1].step(), 3U);
  EXPECT_TRUE(workers.groups.empty());
  EXPECT_FALSE(exists("bd"));
  const std::vector<wire::GuestMessage::BodyCase> expected{wire::GuestMessage::kScenarioStart,
                                                           wire::GuestMessage::kScenarioEnd};
  EXPECT_EQ(sink.kinds(), expected);
  EXPECT_EQ(end.backdrop().details_size(), 2);
}

TEST(ExecutorHold, ClampsInSecondsWithoutOverflow) {
  scenario::Hold hold;
  hold.set_seconds(1e300);
  EXPECT_EQ(clamped_hold(hold, 10, 3s), 3s);
  hold.set_fraction(0.25);
  EXPECT_EQ(clamped_hold(hold, 10, 3s), 2500ms);
  EXPECT_EQ(clamped_hold(hold, 10, -3s), 0s);
  EXPECT_EQ(clamped_hold(scenario::Hold{}, 10, 3s), 0s);
}

TEST(ExecutorHold, ValidatesUnitsAndRanges) {
  scenario::Hold hold;
  EXPECT_TRUE(validate_hold(hold));  // unset: a zero hold
  hold.set_fraction(1.0);
  EXPECT_TRUE(validate_hold(hold));
  hold.set_fraction(0.0);
  EXPECT_FALSE(validate_hold(hold));
  hold.set_seconds(std::nan(""));
  EXPECT_FALSE(validate_hold(hold));
  hold.mutable_loop()->set_interval_s(0.001);
  EXPECT_TRUE(validate_hold(hold));
  EXPECT_FALSE(validate_duration(0));
  EXPECT_FALSE(validate_duration(1e9));
  EXPECT_TRUE(validate_duration(1e7));
}

TEST(ExecutorHold, LoopIntervalsHaveAFloor) {
  scenario::Loop loop;
  loop.set_interval_s(1e-9);
  EXPECT_EQ(loop_interval(loop), kMinLoopInterval);
  loop.set_interval_s(0.25);
  EXPECT_EQ(loop_interval(loop), 250ms);
}

}  // namespace
}  // namespace kstep::guest::testing
