#include "guest/agent.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/protocol.hpp"
#include "tests/unit/guest/wire_peer.hpp"

namespace kstep::guest {
namespace {

using namespace std::chrono_literals;
using testing::HostPeer;
using testing::SocketPair;

// Records what the agent asks of the machine, in order.
class FakePower final : public PowerControl {
 public:
  void stop_processes(std::chrono::milliseconds /*grace*/) noexcept override { record("stop"); }
  void power_off() noexcept override { record("off"); }

  std::vector<std::string> calls() const {
    std::lock_guard lock{mutex_};
    return calls_;
  }

 private:
  void record(const char* call) noexcept {
    std::lock_guard lock{mutex_};
    calls_.emplace_back(call);
  }
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
};

const std::vector<std::string> kPoweredOff = {"stop", "off"};

wire::Hello test_hello() {
  wire::Hello hello;
  hello.set_protocol_version(kProtocolVersion);
  hello.set_agent_version("test");
  hello.set_cpu_count(2);
  return hello;
}

// Runs the agent on its own thread over a socketpair; the test plays host
// on the other end. Closing the host end in the destructor guarantees the
// agent thread ends even when a test fails half-way.
class GuestAgent : public ::testing::Test {
 protected:
  void start(AgentOptions options, ScenarioEntry entry = {}) {
    auto pair = SocketPair::make();
    host_fd_ = std::move(pair.host);
    host_.emplace(host_fd_.get());
    thread_ = std::thread{[this, options, entry = std::move(entry), guest = std::move(pair.guest)]() mutable {
      // A host that closed its end makes write() raise SIGPIPE; PID 1 never
      // gets it, and this thread must not either. Blocked here, it stays
      // pending on this thread and dies with it.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

      Port port{std::move(guest)};
      auto agent = Agent::create(port, power_, options, std::move(entry));
      if (!agent) {
        ADD_FAILURE() << agent.error().message;
        return;
      }
      if (auto hello = agent->say_hello(test_hello()); !hello) {
        ADD_FAILURE() << hello.error().message;
        return;
      }
      stop_ = agent->run();
    }};
  }

  // Joins the agent; afterwards stop_ says why it stopped.
  void join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void TearDown() override {
    host_fd_.reset();
    join();
  }

  static AgentOptions quiet() {
    AgentOptions options;
    options.heartbeat_interval = 1h;  // heartbeats only where a test wants them
    options.send_timeout = 2s;
    return options;
  }

  HostPeer& host() { return *host_; }

  FakePower power_;
  UniqueFd host_fd_;
  std::optional<HostPeer> host_;
  std::thread thread_;
  std::optional<AgentStop> stop_;
};

TEST_F(GuestAgent, SaysHelloThenSendsHeartbeats) {
  AgentOptions options = quiet();
  options.heartbeat_interval = 10ms;
  start(options);

  auto hello = host().read_message();
  ASSERT_TRUE(hello && hello->has_hello());
  EXPECT_EQ(hello->hello().protocol_version(), kProtocolVersion);
  EXPECT_EQ(hello->hello().agent_version(), "test");

  auto first = host().read_message();
  auto second = host().read_message();
  ASSERT_TRUE(first && first->has_heartbeat());
  ASSERT_TRUE(second && second->has_heartbeat());
  EXPECT_GT(first->heartbeat().uptime_us(), 0U);
  EXPECT_GE(second->heartbeat().uptime_us(), first->heartbeat().uptime_us());
  EXPECT_TRUE(power_.calls().empty()) << "powered off while the host was still talking";
}

TEST_F(GuestAgent, ShutdownLogsStopsProcessesAndPowersOff) {
  start(quiet());
  ASSERT_TRUE(host().read_message());  // Hello
  host().send(HostPeer::shutdown("run complete"));

  auto log = host().read_non_heartbeat();
  ASSERT_TRUE(log && log->has_log());
  EXPECT_EQ(log->log().level(), wire::Log::INFO);
  EXPECT_EQ(log->log().text(), "shutdown requested: run complete");
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kShutdown);
  EXPECT_EQ(stop_->detail, "run complete");
  EXPECT_EQ(power_.calls(), kPoweredOff);
}

TEST_F(GuestAgent, ShutdownSplitIntoSingleBytesStillCounts) {
  start(quiet());
  ASSERT_TRUE(host().read_message());
  std::string frame;
  ASSERT_TRUE(append_frame(HostPeer::shutdown("slowly"), frame));
  for (char byte : frame) {
    host().write_raw(std::string(1, byte));
    std::this_thread::sleep_for(1ms);
  }
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kShutdown);
  EXPECT_EQ(stop_->detail, "slowly");
}

TEST_F(GuestAgent, GarbageFromTheHostIsReportedThenPowersOff) {
  start(quiet());
  ASSERT_TRUE(host().read_message());
  host().write_raw("this is not a kstep frame\n");

  auto fatal = host().read_non_heartbeat();
  ASSERT_TRUE(fatal && fatal->has_fatal()) << (fatal ? fatal->ShortDebugString() : "nothing");
  EXPECT_NE(fatal->fatal().message().find("bad magic at byte offset 0"), std::string::npos)
      << fatal->fatal().message();
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kProtocolError);
  EXPECT_EQ(power_.calls(), kPoweredOff);
}

TEST_F(GuestAgent, CorruptFrameNamesTheDefect) {
  start(quiet());
  ASSERT_TRUE(host().read_message());
  std::string frame;
  ASSERT_TRUE(append_frame(HostPeer::shutdown("corrupt me"), frame));
  frame.back() = static_cast<char>(frame.back() ^ 0x01);
  host().write_raw(frame);

  auto fatal = host().read_non_heartbeat();
  ASSERT_TRUE(fatal && fatal->has_fatal());
  EXPECT_NE(fatal->fatal().message().find("CRC mismatch"), std::string::npos) << fatal->fatal().message();
  join();
  EXPECT_EQ(power_.calls(), kPoweredOff);
}

TEST_F(GuestAgent, HostClosingThePortPowersOff) {
  start(quiet());
  ASSERT_TRUE(host().read_message());
  host_fd_.reset();
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kHostGone);
  EXPECT_EQ(power_.calls(), kPoweredOff);
}

TEST_F(GuestAgent, HostThatStopsReadingCountsAsGone) {
  AgentOptions options = quiet();
  options.heartbeat_interval = 5ms;
  options.write_stall_timeout = 100ms;
  start(options);
  ASSERT_TRUE(host().read_message());
  // Never read again: heartbeats fill the socket buffer, then stall.
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kHostGone);
  EXPECT_NE(stop_->detail.find("stopped reading"), std::string::npos) << stop_->detail;
  EXPECT_EQ(power_.calls(), kPoweredOff);
}

// The agent is the reaper of last resort: an exited child must not stay a
// zombie. SIGCHLD is process-directed, so it is blocked on this thread too
// (and inherited by the agent thread) to make sure the agent's signalfd,
// not this thread, receives it.
TEST_F(GuestAgent, ReapsExitedChildren) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t previous;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &chld, &previous), 0);
  start(quiet());
  ASSERT_TRUE(host().read_message());

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::_exit(0);
  }
  // A zombie still answers kill(pid, 0); a reaped child does not.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool reaped = false;
  while (!reaped && std::chrono::steady_clock::now() < deadline) {
    reaped = ::kill(child, 0) == -1 && errno == ESRCH;
    std::this_thread::sleep_for(1ms);
  }
  host().send(HostPeer::shutdown("done"));
  join();
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  EXPECT_TRUE(reaped) << "child " << child << " was left a zombie";
}

// Blocks SIGCHLD on the test thread (the agent thread inherits the mask) so
// the agent's signalfd, not some other thread, sees scenario processes exit.
class ChildSignalsBlocked {
 public:
  ChildSignalsBlocked() {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::pthread_sigmask(SIG_BLOCK, &chld, &previous_);
  }
  ~ChildSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  ChildSignalsBlocked(const ChildSignalsBlocked&) = delete;
  ChildSignalsBlocked& operator=(const ChildSignalsBlocked&) = delete;

 private:
  sigset_t previous_{};
};

wire::HostMessage run_scenario(const std::string& name) {
  wire::HostMessage message;
  message.mutable_run_scenario()->mutable_scenario()->set_name(name);
  return message;
}

// A scenario process that reports the scenario's name back and passes.
int echo_scenario(const wire::RunScenario& run, int fd) {
  std::string frames;
  wire::GuestMessage start;
  start.mutable_scenario_start()->set_name(run.scenario().name());
  wire::GuestMessage end;
  end.mutable_scenario_end()->set_passed(true);
  if (!append_frame(start, frames) || !append_frame(end, frames)) {
    return 9;
  }
  return ::write(fd, frames.data(), frames.size()) == static_cast<ssize_t>(frames.size()) ? 0 : 9;
}

TEST_F(GuestAgent, RelaysTheScenarioFramesAndKeepsServing) {
  const ChildSignalsBlocked blocked;
  start(quiet(), echo_scenario);
  ASSERT_TRUE(host().read_message());
  for (const std::string name : {"first", "second"}) {
    host().send(run_scenario(name));
    auto started = host().read_non_heartbeat();
    ASSERT_TRUE(started && started->has_scenario_start())
        << (started ? started->ShortDebugString() : "nothing");
    EXPECT_EQ(started->scenario_start().name(), name);
    auto ended = host().read_non_heartbeat();
    ASSERT_TRUE(ended && ended->has_scenario_end());
    EXPECT_TRUE(ended->scenario_end().passed());
  }
  host().send(HostPeer::shutdown("done"));
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kShutdown);
}

TEST_F(GuestAgent, AScenarioProcessThatDiesStillEndsTheScenario) {
  const ChildSignalsBlocked blocked;
  start(quiet(), [](const wire::RunScenario&, int) { return 3; });
  ASSERT_TRUE(host().read_message());
  host().send(run_scenario("doomed"));
  auto ended = host().read_non_heartbeat();
  ASSERT_TRUE(ended && ended->has_scenario_end()) << (ended ? ended->ShortDebugString() : "nothing");
  EXPECT_FALSE(ended->scenario_end().passed());
  ASSERT_EQ(ended->scenario_end().details_size(), 1);
  EXPECT_NE(ended->scenario_end().details(0).message().find("exited with status 3"), std::string::npos)
      << ended->scenario_end().details(0).message();
  host().send(HostPeer::shutdown("done"));
  join();
}

TEST_F(GuestAgent, WithoutAScenarioEntryRunScenarioIsRefused) {
  start(quiet());
  ASSERT_TRUE(host().read_message());
  host().send(run_scenario("nowhere"));
  auto fatal = host().read_non_heartbeat();
  ASSERT_TRUE(fatal && fatal->has_fatal());
  EXPECT_NE(fatal->fatal().message().find("cannot run scenarios"), std::string::npos);
  join();
  ASSERT_TRUE(stop_);
  EXPECT_EQ(stop_->reason, StopReason::kProtocolError);
}

}  // namespace
}  // namespace kstep::guest
