// ForkSchedulerLauncher against a fake sysfs (a temp dir), a regular file
// as /dev/kmsg and /bin/sh scripts as schedulers: each script plays the
// kernel's part too, writing the state and ops files and the kmsg records
// the kernel would. The processes are real (a real ForkPayloadLauncher).
#include "guest/scheduler/fork_scheduler.hpp"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "guest/payloads/fork_payload_launcher.hpp"
#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Scheduler output goes nowhere: these tests read what attach and the
// liveness checks say, not the frames.
class DiscardSink final : public FrameSink {
 public:
  void send(const wire::GuestMessage& /*message*/) override {}
};

// A long wait the fakes never reach: they are detached or die first.
constexpr std::string_view kIdle = "sleep 30 & wait";

class ForkSchedulerTest : public ::testing::Test {
 protected:
  ForkSchedulerTest() {
    tree_.write("sys/kernel/sched_ext/state", "disabled\n");
    tree_.mkdir("sys/kernel/sched_ext/root");
    tree_.write("kmsg", "");
  }

  // A scheduler running `script` under /bin/sh.
  [[nodiscard]] static SchedulerRequest script(const std::string& body,
                                               std::chrono::milliseconds attach_timeout = 5000ms) {
    SchedulerRequest request;
    request.name = "kstep";
    request.guest_path = "/bin/sh";
    request.args = {"-c", body};
    request.attach_timeout = attach_timeout;
    return request;
  }

  // What the kernel does on a successful attach.
  [[nodiscard]] std::string attach_sh() const {
    return fmt::format("printf kstep > {}; echo enabled > {}; ", path("root/ops"), path("state"));
  }
  [[nodiscard]] std::string disabled_sh() const { return fmt::format("echo disabled > {}; ", path("state")); }
  // A kmsg record the kernel logs; `text` must not hold a single quote.
  [[nodiscard]] std::string log_sh(std::string_view text) const {
    return fmt::format("echo '3,1,5000,-;{}' >> {}; ", text, (tree_.root() / "kmsg").string());
  }
  // On SIGTERM: `body`, then exit 0.
  [[nodiscard]] static std::string on_term_sh(const std::string& body) {
    std::string quoted;
    for (const char c : body) {
      if (c == '"') {
        quoted += '\\';
      }
      quoted += c;
    }
    return fmt::format("trap \"{}exit 0\" TERM; ", quoted);
  }
  // A scheduler that unregisters cleanly on SIGTERM, as the kernel reports it.
  [[nodiscard]] std::string clean_on_term_sh() const {
    return on_term_sh(log_sh("sched_ext: BPF scheduler \"kstep\" disabled (unregistered from user space)") +
                      disabled_sh());
  }

  [[nodiscard]] std::string path(std::string_view relative) const {
    return (tree_.root() / "sys/kernel/sched_ext" / relative).string();
  }

  // Attaches a scheduler that idles until SIGTERM.
  [[nodiscard]] std::unique_ptr<Scheduler> attach_idle() {
    auto attached = launcher_.attach(script(clean_on_term_sh() + attach_sh() + std::string{kIdle}));
    if (!attached) {
      ADD_FAILURE() << attached.error().message;
      return nullptr;
    }
    return std::move(*attached);
  }

  testing::TempTree tree_;
  DiscardSink sink_;
  ForkPayloadLauncher processes_{[](pid_t, const std::string&) -> Result<void> { return {}; }, sink_};
  ForkSchedulerLauncher launcher_{processes_, SchedExtPaths{tree_.root() / "sys", tree_.root() / "kmsg"}};
};

bool running(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

TEST_F(ForkSchedulerTest, AttachesWhenTheKernelReportsItEnabledWithItsOps) {
  auto attached =
      launcher_.attach(script(clean_on_term_sh() + "sleep 0.05; " + attach_sh() + std::string{kIdle}));
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  const auto& scheduler = **attached;
  EXPECT_EQ(scheduler.ops(), "kstep");
  EXPECT_EQ(scheduler.request().name, "kstep");
  EXPECT_GT(scheduler.pid(), 0);
  EXPECT_TRUE(running(scheduler.pid()));
  // It slept 50 ms before the kernel's part said "enabled".
  EXPECT_GE(scheduler.attach_time(), 50ms);
}

TEST_F(ForkSchedulerTest, AKernelWithoutSchedExtIsReportedAsSuchAndNothingRuns) {
  std::filesystem::remove_all(tree_.root() / "sys/kernel/sched_ext");
  const auto marker = tree_.root() / "ran";
  auto attached = launcher_.attach(script(fmt::format("touch {}", marker.string())));
  ASSERT_FALSE(attached.ok());
  EXPECT_THAT(attached.error().message, StartsWith("the kernel lacks sched_ext"));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(ForkSchedulerTest, AnUnreadableStateIsSaidSoNotTakenForAnotherScheduler) {
  std::filesystem::remove(tree_.root() / "sys/kernel/sched_ext/state");
  auto attached = launcher_.attach(script("true"));
  ASSERT_FALSE(attached.ok());
  EXPECT_THAT(attached.error().message, StartsWith("cannot read "));
  EXPECT_THAT(attached.error().message, HasSubstr("sched_ext/state: the sched_ext state is unknown"));
}

TEST_F(ForkSchedulerTest, AnotherAttachedSchedulerIsReportedWithItsOps) {
  tree_.write("sys/kernel/sched_ext/state", "enabled\n");
  tree_.write("sys/kernel/sched_ext/root/ops", "rusty\n");
  const auto marker = tree_.root() / "ran";
  auto attached = launcher_.attach(script(fmt::format("touch {}", marker.string())));
  ASSERT_FALSE(attached.ok());
  EXPECT_THAT(attached.error().message,
              StartsWith("another sched_ext scheduler is attached (state enabled, ops 'rusty')"));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(ForkSchedulerTest, AVerifierRejectionCarriesTheLog) {
  auto attached = launcher_.attach(
      script("echo 'libbpf: prog \"enqueue\": BPF program load failed: Permission denied' >&2; "
             "echo '-- BEGIN PROG LOAD LOG --' >&2; echo 'R1 invalid mem access scalar' >&2; "
             "echo '-- END PROG LOAD LOG --' >&2; exit 2"));
  ASSERT_FALSE(attached.ok());
  const auto& message = attached.error().message;
  EXPECT_THAT(message, StartsWith("rejected by the verifier: it exited with code 2 before attaching"));
  EXPECT_THAT(message, HasSubstr("-- BEGIN PROG LOAD LOG --\nR1 invalid mem access scalar\n"));
}

TEST_F(ForkSchedulerTest, AnEarlyExitIsADeathBeforeAttachWithTheExitAndStderr) {
  auto attached = launcher_.attach(script("echo 'cannot open /sys/fs/bpf' >&2; exit 3"));
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.error().message,
            "died before attaching: it exited with code 3; its stderr:\ncannot open /sys/fs/bpf");
}

TEST_F(ForkSchedulerTest, AnEarlySignalIsADeathBeforeAttach) {
  auto attached = launcher_.attach(script("kill -9 $$"));
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.error().message, "died before attaching: it was killed by SIGKILL");
}

TEST_F(ForkSchedulerTest, ASchedulerThatNeverAttachesTimesOutAndIsKilled) {
  const auto pid_file = tree_.root() / "pid";
  const auto started = Clock::now();
  auto attached = launcher_.attach(
      script(fmt::format("echo $$ > {}; {}", pid_file.string(), kIdle), std::chrono::milliseconds{200}));
  const auto took = Clock::now() - started;
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.error().message,
            "timed out: not attached 200 ms after it started (sched_ext state: disabled)");
  EXPECT_GE(took, 200ms);
  pid_t pid = 0;
  std::ifstream{pid_file} >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(running(pid));  // killed and reaped
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ForkSchedulerTest, AStallEndsTheWaitAtOnceWithTheKernelsMessage) {
  auto attached = launcher_.attach(script(
      attach_sh() + "sleep 0.1; " +
      log_sh("sched_ext: BPF scheduler \"kstep\" disabled (runnable task stall)") +
      log_sh("sched_ext: kstep: kworker/0:1[123] failed to run for 2.256s") + disabled_sh() + "exit 1"));
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  std::optional<std::uint64_t> seen_at;
  (*attached)->set_on_detected([&seen_at](std::uint64_t detected_us) { seen_at = detected_us; });
  const auto before = monotonic_us();
  const auto waited = Clock::now();
  const auto death = (*attached)->wait_for_death(waited + 10s);
  const auto took = Clock::now() - waited;
  ASSERT_TRUE(death.has_value());
  EXPECT_LT(took, 5s);  // not the deadline: the death ended the wait
  EXPECT_EQ(death->kind, wire::Detail::SCHEDULER_STALLED);
  // The message line may trail (a separate write here): settle_death has it.
  EXPECT_THAT(death->message, StartsWith("the kernel disabled \"kstep\" (runnable task stall)"));
  // The kernel record's own timestamp, and the detection on CLOCK_MONOTONIC.
  EXPECT_EQ(death->kernel_disabled_us, 5000U);
  EXPECT_GE(death->detected_us, before);
  EXPECT_LE(death->detected_us, monotonic_us());
  // The stop was announced at that moment, before the kernel's reason.
  EXPECT_EQ(seen_at, death->detected_us);
  // Settling adds how the process ended.
  const auto settled = (*attached)->settle_death(2s);
  EXPECT_EQ(settled.kind, wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(settled.message,
            "the kernel disabled \"kstep\" (runnable task stall): kworker/0:1[123] failed to run for 2.256s; "
            "the scheduler process exited with code 1");

  // Once dead, it says so again at once.
  const auto again = (*attached)->wait_for_death(Clock::now() + 10s);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->message, settled.message);
  EXPECT_FALSE((*attached)->detach().ok());
}

TEST_F(ForkSchedulerTest, AnScxBpfErrorIsACrashEvenIfTheProcessExitsCleanly) {
  auto attached = launcher_.attach(script(
      attach_sh() + "sleep 0.1; " + log_sh("sched_ext: BPF scheduler \"kstep\" disabled (scx_bpf_error)") +
      log_sh("sched_ext: kstep: invalid CPU -1 from ops.select_cpu()") + disabled_sh() +
      "sleep 0.1; exit 0"));
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  ASSERT_TRUE((*attached)->wait_for_death(Clock::now() + 10s).has_value());
  const auto death = (*attached)->settle_death(2s);
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_CRASHED);
  EXPECT_EQ(death.message,
            "the kernel disabled \"kstep\" (scx_bpf_error): invalid CPU -1 from ops.select_cpu(); "
            "the scheduler process exited with code 0");
}

TEST_F(ForkSchedulerTest, AnUnregisterFromBpfWithExitZeroIsAnExit) {
  auto attached =
      launcher_.attach(script(attach_sh() + "sleep 0.1; " +
                              log_sh("sched_ext: BPF scheduler \"kstep\" disabled (unregistered from BPF)") +
                              disabled_sh() + "exit 0"));
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  ASSERT_TRUE((*attached)->wait_for_death(Clock::now() + 10s).has_value());
  const auto death = (*attached)->settle_death(2s);
  EXPECT_EQ(death.kind, wire::Detail::SCHEDULER_EXITED);
  EXPECT_EQ(
      death.message,
      "the kernel disabled \"kstep\" (unregistered from BPF); the scheduler process exited with code 0");
}

TEST_F(ForkSchedulerTest, AKillWithoutAKernelRecordIsAnUnknownDeath) {
  auto scheduler = attach_idle();
  ASSERT_NE(scheduler, nullptr);
  ASSERT_EQ(::kill(scheduler->pid(), SIGKILL), 0);
  const auto death = scheduler->wait_for_death(Clock::now() + 10s);
  ASSERT_TRUE(death.has_value());
  EXPECT_EQ(death->kind, wire::Detail::SCHEDULER_DIED_UNKNOWN);
  EXPECT_EQ(death->message, "the kernel logged no reason; the scheduler process was killed by SIGKILL");
}

TEST_F(ForkSchedulerTest, ADisableSeenOnlyInTheStateFileIsADeath) {
  auto scheduler = attach_idle();
  ASSERT_NE(scheduler, nullptr);
  tree_.write("sys/kernel/sched_ext/state", "disabled\n");
  const auto death = scheduler->wait_for_death(Clock::now() + 10s);
  ASSERT_TRUE(death.has_value());
  EXPECT_EQ(death->kind, wire::Detail::SCHEDULER_DIED_UNKNOWN);
  EXPECT_EQ(death->message, "the kernel logged no reason; the scheduler process is still running");
  // It does not go by itself within the budget: still running, and the
  // Scheduler's destructor kills it.
  const pid_t pid = scheduler->pid();
  EXPECT_EQ(scheduler->settle_death(50ms).message,
            "the kernel logged no reason; the scheduler process is still running");
  scheduler.reset();
  EXPECT_FALSE(running(pid));
}

TEST_F(ForkSchedulerTest, WaitingOnALiveSchedulerReturnsNothingAtTheDeadline) {
  auto scheduler = attach_idle();
  ASSERT_NE(scheduler, nullptr);
  const auto started = Clock::now();
  EXPECT_FALSE(scheduler->wait_for_death(started + 200ms).has_value());
  EXPECT_GE(Clock::now() - started, 200ms);
  // A deadline in the past checks once.
  EXPECT_FALSE(scheduler->wait_for_death(ExecutorClock::TimePoint::min()).has_value());
  EXPECT_TRUE(running(scheduler->pid()));
}

TEST_F(ForkSchedulerTest, DetachingALiveSchedulerIsCleanAndNotADeath) {
  auto scheduler = attach_idle();
  ASSERT_NE(scheduler, nullptr);
  const pid_t pid = scheduler->pid();
  const auto detached = scheduler->detach();
  ASSERT_TRUE(detached.ok()) << detached.error().message;
  EXPECT_FALSE(running(pid));
  EXPECT_FALSE(scheduler->wait_for_death(Clock::now()).has_value());
  EXPECT_TRUE(scheduler->detach().ok());  // a second detach has nothing to do
}

TEST_F(ForkSchedulerTest, AnErrorLoggedWhileDetachingFailsTheDetach) {
  auto attached = launcher_.attach(script(
      on_term_sh(log_sh("sched_ext: BPF scheduler \"kstep\" disabled (runtime error)") + disabled_sh()) +
      attach_sh() + std::string{kIdle}));
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  const auto detached = (*attached)->detach();
  ASSERT_FALSE(detached.ok());
  EXPECT_THAT(detached.error().message,
              HasSubstr("disabled it with an error while it detached (runtime error)"));
}

}  // namespace
}  // namespace kstep::guest
