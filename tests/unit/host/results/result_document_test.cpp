// The result document assembled from a recorded frame stream, its JSON
// round trip, and the JUnit file made from it.
#include "host/results/result_document.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "host/results/junit_report.hpp"
#include "tests/unit/host/recording_control.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;

wire::GuestMessage frame(const std::string& text) {
  wire::GuestMessage message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

class ResultDocumentTest : public ::testing::Test {
 protected:
  ResultDocumentTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("kstep-result-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    run_.mutable_scenario()->set_name("two");
    run_.mutable_scenario()->add_steps()->set_name("first");
    run_.mutable_scenario()->add_steps()->set_name("second");
  }
  ~ResultDocumentTest() override { std::filesystem::remove_all(dir_); }

  // Feeds the frames of a run whose step 2 crashed its scheduler.
  void feed(ScenarioDriver& driver) {
    for (const char* text : {
             "scenario_start { steps: 2 }",
             "step_start { step: 0 }",
             "step_start { step: 1 elapsed_ms: 10 total_iterations: 100 worker_count: 2 }",
             "scenario_resume { step: 1 elapsed_ms: 10 }",
             "scenario_pause { step: 1 elapsed_ms: 1010 }",
             "step_end { step: 1 elapsed_ms: 1010 iterations: 2100 }",
             "step_report { step: 1 }",
             R"txt(scheduler_event { kind: DIED name: "kstep-sched" step: 2 detail: SCHEDULER_CRASHED })txt",
             "step_start { step: 2 elapsed_ms: 1020 total_iterations: 2100 worker_count: 2 }",
             R"txt(scenario_end { step: 1 elapsed_ms: 1010 iterations: 2100
                   details { kind: SCHEDULER_CRASHED step: 2 message: "crashed <&> \"x\"\nsecond line" } })txt",
         }) {
      driver.on_message(frame(text), control_);
    }
    ASSERT_FALSE(control_.protocol) << *control_.protocol;
  }

  [[nodiscard]] ResultInputs inputs(const ScenarioDriver& driver, Outcome outcome) const {
    result::RunMetadata metadata;
    metadata.set_kernel_release("7.3.4+test");
    metadata.set_scenario("two");
    return ResultInputs{metadata, Classification{outcome, "why"}, &driver, dir_,
                        std::chrono::milliseconds{5500}};
  }

  std::filesystem::path dir_;
  wire::RunScenario run_;
  std::ostringstream progress_;
  testing::RecordingControl control_;
};

TEST_F(ResultDocumentTest, PairsStepFramesIntoThroughputAndKeepsDetailsAndEvents) {
  ScenarioDriver driver{run_, dir_, progress_};
  feed(driver);
  const auto doc = assemble_result(inputs(driver, Outcome::kSchedulerFailure));
  EXPECT_EQ(doc.schema_version(), kResultSchemaVersion);
  EXPECT_EQ(doc.outcome(), "scheduler-failure");
  EXPECT_EQ(doc.exit_code(), 5);
  EXPECT_EQ(doc.verdict(), result::FAIL);
  EXPECT_EQ(doc.total_ms(), 5500U);
  ASSERT_EQ(doc.steps_size(), 2);
  const auto& first = doc.steps(0);
  EXPECT_TRUE(first.completed());
  EXPECT_EQ(first.hold_ms(), 1000U);
  EXPECT_EQ(first.iterations(), 2000U);
  EXPECT_DOUBLE_EQ(first.iterations_per_s(), 2000.0);
  EXPECT_EQ(first.workers(), 2U);
  const auto& second = doc.steps(1);
  EXPECT_TRUE(second.started());
  EXPECT_FALSE(second.completed());  // its StepEnd never came
  ASSERT_EQ(doc.details_size(), 1);
  EXPECT_EQ(doc.details(0).kind(), wire::Detail::SCHEDULER_CRASHED);
  ASSERT_EQ(doc.scheduler_events_size(), 1);
}

TEST_F(ResultDocumentTest, JsonRoundTripsThroughARunDirectory) {
  ScenarioDriver driver{run_, dir_, progress_};
  feed(driver);
  const auto doc = assemble_result(inputs(driver, Outcome::kSchedulerFailure));
  const auto json = to_json(doc);
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_THAT(*json, HasSubstr("\"schemaVersion\": 1"));
  EXPECT_THAT(*json, HasSubstr("\"iterationsPerS\": 2000"));
  std::ofstream{dir_ / "result.json"} << *json;
  const auto back = read_result(dir_);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->SerializeAsString(), doc.SerializeAsString());
}

TEST_F(ResultDocumentTest, AForeignOrMissingFileIsNamed) {
  const auto missing = read_result(dir_);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr((dir_ / "result.json").string()));
  std::ofstream{dir_ / "result.json"} << "{\"outcome\": 3}";
  const auto foreign = read_result(dir_ / "result.json");
  ASSERT_FALSE(foreign);
  EXPECT_THAT(foreign.error().message, HasSubstr("not a kstep result"));
  std::ofstream{dir_ / "result.json"} << "{\"schemaVersion\": 99}";
  const auto future = read_result(dir_ / "result.json");
  ASSERT_FALSE(future);
  EXPECT_THAT(future.error().message, HasSubstr("schema version 99"));
}

TEST(ResultVerdict, FailOutranksInconclusiveOutranksPassOutranksSkip) {
  EXPECT_EQ(verdict_of(Outcome::kPass), result::PASS);
  for (auto outcome : {Outcome::kScenarioFailure, Outcome::kKernelPanic, Outcome::kGuestHang,
                       Outcome::kBootFailure, Outcome::kSchedulerFailure}) {
    EXPECT_EQ(verdict_of(outcome), result::FAIL) << to_string(outcome);
  }
  for (auto outcome : {Outcome::kProtocolError, Outcome::kInfrastructureError, Outcome::kInterrupted}) {
    EXPECT_EQ(verdict_of(outcome), result::INCONCLUSIVE) << to_string(outcome);
  }
  EXPECT_EQ(verdict_of(Outcome::kUsageError), result::SKIP);
  EXPECT_EQ(verdict_of(Outcome::kKernelUnsupported), result::SKIP);
}

TEST_F(ResultDocumentTest, JUnitHasOneTestcaseWithEachDetailAsAnEscapedFailure) {
  ScenarioDriver driver{run_, dir_, progress_};
  feed(driver);
  const auto xml = render_junit(assemble_result(inputs(driver, Outcome::kSchedulerFailure)));
  EXPECT_THAT(xml, HasSubstr(R"(<testsuite name="kstep.7.3.4+test" tests="1" failures="1" errors="0")"));
  EXPECT_THAT(xml, HasSubstr(R"(<testcase classname="kstep.7.3.4+test" name="two" time="5.500">)"));
  EXPECT_THAT(
      xml, HasSubstr(R"(<failure message="crashed &lt;&amp;&gt; &quot;x&quot;" type="SCHEDULER_CRASHED">)"));
  EXPECT_THAT(xml, HasSubstr("step 2: crashed &lt;&amp;&gt; &quot;x&quot;\nsecond line</failure>"));
}

TEST_F(ResultDocumentTest, JUnitSaysErrorForInconclusiveAndSkippedForSkip) {
  ScenarioDriver driver{run_, dir_, progress_};
  EXPECT_THAT(render_junit(assemble_result(inputs(driver, Outcome::kInfrastructureError))),
              HasSubstr(R"(<error message="why" type="infrastructure-error"/>)"));
  EXPECT_THAT(render_junit(assemble_result(inputs(driver, Outcome::kKernelUnsupported))),
              HasSubstr(R"(<skipped>why</skipped>)"));
  const auto pass = render_junit(assemble_result(inputs(driver, Outcome::kPass)));
  EXPECT_THAT(pass, HasSubstr(R"(failures="0" errors="0" skipped="0")"));
  EXPECT_THAT(pass, ::testing::Not(HasSubstr("<failure")));
}

TEST(JUnitXml, EscapesSpecialsAndDropsWhatXmlCannotHold) {
  EXPECT_EQ(xml_escape("a<b>&\"c'\x01\td\n"), "a&lt;b&gt;&amp;&quot;c&apos;\td\n");
}

}  // namespace
}  // namespace kstep::host
