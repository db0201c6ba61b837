#include "host/session/scenario_record.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kstep::host {
namespace {

using ::testing::HasSubstr;

wire::GuestMessage start(std::uint32_t steps) {
  wire::GuestMessage message;
  message.mutable_scenario_start()->set_name("t");
  message.mutable_scenario_start()->set_steps(steps);
  return message;
}

wire::GuestMessage step_start(std::uint32_t step, std::uint32_t elapsed, std::uint64_t iterations = 0) {
  wire::GuestMessage message;
  message.mutable_step_start()->set_step(step);
  message.mutable_step_start()->set_elapsed_ms(elapsed);
  message.mutable_step_start()->set_total_iterations(iterations);
  return message;
}

wire::GuestMessage resume(std::uint32_t step, std::uint32_t elapsed) {
  wire::GuestMessage message;
  message.mutable_scenario_resume()->set_step(step);
  message.mutable_scenario_resume()->set_elapsed_ms(elapsed);
  return message;
}

wire::GuestMessage pause(std::uint32_t step, std::uint32_t elapsed) {
  wire::GuestMessage message;
  message.mutable_scenario_pause()->set_step(step);
  message.mutable_scenario_pause()->set_elapsed_ms(elapsed);
  return message;
}

wire::GuestMessage step_end(std::uint32_t step, std::uint32_t elapsed, std::uint64_t iterations) {
  wire::GuestMessage message;
  message.mutable_step_end()->set_step(step);
  message.mutable_step_end()->set_elapsed_ms(elapsed);
  message.mutable_step_end()->set_iterations(iterations);
  return message;
}

wire::GuestMessage report(std::uint32_t step) {
  wire::GuestMessage message;
  message.mutable_step_report()->set_step(step);
  return message;
}

wire::GuestMessage end(std::uint32_t step, std::uint32_t elapsed, std::uint64_t iterations,
                       bool passed = true) {
  wire::GuestMessage message;
  message.mutable_scenario_end()->set_step(step);
  message.mutable_scenario_end()->set_elapsed_ms(elapsed);
  message.mutable_scenario_end()->set_iterations(iterations);
  message.mutable_scenario_end()->set_passed(passed);
  return message;
}

wire::GuestMessage failed_end(std::uint32_t step, std::uint32_t elapsed, std::uint64_t iterations) {
  return end(step, elapsed, iterations, false);
}

std::vector<wire::GuestMessage> two_steps() {
  return {start(2),          step_start(0, 0),         step_start(1, 10, 0),
          resume(1, 10),     pause(1, 1010),           step_end(1, 1010, 500),
          report(1),         step_start(2, 1020, 500), resume(2, 1020),
          pause(2, 2020),    step_end(2, 2020, 2500),  report(2),
          end(2, 2020, 2500)};
}

std::string first_error(const std::vector<wire::GuestMessage>& frames) {
  ScenarioRecord record;
  for (const auto& frame : frames) {
    if (auto added = record.add(frame); !added) {
      return added.error().message;
    }
  }
  return {};
}

TEST(ScenarioRecord, AcceptsTheExecutorsOrderAndComputesThroughput) {
  ScenarioRecord record;
  for (const auto& frame : two_steps()) {
    ASSERT_TRUE(record.add(frame)) << frame.ShortDebugString();
  }
  ASSERT_EQ(record.steps().size(), 2U);
  ASSERT_TRUE(record.end());
  EXPECT_DOUBLE_EQ(step_throughput(record.steps()[0]).value(), 500.0);
  EXPECT_DOUBLE_EQ(step_throughput(record.steps()[1]).value(), 2000.0);
}

TEST(ScenarioRecord, OutOfOrderFramesAreNamed) {
  auto frames = two_steps();
  std::swap(frames[3], frames[4]);  // pause before resume
  EXPECT_THAT(first_error(frames), HasSubstr("ScenarioPause for step 1 without a ScenarioResume"));
  EXPECT_THAT(first_error({step_start(0, 0)}), HasSubstr("StepStart for step 0 before ScenarioStart"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(2, 5)}),
              HasSubstr("StepStart for step 2 where step 1 was expected"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_end(1, 5, 0)}),
              HasSubstr("StepEnd for step 1 without its StepStart"));
}

TEST(ScenarioRecord, DuplicatesAreErrors) {
  auto frames = two_steps();
  frames.insert(frames.begin() + 6, frames[5]);  // StepEnd 1 twice
  EXPECT_THAT(first_error(frames), HasSubstr("a second StepEnd for step 1"));
  EXPECT_THAT(first_error({start(1), start(1)}), HasSubstr("a second ScenarioStart"));
  auto after_end = two_steps();
  after_end.push_back(report(2));
  EXPECT_THAT(first_error(after_end), HasSubstr("StepReport for step 2 after ScenarioEnd"));
}

TEST(ScenarioRecord, ScenarioEndMustRepeatTheLastStepEnd) {
  auto frames = two_steps();
  frames.back() = end(2, 2020, 2499);
  EXPECT_THAT(first_error(frames),
              HasSubstr("the last completed step was (step 2, 2020 ms, 2500 iterations)"));
}

TEST(ScenarioRecord, TimeMustNotGoBackwards) {
  EXPECT_THAT(first_error({start(1), step_start(0, 50), step_start(1, 40)}), HasSubstr("goes back in time"));
}

TEST(ScenarioRecord, AFailedStepMayStopEarly) {
  const std::vector<wire::GuestMessage> step1 = {start(3),     step_start(0, 0), step_start(1, 1),
                                                 resume(1, 1), pause(1, 100),    step_end(1, 100, 7),
                                                 report(1)};
  auto with = [&](std::vector<wire::GuestMessage> rest) {
    auto frames = step1;
    frames.insert(frames.end(), rest.begin(), rest.end());
    return frames;
  };
  // Step 2 failed after its stimulus, before holding: no hold, no StepEnd;
  // ScenarioEnd repeats step 1.
  EXPECT_EQ(first_error(with({step_start(2, 101), report(2), failed_end(1, 100, 7)})), "");
  // Step 2 failed during its hold (its scheduler died): paused, no StepEnd.
  EXPECT_EQ(first_error(
                with({step_start(2, 101), resume(2, 101), pause(2, 150), report(2), failed_end(1, 100, 7)})),
            "");
  // Step 2 failed in its ops: the executor sends no StepStart, only the report.
  ScenarioRecord record;
  for (const auto& frame : with({report(2), failed_end(1, 100, 7)})) {
    ASSERT_TRUE(record.add(frame)) << frame.ShortDebugString();
  }
  ASSERT_EQ(record.steps().size(), 2U);
  EXPECT_FALSE(record.steps()[1].start);
  EXPECT_TRUE(record.steps()[1].report);
  // A scenario that could not start sends a failed ScenarioEnd alone.
  EXPECT_EQ(first_error({failed_end(0, 0, 0)}), "");
}

TEST(ScenarioRecord, AMissingStepEndIsNamedWithItsStep) {
  // StepStart 2 after StepStart 1 without StepEnd 1: a failed step ends the
  // scenario, so step 2 cannot follow it.
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(1, 1), resume(1, 1), pause(1, 100),
                           report(1), step_start(2, 101)}),
              HasSubstr("StepStart for step 2 but step 1 has no StepEnd"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(1, 1), step_start(2, 101)}),
              HasSubstr("StepStart for step 2 but step 1 has no StepEnd"));
  // The same for a step that failed in its ops (only its StepReport came).
  EXPECT_THAT(first_error({start(2), step_start(0, 0), report(1), step_start(2, 101)}),
              HasSubstr("StepStart for step 2 but step 1 has no StepEnd"));
  // A passed ScenarioEnd needs StepEnd (and StepReport) of every step that started.
  EXPECT_THAT(first_error({start(1), step_start(0, 0), step_start(1, 1), resume(1, 1), pause(1, 100),
                           report(1), end(0, 0, 0)}),
              HasSubstr("ScenarioEnd says passed but step 1 has no StepEnd"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(1, 1), resume(1, 1), pause(1, 100),
                           step_end(1, 100, 7), end(1, 100, 7)}),
              HasSubstr("ScenarioEnd says passed but step 1 has no StepReport"));
  EXPECT_THAT(first_error({start(1), step_start(0, 0), report(1), end(0, 0, 0)}),
              HasSubstr("ScenarioEnd says passed but step 1 has no StepStart"));
  EXPECT_THAT(first_error({end(0, 0, 0)}), HasSubstr("ScenarioEnd says passed without a ScenarioStart"));
  EXPECT_THAT(first_error({start(0), end(0, 0, 0)}),
              HasSubstr("ScenarioEnd says passed without the baseline StepStart (step 0)"));
}

TEST(ScenarioRecord, FramesOutOfTheirStepsOrderAreNamed) {
  EXPECT_THAT(first_error({start(2), step_start(1, 1)}),
              HasSubstr("StepStart for step 1 before the baseline StepStart (step 0)"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(1, 1), step_end(1, 5, 0)}),
              HasSubstr("StepEnd for step 1 before its ScenarioResume"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(1, 1), resume(1, 1), report(1)}),
              HasSubstr("StepReport for step 1 before its ScenarioPause"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), step_start(1, 1), resume(1, 1), pause(1, 5), report(1),
                           resume(1, 6)}),
              HasSubstr("ScenarioResume for step 1 after its StepReport"));
  EXPECT_THAT(first_error({start(2), step_start(0, 0), report(2)}),
              HasSubstr("StepReport for step 2 where step 1 was expected"));
  EXPECT_THAT(first_error({start(2), wire::GuestMessage{}}), HasSubstr("a frame without a body"));
}

// Swapping any two neighbouring frames of a good run is an error that names
// one of them.
TEST(ScenarioRecord, EverySwapOfNeighbouringFramesIsAnError) {
  const auto good = two_steps();
  auto type = [](const wire::GuestMessage& message) {
    return message.GetDescriptor()->FindFieldByNumber(message.body_case())->message_type()->name();
  };
  for (std::size_t i = 0; i + 1 < good.size(); ++i) {
    auto frames = good;
    std::swap(frames[i], frames[i + 1]);
    const auto error = first_error(frames);
    EXPECT_THAT(error, ::testing::AnyOf(HasSubstr(type(good[i])), HasSubstr(type(good[i + 1]))))
        << "frames " << i << " and " << i + 1 << " swapped";
  }
}

// Repeating any frame of a good run right after itself is an error that
// names the frame and its step.
TEST(ScenarioRecord, EveryRepeatedFrameIsAnError) {
  const auto good = two_steps();
  const std::vector<std::string> expected = {
      "a second ScenarioStart",
      "a second baseline StepStart (step 0)",
      "a second StepStart for step 1",
      "a second ScenarioResume for step 1",
      "a second ScenarioPause for step 1",
      "a second StepEnd for step 1",
      "a second StepReport for step 1",
      "a second StepStart for step 2",
      "a second ScenarioResume for step 2",
      "a second ScenarioPause for step 2",
      "a second StepEnd for step 2",
      "a second StepReport for step 2",
      "a second ScenarioEnd",
  };
  ASSERT_EQ(expected.size(), good.size());
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto frames = good;
    frames.insert(frames.begin() + static_cast<std::ptrdiff_t>(i) + 1, good[i]);
    EXPECT_THAT(first_error(frames), HasSubstr(expected[i])) << "frame " << i << " repeated";
  }
}

}  // namespace
}  // namespace kstep::host
