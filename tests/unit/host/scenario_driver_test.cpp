#include "host/session/scenario_driver.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "host/session/scenario_summary.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;

class RecordingControl final : public SessionControl {
 public:
  void send(const wire::HostMessage& message) override { sent.push_back(message); }
  void request_shutdown(const std::string& reason) override { shutdown = reason; }
  void protocol_error(const std::string& what) override { protocol = what; }
  void scenario_failed(const std::string& reason) override { failure = reason; }

  std::vector<wire::HostMessage> sent;
  std::optional<std::string> shutdown;
  std::optional<std::string> protocol;
  std::optional<std::string> failure;
};

class ScenarioDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kstep-driver-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    run_.mutable_scenario()->set_name("two");
    run_.mutable_scenario()->set_duration_s(2);
    run_.mutable_scenario()->add_steps()->set_name("first");
    run_.mutable_scenario()->add_steps()->set_name("second");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static wire::GuestMessage frame(const std::string& text) {
    wire::GuestMessage message;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
    return message;
  }

  std::filesystem::path dir_;
  wire::RunScenario run_;
  std::ostringstream progress_;
  RecordingControl control_;
};

TEST_F(ScenarioDriverTest, SendsTheScenarioOnHelloAndShutsDownAtTheEnd) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_hello(wire::Hello{}, control_);
  ASSERT_EQ(control_.sent.size(), 1U);
  EXPECT_EQ(control_.sent[0].run_scenario().scenario().name(), "two");
  for (const char* text :
       {"scenario_start { steps: 2 }", "step_start { step: 0 }", "step_start { step: 1 elapsed_ms: 1 }",
        "scenario_resume { step: 1 elapsed_ms: 1 }", "scenario_pause { step: 1 elapsed_ms: 1001 }",
        "step_end { step: 1 elapsed_ms: 1001 iterations: 4000 }", "step_report { step: 1 }"}) {
    driver.on_message(frame(text), control_);
  }
  EXPECT_FALSE(control_.shutdown);
  driver.on_message(frame("scenario_end { step: 1 elapsed_ms: 1001 iterations: 4000 passed: true }"),
                    control_);
  EXPECT_EQ(control_.shutdown, "scenario complete");
  EXPECT_FALSE(control_.failure);
  EXPECT_FALSE(control_.protocol);
  EXPECT_THAT(progress_.str(), HasSubstr("step 1/2 [##########..........] first"));

  const auto table = render_step_table(run_.scenario(), driver.record());
  EXPECT_THAT(table, HasSubstr("4000"));
  EXPECT_THAT(table, HasSubstr("not run"));  // step 2
  ASSERT_TRUE(write_scenario_files(dir_, run_.scenario(), driver.record()));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "steps.txt"));
  std::ifstream reports{dir_ / "reports.txt"};
  std::stringstream text;
  text << reports.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("scenario_end"));
}

TEST_F(ScenarioDriverTest, AFailedScenarioNamesItsFirstDetail) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_message(frame("scenario_start { steps: 2 }"), control_);
  driver.on_message(
      frame(
          R"txt(scenario_end { passed: false details { kind: GAP step: 2 cgroup: "web" message: "gap of 900 ms" }
                   details { kind: STARVATION step: 2 } })txt"),
      control_);
  EXPECT_EQ(control_.failure, "step 2, cgroup web: GAP: gap of 900 ms (and 1 more)");
  EXPECT_TRUE(control_.shutdown);
}

TEST_F(ScenarioDriverTest, FramesOutOfOrderAreAProtocolError) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_message(frame("step_start { step: 0 }"), control_);
  ASSERT_TRUE(control_.protocol);
  EXPECT_THAT(*control_.protocol, HasSubstr("before ScenarioStart"));
}

TEST_F(ScenarioDriverTest, PayloadOutputGoesToFilesNamedSafely) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_message(frame(R"txt(payload_output { id: "../x y" stream: STDOUT data: "hello " })txt"),
                    control_);
  driver.on_message(frame(R"txt(payload_output { id: "../x y" stream: STDOUT data: "world" })txt"), control_);
  driver.on_message(frame(R"txt(payload_output { id: "../x y" stream: STDERR data: "oops" })txt"), control_);
  std::ifstream out{dir_ / "payloads" / "_._x_y.stdout"};
  std::stringstream text;
  text << out.rdbuf();
  EXPECT_EQ(text.str(), "hello world");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "payloads" / "_._x_y.stderr"));
}

}  // namespace
}  // namespace kstep::host
