#include "guest/payloads/fork_payload_launcher.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

namespace kstep::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using namespace std::chrono_literals;

// Generous bounds for things that take milliseconds: these tests assert
// what happens, not how fast.
constexpr auto kLong = 20s;

// What the launcher did, in order: "place <pid> <cgroup>" and "<stream>:<data>"
// per output frame, "log:<text>" per log frame. Thread-safe: frames come
// from the payload's monitor thread.
class Recorder final : public FrameSink {
 public:
  void send(const wire::GuestMessage& message) override {
    const std::lock_guard lock{mutex_};
    if (message.has_payload_output()) {
      const auto& output = message.payload_output();
      frames_.push_back(output);
      events_.push_back(fmt::format("{}:{}", output.stream() == wire::PayloadOutput::STDOUT ? "out" : "err",
                                    output.data()));
    } else if (message.has_log()) {
      events_.push_back("log:" + message.log().text());
    }
    changed_.notify_all();
  }

  Result<void> place(pid_t pid, const std::string& cgroup) {
    const std::lock_guard lock{mutex_};
    events_.push_back(fmt::format("place {} {}", pid, cgroup));
    placed_.push_back(pid);
    // Still the forked copy of this test binary: nothing of the payload ran.
    exe_at_placement_ = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", pid)).string();
    return {};
  }

  ForkPayloadLauncher::Place placer() {
    return [this](pid_t pid, const std::string& cgroup) { return place(pid, cgroup); };
  }

  // The concatenated output of one stream.
  std::string output(wire::PayloadOutput::Stream stream) const {
    const std::lock_guard lock{mutex_};
    std::string text;
    for (const auto& frame : frames_) {
      if (frame.stream() == stream) {
        text += frame.data();
      }
    }
    return text;
  }

  bool wait_for_stdout(const std::string& needle) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, kLong, [&] {
      std::string text;
      for (const auto& frame : frames_) {
        if (frame.stream() == wire::PayloadOutput::STDOUT) {
          text += frame.data();
        }
      }
      return text.find(needle) != std::string::npos;
    });
  }

  std::vector<wire::PayloadOutput> frames() const {
    const std::lock_guard lock{mutex_};
    return frames_;
  }
  std::vector<std::string> events() const {
    const std::lock_guard lock{mutex_};
    return events_;
  }
  std::vector<pid_t> placed() const {
    const std::lock_guard lock{mutex_};
    return placed_;
  }
  std::string exe_at_placement() const {
    const std::lock_guard lock{mutex_};
    return exe_at_placement_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<wire::PayloadOutput> frames_;
  std::vector<std::string> events_;
  std::vector<pid_t> placed_;
  std::string exe_at_placement_;
};

PayloadRequest request(std::string path, std::vector<std::string> args, bool json_metrics = false) {
  PayloadRequest r;
  r.id = "run1";
  r.decl.set_name("bench");
  r.decl.set_json_metrics(json_metrics);
  r.guest_path = std::move(path);
  r.args = std::move(args);
  r.cgroup = "grp";
  return r;
}

PayloadRequest shell(const std::string& script, bool json_metrics = false) {
  return request("/bin/sh", {"-c", script}, json_metrics);
}

// Gone or a zombie: either way it no longer runs.
bool stopped(pid_t pid) {
  std::ifstream stat{fmt::format("/proc/{}/stat", pid)};
  std::string line;
  if (!std::getline(stat, line)) {
    return true;
  }
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

bool stops_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!stopped(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class PayloadLauncher : public ::testing::Test {
 protected:
  Recorder recorder_;
  ForkPayloadLauncher launcher_{recorder_.placer(), recorder_};
};

TEST_F(PayloadLauncher, ReportsTheExitCodeAndStreamsStdoutAndStderrApart) {
  auto payload = launcher_.start(shell("echo out; echo err >&2; exit 3"));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  auto report = (*payload)->wait(kLong);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->id(), "run1");
  EXPECT_EQ(report->payload(), "bench");
  EXPECT_EQ(report->cgroup(), "grp");
  EXPECT_EQ(report->exit_code(), 3);
  EXPECT_EQ(report->signal(), 0);
  EXPECT_GT(report->wall_time_us(), 0U);
  EXPECT_THAT(report->metrics(), IsEmpty());
  EXPECT_TRUE((*payload)->exited());
  EXPECT_EQ(recorder_.output(wire::PayloadOutput::STDOUT), "out\n");
  EXPECT_EQ(recorder_.output(wire::PayloadOutput::STDERR), "err\n");
  for (const auto& frame : recorder_.frames()) {
    EXPECT_EQ(frame.id(), "run1");
  }
}

TEST_F(PayloadLauncher, PlacesTheChildBeforeTheProgramRuns) {
  auto payload = launcher_.start(shell("echo started"));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  ASSERT_TRUE((*payload)->wait(kLong).ok());
  const pid_t pid = (*payload)->pid();
  EXPECT_THAT(recorder_.placed(), ElementsAre(pid));
  EXPECT_EQ(recorder_.exe_at_placement(), std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_THAT(recorder_.events(), ElementsAre(fmt::format("place {} grp", pid), "out:started\n"));
}

TEST_F(PayloadLauncher, APlacementFailureIsAnErrorAndTheChildIsReaped) {
  ForkPayloadLauncher launcher{[this](pid_t pid, const std::string& cgroup) -> Result<void> {
                                 static_cast<void>(recorder_.place(pid, cgroup));
                                 return fail("cgroup.procs: No such file or directory");
                               },
                               recorder_};
  auto payload = launcher.start(shell("echo must not run"));
  ASSERT_FALSE(payload.ok());
  EXPECT_THAT(payload.error().message, HasSubstr("payload 'run1'"));
  EXPECT_THAT(payload.error().message, HasSubstr("placing it in cgroup 'grp'"));
  EXPECT_THAT(payload.error().message, HasSubstr("cgroup.procs: No such file or directory"));
  ASSERT_EQ(recorder_.placed().size(), 1U);
  int status = 0;
  EXPECT_EQ(::waitpid(recorder_.placed()[0], &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_TRUE(recorder_.frames().empty());
}

TEST_F(PayloadLauncher, AnExecFailureIsAClearError) {
  auto payload = launcher_.start(request("/payloads/nope/missing", {}));
  ASSERT_FALSE(payload.ok());
  EXPECT_THAT(payload.error().message,
              HasSubstr("cannot exec /payloads/nope/missing: No such file or directory"));
  ASSERT_EQ(recorder_.placed().size(), 1U);
  int status = 0;
  EXPECT_EQ(::waitpid(recorder_.placed()[0], &status, WNOHANG), -1);
}

TEST_F(PayloadLauncher, ReadsJsonMetricsFromTheLastObjectLine) {
  auto payload =
      launcher_.start(shell(R"(echo warming up; echo '{"ops": 12.5, "x": {"y": 2}, "s": "no"}')", true));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  auto report = (*payload)->wait(kLong);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->exit_code(), 0);
  const std::map<std::string, double> metrics{report->metrics().begin(), report->metrics().end()};
  EXPECT_THAT(metrics, ElementsAre(Pair("ops", 12.5), Pair("x.y", 2.0)));
}

TEST_F(PayloadLauncher, NoJsonObjectGivesNoMetricsAndAWarning) {
  auto payload = launcher_.start(shell("echo just text", true));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  auto report = (*payload)->wait(kLong);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_THAT(report->metrics(), IsEmpty());
  EXPECT_THAT(recorder_.events().back(), HasSubstr("log:payload 'run1' (bench): json_metrics is set"));
}

TEST_F(PayloadLauncher, JsonOutputIsNoMetricUnlessDeclared) {
  auto payload = launcher_.start(shell(R"(echo '{"ops": 1}')", false));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  auto report = (*payload)->wait(kLong);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_THAT(report->metrics(), IsEmpty());
}

TEST_F(PayloadLauncher, KillReportsSigkillAndKeepsTheOutputSoFar) {
  auto payload = launcher_.start(shell(R"(echo before; echo '{"ops": 7}'; exec sleep 30)", true));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  ASSERT_TRUE(recorder_.wait_for_stdout("{\"ops\": 7}\n"));
  EXPECT_FALSE((*payload)->exited());
  const auto report = (*payload)->kill();
  EXPECT_EQ(report.exit_code(), -1);
  EXPECT_EQ(report.signal(), SIGKILL);
  EXPECT_LT(report.wall_time_us(), 25'000'000U);  // not the 30 s of the sleep
  const std::map<std::string, double> metrics{report.metrics().begin(), report.metrics().end()};
  EXPECT_THAT(metrics, ElementsAre(Pair("ops", 7.0)));
  EXPECT_EQ(recorder_.output(wire::PayloadOutput::STDOUT), "before\n{\"ops\": 7}\n");
  EXPECT_TRUE((*payload)->exited());
  // Later calls return the same report.
  auto again = (*payload)->wait(0ms);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->signal(), SIGKILL);
  EXPECT_EQ((*payload)->kill().signal(), SIGKILL);
}

TEST_F(PayloadLauncher, KillTakesThePayloadsChildrenWithIt) {
  auto payload = launcher_.start(shell("sleep 30 & echo $!; wait"));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  ASSERT_TRUE(recorder_.wait_for_stdout("\n"));
  const pid_t child = std::stoi(recorder_.output(wire::PayloadOutput::STDOUT));
  EXPECT_FALSE(stopped(child));
  EXPECT_EQ((*payload)->kill().signal(), SIGKILL);
  EXPECT_TRUE(stops_within(child, kLong));
}

TEST_F(PayloadLauncher, LeftoverChildrenDoNotOutliveAPayloadThatExits) {
  // Without the group kill the sleep would hold stdout open and wait()
  // would time out (or at best wait out the drain grace).
  auto payload = launcher_.start(shell("sleep 30 & echo $!"));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  auto report = (*payload)->wait(kLong);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->exit_code(), 0);
  const pid_t child = std::stoi(recorder_.output(wire::PayloadOutput::STDOUT));
  EXPECT_TRUE(stops_within(child, kLong));
}

TEST_F(PayloadLauncher, WaitTimesOutOnARunningPayload) {
  pid_t pid = -1;
  {
    auto payload = launcher_.start(request("/bin/sleep", {"30"}));
    ASSERT_TRUE(payload.ok()) << payload.error().message;
    pid = (*payload)->pid();
    auto report = (*payload)->wait(50ms);
    ASSERT_FALSE(report.ok());
    EXPECT_THAT(report.error().message, HasSubstr("payload 'run1'"));
    EXPECT_THAT(report.error().message, HasSubstr("still runs after 50 ms"));
    EXPECT_FALSE((*payload)->exited());
  }
  // The destructor killed and reaped it.
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(PayloadLauncher, GetsDefaultSignalsAnEmptyMaskAndAFixedEnvironment) {
  // Like the agent: SIGCHLD blocked, and a signal ignored.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t saved_mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &chld, &saved_mask), 0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction saved_action {};
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &saved_action), 0);
  auto signals = launcher_.start(request("/bin/grep", {"-E", "^Sig(Blk|Ign)", "/proc/self/status"}));
  ::sigaction(SIGUSR2, &saved_action, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  ASSERT_TRUE(signals.ok()) << signals.error().message;
  ASSERT_TRUE((*signals)->wait(kLong).ok());
  EXPECT_EQ(recorder_.output(wire::PayloadOutput::STDOUT),
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(PayloadLauncher, RunsWithAFixedEnvironment) {
  auto payload = launcher_.start(request("/usr/bin/env", {}));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  ASSERT_TRUE((*payload)->wait(kLong).ok());
  EXPECT_EQ(recorder_.output(wire::PayloadOutput::STDOUT), "PATH=/usr/bin:/bin\nHOME=/tmp\n");
}

TEST_F(PayloadLauncher, Argv0IsTheBinarysBasenameAndStdinIsEmpty) {
  auto payload = launcher_.start(request("/bin/cat", {"/proc/self/cmdline", "-"}));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  auto report = (*payload)->wait(kLong);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->exit_code(), 0);
  using namespace std::string_literals;
  EXPECT_EQ(recorder_.output(wire::PayloadOutput::STDOUT), "cat\0/proc/self/cmdline\0-\0"s);
}

TEST_F(PayloadLauncher, LargeOutputArrivesWholeInFramesOfAtMost64KiB) {
  auto payload = launcher_.start(shell("head -c 300000 /dev/zero"));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  ASSERT_TRUE((*payload)->wait(kLong).ok());
  std::size_t total = 0;
  for (const auto& frame : recorder_.frames()) {
    EXPECT_LE(frame.data().size(), 64U * 1024U);
    total += frame.data().size();
  }
  EXPECT_EQ(total, 300000U);
}

}  // namespace
}  // namespace kstep::guest
