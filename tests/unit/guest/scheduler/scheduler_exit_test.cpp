// Reading the kernel's disable record and classifying a scheduler's death.
#include "guest/scheduler/scheduler_exit.hpp"

#include <signal.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kstep::guest {
namespace {

using ::testing::HasSubstr;

KmsgRecord at(std::uint64_t timestamp_us, std::string text) {
  return KmsgRecord{timestamp_us, std::move(text)};
}

// The two lines kernel/sched/ext.c logs for a watchdog disable.
std::vector<KmsgRecord> stall_records() {
  return {
      at(100, "sched_ext: BPF scheduler \"kstep\" disabled (runnable task stall)"),
      at(101, "sched_ext: kstep: kworker/0:1[123] failed to run for 2.256s"),
  };
}

TEST(FindKernelDisable, ReadsTheOpsTheReasonAndTheMessageLine) {
  const auto disable = find_kernel_disable(stall_records());
  ASSERT_TRUE(disable.has_value());
  EXPECT_EQ(disable->ops, "kstep");
  EXPECT_EQ(disable->reason, "runnable task stall");
  EXPECT_EQ(disable->message, "kworker/0:1[123] failed to run for 2.256s");
  EXPECT_EQ(disable->timestamp_us, 100U);
}

TEST(FindKernelDisable, SkipsOtherLinesBetweenTheDisableAndItsMessage) {
  const auto disable = find_kernel_disable({
      at(5, "EXT4-fs (vda): mounted filesystem"),
      at(10, "sched_ext: BPF scheduler \"simple\" disabled (scx_bpf_error)"),
      at(11, "random: crng init done"),
      at(12, "sched_ext: other: not this one's message"),
      at(13, "sched_ext: simple: the map lookup failed"),
  });
  ASSERT_TRUE(disable.has_value());
  EXPECT_EQ(disable->ops, "simple");
  EXPECT_EQ(disable->reason, "scx_bpf_error");
  EXPECT_EQ(disable->message, "the map lookup failed");
  EXPECT_EQ(disable->timestamp_us, 10U);
}

TEST(FindKernelDisable, ACleanDisableHasNoMessage) {
  const auto disable =
      find_kernel_disable({at(7, "sched_ext: BPF scheduler \"kstep\" disabled (unregistered from BPF)")});
  ASSERT_TRUE(disable.has_value());
  EXPECT_EQ(disable->reason, "unregistered from BPF");
  EXPECT_EQ(disable->message, "");
}

TEST(FindKernelDisable, TakesTheLastDisableAndNotTheNextOnesMessage) {
  const auto disable = find_kernel_disable({
      at(1, "sched_ext: BPF scheduler \"kstep\" disabled (unregistered from user space)"),
      at(2, "sched_ext: BPF scheduler \"kstep\" disabled (runnable task stall)"),
      at(3, "sched_ext: kstep: kworker/1:0[7] failed to run for 30.000s"),
  });
  ASSERT_TRUE(disable.has_value());
  EXPECT_EQ(disable->reason, "runnable task stall");
  EXPECT_EQ(disable->timestamp_us, 2U);

  // The first of two disables must not borrow the second's message.
  const auto first = find_kernel_disable({
      at(1, "sched_ext: BPF scheduler \"kstep\" disabled (unregistered from user space)"),
  });
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->message, "");
}

TEST(FindKernelDisable, IgnoresLinesThatOnlyLookLikeADisable) {
  EXPECT_FALSE(find_kernel_disable({}).has_value());
  EXPECT_FALSE(find_kernel_disable({
                                       at(1, "sched_ext: kstep: kworker/0:1[123] failed to run for 2.256s"),
                                       at(2, "sched_ext: BPF scheduler \"kstep\" enabled"),
                                       at(3, "sched_ext: BPF scheduler \"kstep\" disabled (cut off"),
                                       at(4, "xsched_ext: BPF scheduler \"kstep\" disabled (scx_bpf_error)"),
                                   })
                   .has_value());
}

TEST(KindOfReason, MapsEveryKernelReason) {
  EXPECT_EQ(kind_of_reason("unregistered from user space"), wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(kind_of_reason("unregistered from BPF"), wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(kind_of_reason("unregistered from the main kernel"), wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(kind_of_reason("disabled by sysrq-S"), wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(kind_of_reason("runnable task stall"), wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(kind_of_reason("runtime error"), wire::Detail::SCHEDULER_CRASHED);
  EXPECT_EQ(kind_of_reason("scx_bpf_error"), wire::Detail::SCHEDULER_CRASHED);
  EXPECT_EQ(kind_of_reason("a reason from a newer kernel"), wire::Detail::SCHEDULER_CRASHED);
  EXPECT_EQ(kind_of_reason(""), wire::Detail::SCHEDULER_DIED_UNKNOWN);
  EXPECT_EQ(kind_of_reason("<UNKNOWN>"), wire::Detail::SCHEDULER_DIED_UNKNOWN);
}

TEST(DescribeProcessEnd, SaysTheExitCodeOrTheSignal) {
  EXPECT_EQ(describe_process_end({0, 0}), "exited with code 0");
  EXPECT_EQ(describe_process_end({1, 0}), "exited with code 1");
  EXPECT_EQ(describe_process_end({0, SIGSEGV}), "was killed by SIGSEGV");
  EXPECT_EQ(describe_process_end({0, SIGKILL}), "was killed by SIGKILL");
  EXPECT_EQ(describe_process_end({0, 200}), "was killed by signal 200");
}

TEST(ClassifyDeath, AStallIsStalledWithTheKernelsMessageAndTheExit) {
  const auto death = classify_death(find_kernel_disable(stall_records()), ProcessEnd{1, 0});
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(death.message,
            "the kernel disabled \"kstep\" (runnable task stall): kworker/0:1[123] failed to run for 2.256s; "
            "the scheduler process exited with code 1");
  EXPECT_EQ(death.kernel_disabled_us, 100U);
  EXPECT_EQ(death.detected_us, 0U);
}

TEST(ClassifyDeath, TheKernelsVerdictWinsOverACleanProcessExit) {
  const auto death = classify_death(
      find_kernel_disable({at(9, "sched_ext: BPF scheduler \"kstep\" disabled (scx_bpf_error)"),
                           at(9, "sched_ext: kstep: invalid CPU -1 from ops.select_cpu()")}),
      ProcessEnd{0, 0});
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_CRASHED);
  EXPECT_THAT(death.message, HasSubstr("(scx_bpf_error): invalid CPU -1 from ops.select_cpu()"));
  EXPECT_THAT(death.message, HasSubstr("exited with code 0"));
}

TEST(ClassifyDeath, ACleanUnregisterIsAnExit) {
  const auto death = classify_death(
      find_kernel_disable({at(3, "sched_ext: BPF scheduler \"kstep\" disabled (unregistered from BPF)")}),
      ProcessEnd{0, 0});
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(
      death.message,
      "the kernel disabled \"kstep\" (unregistered from BPF); the scheduler process exited with code 0");
}

TEST(ClassifyDeath, WithoutAKernelRecordTheDeathIsUnknown) {
  const auto death = classify_death(std::nullopt, ProcessEnd{0, SIGKILL});
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_DIED_UNKNOWN);
  EXPECT_EQ(death.message, "the kernel logged no reason; the scheduler process was killed by SIGKILL");
  EXPECT_EQ(death.kernel_disabled_us, 0U);
}

TEST(ClassifyDeath, SaysWhenTheProcessStillRuns) {
  const auto death = classify_death(find_kernel_disable(stall_records()), std::nullopt);
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_STALLED);
  EXPECT_THAT(death.message, HasSubstr("; the scheduler process is still running"));
}

}  // namespace
}  // namespace kstep::guest
