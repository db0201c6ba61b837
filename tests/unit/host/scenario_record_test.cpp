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

wire::GuestMessage end(std::uint32_t step, std::uint32_t elapsed, std::uint64_t iterations) {
  wire::GuestMessage message;
  message.mutable_scenario_end()->set_step(step);
  message.mutable_scenario_end()->set_elapsed_ms(elapsed);
  message.mutable_scenario_end()->set_iterations(iterations);
  message.mutable_scenario_end()->set_passed(true);
  return message;
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
  EXPECT_THAT(first_error({step_start(0, 0)}), HasSubstr("step_start before ScenarioStart"));
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
  EXPECT_THAT(first_error(after_end), HasSubstr("step_report after ScenarioEnd"));
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
  // Step 2 failed in its ops: no hold, no StepEnd; ScenarioEnd repeats step 1.
  EXPECT_EQ(first_error({start(2), step_start(0, 0), step_start(1, 1), resume(1, 1), pause(1, 100),
                         step_end(1, 100, 7), report(1), step_start(2, 101), report(2), end(1, 100, 7)}),
            "");
}

}  // namespace
}  // namespace kstep::host
