#include "host/session/classify.hpp"

#include <gtest/gtest.h>

namespace kstep::host {
namespace {

SessionFacts clean_run() {
  SessionFacts facts;
  facts.hello_received = true;
  facts.shutdown_sent = true;
  facts.console_output_seen = true;
  return facts;
}

TEST(HostClassify, CleanRunPasses) {
  EXPECT_EQ(classify(clean_run()).outcome, Outcome::kPass);
}

TEST(HostClassify, SplatBeatsEverythingButInterrupt) {
  auto facts = clean_run();
  facts.splats.push_back(Splat{SplatKind::kOops, 12, "Oops: 0000"});
  facts.protocol_error = "truncated";
  facts.inactivity_timeout = true;
  const auto result = classify(facts);
  EXPECT_EQ(result.outcome, Outcome::kKernelPanic);
  EXPECT_NE(result.reason.find("line 12"), std::string::npos);
  facts.interrupted = true;
  EXPECT_EQ(classify(facts).outcome, Outcome::kInterrupted);
}

TEST(HostClassify, ProtocolErrorBeatsHang) {
  SessionFacts facts;
  facts.protocol_error = "bad magic at byte offset 0";
  facts.inactivity_timeout = true;
  EXPECT_EQ(classify(facts).outcome, Outcome::kProtocolError);
  EXPECT_EQ(classify(facts).reason, "bad magic at byte offset 0");
}

TEST(HostClassify, SilenceIsAHang) {
  SessionFacts facts;
  facts.inactivity_timeout = true;
  EXPECT_EQ(classify(facts).outcome, Outcome::kGuestHang);
  facts = clean_run();
  facts.ignored_shutdown = true;
  EXPECT_EQ(classify(facts).outcome, Outcome::kGuestHang);
}

TEST(HostClassify, NoHelloIsABootFailureUnlessQemuItselfFailed) {
  SessionFacts facts;
  facts.console_output_seen = true;
  EXPECT_EQ(classify(facts).outcome, Outcome::kBootFailure);
  facts.guest_fatal = "cannot mount cgroup2";
  EXPECT_EQ(classify(facts).outcome, Outcome::kBootFailure);
  EXPECT_NE(classify(facts).reason.find("cannot mount cgroup2"), std::string::npos);

  SessionFacts qemu_broke;
  qemu_broke.qemu_failure = "QEMU exited with status 1";
  EXPECT_EQ(classify(qemu_broke).outcome, Outcome::kInfrastructureError);
  qemu_broke.console_output_seen = true;  // the kernel ran: it is the guest's failure
  EXPECT_EQ(classify(qemu_broke).outcome, Outcome::kBootFailure);
}

TEST(HostClassify, AfterHello) {
  auto facts = clean_run();
  facts.guest_fatal = "out of memory";
  EXPECT_EQ(classify(facts).outcome, Outcome::kInfrastructureError);
  facts = clean_run();
  facts.scenario_failure = "step 2: GAP in cgroup web";
  EXPECT_EQ(classify(facts).outcome, Outcome::kScenarioFailure);
  EXPECT_EQ(classify(facts).reason, "the scenario failed: step 2: GAP in cgroup web");
  facts = clean_run();
  facts.shutdown_sent = false;
  EXPECT_EQ(classify(facts).outcome, Outcome::kScenarioFailure);
}

TEST(HostClassify, ASchedulerDeathIsTheCauseOfTheFailedChecksItBrings) {
  auto facts = clean_run();
  facts.scenario_failure = "step 2: STARVATION in cgroup web";
  facts.scheduler_failure = "scheduler 'kstep-sched' crashed during step 2 at 3.1 s";
  EXPECT_EQ(classify(facts).outcome, Outcome::kSchedulerFailure);
  EXPECT_EQ(classify(facts).reason, "scheduler 'kstep-sched' crashed during step 2 at 3.1 s");
  // Evidence from the kernel still wins.
  facts.splats.push_back(Splat{SplatKind::kOops, 12, "Oops: 0000"});
  EXPECT_EQ(classify(facts).outcome, Outcome::kKernelPanic);
}

TEST(HostClassify, AKernelWithoutSchedExtCannotRunAScheduler) {
  auto facts = clean_run();
  facts.kernel_unsupported = "the kernel lacks sched_ext";
  facts.scheduler_failure = "never attached";
  EXPECT_EQ(classify(facts).outcome, Outcome::kKernelUnsupported);
  EXPECT_EQ(classify(facts).reason, "the kernel lacks sched_ext");
}

}  // namespace
}  // namespace kstep::host
