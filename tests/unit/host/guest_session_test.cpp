// The session against fake-qemu (tests/fakes): every way a guest can end,
// classified without booting a VM.
#include "host/session/guest_session.hpp"

#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace kstep::host {
namespace {

using namespace std::chrono_literals;

class HostGuestSession : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kstep-session-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.inactivity_timeout = 1500ms;
    options_.shutdown_grace = 1000ms;
    options_.splat_grace = 200ms;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SessionResult run(const std::string& mode) {
    SessionLaunch launch;
    launch.control_socket = dir_ / "control.sock";
    launch.run_dir = dir_;
    launch.qemu_argv = {KSTEP_FAKE_QEMU, mode, launch.control_socket.string()};
    HandshakeDriver driver;
    auto result = run_guest_session(launch, options_, driver);
    EXPECT_TRUE(result) << result.error().message;
    return result ? std::move(result).value() : SessionResult{};
  }

  std::string read_file(const std::string& name) const {
    std::ifstream in(dir_ / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path dir_;
  SessionOptions options_;
};

TEST_F(HostGuestSession, HandshakeAndShutdownPass) {
  const auto result = run("obey");
  EXPECT_EQ(result.classification.outcome, Outcome::kPass) << result.classification.reason;
  ASSERT_TRUE(result.hello);
  EXPECT_EQ(result.hello->kernel_release(), "6.99.0-fake");
  EXPECT_TRUE(result.hello_after.has_value());
  EXPECT_NE(read_file("console.log").find("Linux version 6.99.0-fake"), std::string::npos);
}

TEST_F(HostGuestSession, GarbageIsAProtocolErrorNamingTheOffset) {
  const auto result = run("garbage");
  EXPECT_EQ(result.classification.outcome, Outcome::kProtocolError);
  EXPECT_NE(result.classification.reason.find("bad magic at byte offset 0"), std::string::npos)
      << result.classification.reason;
}

TEST_F(HostGuestSession, ProtocolVersionMismatchIsCaughtAtHello) {
  const auto result = run("old-protocol");
  EXPECT_EQ(result.classification.outcome, Outcome::kProtocolError);
  EXPECT_NE(result.classification.reason.find("protocol version mismatch"), std::string::npos);
}

TEST_F(HostGuestSession, PanicOnTheConsoleIsAKernelPanic) {
  const auto result = run("panic");
  EXPECT_EQ(result.classification.outcome, Outcome::kKernelPanic);
  ASSERT_FALSE(result.facts.splats.empty());
  EXPECT_EQ(result.facts.splats[0].kind, SplatKind::kPanic);
}

TEST_F(HostGuestSession, OopsStopsTheVmAfterTheSplatGrace) {
  const auto result = run("oops");
  EXPECT_EQ(result.classification.outcome, Outcome::kKernelPanic);
  EXPECT_FALSE(result.facts.inactivity_timeout);
}

TEST_F(HostGuestSession, WarningFailsTheRunButLetsItFinish) {
  const auto result = run("warn");
  EXPECT_EQ(result.classification.outcome, Outcome::kKernelPanic);
  EXPECT_TRUE(result.hello.has_value());
  EXPECT_TRUE(result.facts.shutdown_sent);
}

TEST_F(HostGuestSession, SilenceIsAHangAndTheVmIsKilled) {
  const auto result = run("silent");
  EXPECT_EQ(result.classification.outcome, Outcome::kGuestHang);
  EXPECT_NE(result.qemu_exit.find("signal"), std::string::npos) << result.qemu_exit;
}

TEST_F(HostGuestSession, IgnoredShutdownIsAHang) {
  const auto result = run("ignore-shutdown");
  EXPECT_EQ(result.classification.outcome, Outcome::kGuestHang);
  EXPECT_TRUE(result.facts.ignored_shutdown);
}

TEST_F(HostGuestSession, FatalBeforeHelloIsABootFailure) {
  const auto result = run("fatal");
  EXPECT_EQ(result.classification.outcome, Outcome::kBootFailure);
  EXPECT_NE(result.classification.reason.find("cannot mount cgroup2"), std::string::npos);
}

TEST_F(HostGuestSession, QemuFailingToStartIsAnInfrastructureError) {
  const auto result = run("exit-fail");
  EXPECT_EQ(result.classification.outcome, Outcome::kInfrastructureError);
  EXPECT_NE(read_file("qemu.log").find("could not open kernel file"), std::string::npos);
}

TEST_F(HostGuestSession, PoweringOffBeforeShutdownFailsTheRun) {
  const auto result = run("poweroff-early");
  // Either the guest's exit or the host's Shutdown may win the race; a pass
  // is only legitimate if Shutdown was sent first.
  if (result.classification.outcome == Outcome::kPass) {
    EXPECT_TRUE(result.facts.shutdown_sent);
  } else {
    EXPECT_EQ(result.classification.outcome, Outcome::kScenarioFailure);
  }
}

TEST_F(HostGuestSession, SigintStopsTheVmAndIsReported) {
  options_.inactivity_timeout = 30s;
  std::thread interrupter([] {
    std::this_thread::sleep_for(300ms);
    ::kill(::getpid(), SIGINT);
  });
  const auto result = run("silent");
  interrupter.join();
  EXPECT_EQ(result.classification.outcome, Outcome::kInterrupted);
}

TEST_F(HostGuestSession, MissingQemuBinaryIsAnError) {
  SessionLaunch launch;
  launch.control_socket = dir_ / "control.sock";
  launch.run_dir = dir_;
  launch.qemu_argv = {"/nonexistent/qemu-system-x86_64"};
  HandshakeDriver driver;
  auto result = run_guest_session(launch, options_, driver);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("/nonexistent/qemu-system-x86_64"), std::string::npos);
}

}  // namespace
}  // namespace kstep::host
