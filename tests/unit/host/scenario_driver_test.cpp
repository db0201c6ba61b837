#include "host/session/scenario_driver.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "host/session/scenario_summary.hpp"
#include "tests/unit/host/recording_control.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;

using testing::RecordingControl;

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

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

wire::Hello hello_with_sched_ext(bool supported) {
  wire::Hello hello;
  hello.set_kernel_release("6.1.0-test");
  hello.set_uptime_us(2'000'000);
  hello.mutable_sched_ext()->set_supported(supported);
  return hello;
}

TEST_F(ScenarioDriverTest, ASchedulerOnAKernelWithoutSchedExtIsRefusedAtHello) {
  run_.mutable_scheduler()->set_name("kstep-sched");
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_hello(hello_with_sched_ext(false), control_);
  EXPECT_TRUE(control_.sent.empty());  // no scenario: it could not run as asked
  ASSERT_TRUE(control_.unsupported);
  EXPECT_THAT(*control_.unsupported, HasSubstr("the kernel lacks sched_ext"));
  EXPECT_THAT(*control_.unsupported, HasSubstr("6.1.0-test"));
  EXPECT_THAT(*control_.unsupported, HasSubstr("kstep-sched"));
  EXPECT_TRUE(control_.shutdown);
}

TEST_F(ScenarioDriverTest, SchedulerOpsNeedSchedExtToo) {
  run_.mutable_scenario()->mutable_steps(1)->add_ops()->mutable_replace_scheduler()->set_payload("other");
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_hello(hello_with_sched_ext(false), control_);
  ASSERT_TRUE(control_.unsupported);
  EXPECT_THAT(*control_.unsupported, HasSubstr("scheduler ops"));
}

TEST_F(ScenarioDriverTest, WithoutASchedulerNoSchedExtIsFine) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_hello(hello_with_sched_ext(false), control_);
  EXPECT_EQ(control_.sent.size(), 1U);
  EXPECT_FALSE(control_.unsupported);
}

TEST_F(ScenarioDriverTest, ASchedulerDetailMakesItASchedulerFailureAndIsNamedFirst) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_message(frame("scenario_start { steps: 2 }"), control_);
  driver.on_message(frame(R"txt(scenario_end { passed: false
                     details { kind: STARVATION step: 2 cgroup: "web" message: "no progress" }
                     details { kind: SCHEDULER_STALLED step: 2 message: "runnable task stall" } })txt"),
                    control_);
  EXPECT_FALSE(control_.failure);
  EXPECT_EQ(control_.scheduler_failure, "step 2: SCHEDULER_STALLED: runnable task stall (and 1 more)");
}

TEST_F(ScenarioDriverTest, SchedulerEventsAreShownRecordedAndTimed) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_hello(hello_with_sched_ext(true), control_);
  driver.on_message(frame(R"txt(scheduler_event { kind: ATTACHED name: "kstep-sched" pid: 42 ops: "kstep"
                                                   attach_us: 420000 })txt"),
                    control_);
  driver.on_message(frame(R"txt(scheduler_event { kind: DIED name: "kstep-sched" pid: 42 step: 2
                                                   elapsed_ms: 3100 detail: SCHEDULER_CRASHED
                                                   message: "scx_bpf_error" kernel_disabled_us: 3000000
                                                   detected_us: 3004000 })txt"),
                    control_);
  EXPECT_FALSE(control_.protocol);
  EXPECT_THAT(progress_.str(), HasSubstr("scheduler 'kstep-sched' (pid 42) attached (ops kstep) in 0.42 s"));
  EXPECT_THAT(
      progress_.str(),
      HasSubstr("scheduler 'kstep-sched' (pid 42) SCHEDULER_CRASHED, step 2 at 3.10 s: scx_bpf_error"));
  ASSERT_EQ(driver.scheduler_events().size(), 2U);
  // Received on the guest's clock: Hello said 2 s of uptime, and the events
  // came (well) within a second after it.
  ASSERT_TRUE(driver.scheduler_events()[1].received_guest_us);
  EXPECT_GE(*driver.scheduler_events()[1].received_guest_us, 2'000'000U);
  EXPECT_LT(*driver.scheduler_events()[1].received_guest_us, 3'000'000U);
  const auto events = read_file(dir_ / "scheduler-events.txt");
  EXPECT_THAT(events, HasSubstr("kind: ATTACHED"));
  EXPECT_THAT(events, HasSubstr("kernel_disabled_us: 3000000"));
}

TEST_F(ScenarioDriverTest, BeforeHelloThereIsNoGuestClockToMapTo) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_message(frame(R"txt(scheduler_event { kind: DIED name: "s" detail: SCHEDULER_STALLED })txt"),
                    control_);
  ASSERT_EQ(driver.scheduler_events().size(), 1U);
  EXPECT_FALSE(driver.scheduler_events()[0].received_guest_us);
}

TEST_F(ScenarioDriverTest, SchedulerOutputGoesToItsFilesAndIsEchoedByWholeLines) {
  ScenarioDriver driver{run_, dir_, progress_};
  driver.on_message(frame(R"txt(payload_output { id: "kstep-sched" scheduler: true stream: STDOUT
                                                  data: "kstep-sched: att" })txt"),
                    control_);
  EXPECT_THAT(progress_.str(), ::testing::Not(HasSubstr("att")));
  driver.on_message(frame(R"txt(payload_output { id: "kstep-sched" scheduler: true stream: STDOUT
                                                  data: "ached mode=global\nsecond\n" })txt"),
                    control_);
  driver.on_message(frame(R"txt(payload_output { id: "kstep-sched" scheduler: true stream: STDERR
                                                  data: "state=enabled\n" })txt"),
                    control_);
  EXPECT_THAT(progress_.str(),
              HasSubstr("[kstep-sched] kstep-sched: attached mode=global\n[kstep-sched] second\n"));
  EXPECT_EQ(read_file(dir_ / "scheduler.stdout"), "kstep-sched: attached mode=global\nsecond\n");
  EXPECT_EQ(read_file(dir_ / "scheduler.stderr"), "state=enabled\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "payloads"));
}

}  // namespace
}  // namespace kstep::host
