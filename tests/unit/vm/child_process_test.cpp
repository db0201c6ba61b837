#include "host/vm/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/vm/private_dir.hpp"
#include "tests/unit/vm/vm_test_support.hpp"

namespace kstep::host {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::run_capture;

SpawnSpec argv_spec(std::vector<std::string> argv) {
  SpawnSpec spec;
  spec.argv = std::move(argv);
  return spec;
}

bool process_exists(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

TEST(VmChildProcess, ReportsTheExitCode) {
  auto child = ChildProcess::spawn(argv_spec({"/bin/sh", "-c", "exit 3"}));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const auto status = child->wait();
  EXPECT_EQ(status, ExitStatus::exited(3));
  EXPECT_FALSE(status.success());
  EXPECT_EQ(status.describe(), "exited with code 3");
  EXPECT_EQ(child->status(), status);
  EXPECT_EQ(child->wait(), status);  // cached after reaping
}

TEST(VmChildProcess, ReportsTheKillingSignal) {
  auto child = ChildProcess::spawn(argv_spec({"/bin/sh", "-c", "kill -TERM $$; sleep 5"}));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const auto status = child->wait();
  EXPECT_EQ(status.kind(), ExitStatus::Kind::Killed);
  EXPECT_EQ(status.signal(), SIGTERM);
  EXPECT_EQ(status.describe(), "was killed by SIGTERM (signal 15)");
}

TEST(VmChildProcess, ExecFailureIsASpawnError) {
  auto child = ChildProcess::spawn(argv_spec({"qemu-system-x86_64-kstep-missing", "-version"}));
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().message,
            "cannot execute qemu-system-x86_64-kstep-missing: No such file or directory");

  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto not_executable = dir->path() / "tool";
  testing::write_file(not_executable, "#!/bin/sh\n");
  ::chmod(not_executable.c_str(), 0644);
  child = ChildProcess::spawn(argv_spec({not_executable.string()}));
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().message, "cannot execute " + not_executable.string() + ": Permission denied");

  child = ChildProcess::spawn({});
  ASSERT_FALSE(child.ok());
  EXPECT_THAT(child.error().message, HasSubstr("argv is empty"));
}

TEST(VmChildProcess, WiresStdoutAndReadsDevNullByDefault) {
  const auto echoed = run_capture({"/bin/sh", "-c", "echo hello; cat"});
  ASSERT_TRUE(echoed.status) << echoed.spawn_error;
  EXPECT_TRUE(echoed.status->success());
  EXPECT_EQ(echoed.out, "hello\n");  // cat saw EOF at once: stdin is /dev/null
}

TEST(VmChildProcess, StdinFromTheSpec) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  testing::write_file(dir->path() / "input", "from a file\n");
  const UniqueFd input{::open((dir->path() / "input").c_str(), O_RDONLY | O_CLOEXEC)};
  const auto result = run_capture({"/bin/cat"}, input.get());
  ASSERT_TRUE(result.status) << result.spawn_error;
  EXPECT_EQ(result.out, "from a file\n");
}

TEST(VmChildProcess, InheritsNoOtherDescriptors) {
  // A descriptor deliberately left inheritable must not reach the child.
  std::array<int, 2> leaky{};
  ASSERT_EQ(::pipe(leaky.data()), 0);
  const UniqueFd leak_read{leaky[0]};
  const UniqueFd leak_write{leaky[1]};
  // ls opens /proc/self/fd itself as the lowest free descriptor: 3.
  const auto result = run_capture({"/bin/ls", "/proc/self/fd"});
  ASSERT_TRUE(result.status) << result.spawn_error;
  EXPECT_EQ(result.out, "0\n1\n2\n3\n");
}

TEST(VmChildProcess, EnvironmentFromTheSpec) {
  const auto result = run_capture({"/usr/bin/env"});
  ASSERT_TRUE(result.status) << result.spawn_error;
  EXPECT_FALSE(result.out.empty());  // inherited by default

  SpawnSpec spec;
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe2(pipe_fds.data(), O_CLOEXEC), 0);
  UniqueFd read_end{pipe_fds[0]};
  UniqueFd write_end{pipe_fds[1]};
  spec.argv = {"/usr/bin/env"};
  spec.env = std::vector<std::string>{"KSTEP_ONLY=1"};
  spec.stdout_fd = write_end.get();
  auto child = ChildProcess::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  write_end.reset();
  std::array<char, 256> buffer{};
  const auto n = ::read(read_end.get(), buffer.data(), buffer.size());
  EXPECT_EQ(std::string(buffer.data(), n > 0 ? static_cast<std::size_t>(n) : 0), "KSTEP_ONLY=1\n");
  EXPECT_TRUE(child->wait().success());
}

TEST(VmChildProcess, ResetsSignalMaskAndIgnoredSignals) {
  // Ignore and block signals here; the child must start with neither.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction saved_pipe {};
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &saved_pipe), 0);
  sigset_t block;
  sigset_t saved_mask;
  ::sigemptyset(&block);
  ::sigaddset(&block, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &saved_mask), 0);

  const auto result = run_capture({"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"});

  ::pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  ::sigaction(SIGPIPE, &saved_pipe, nullptr);
  ASSERT_TRUE(result.status) << result.spawn_error;
  EXPECT_EQ(result.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(VmChildProcess, RunsInItsOwnProcessGroup) {
  auto child = ChildProcess::spawn(argv_spec({"/bin/sleep", "30"}));
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(::getpgid(child->pid()), child->pid());
  EXPECT_NE(::getpgid(child->pid()), ::getpgrp());
}

TEST(VmChildProcess, DestructionKillsAndReaps) {
  pid_t pid = -1;
  {
    auto child = ChildProcess::spawn(argv_spec({"/bin/sleep", "30"}));
    ASSERT_TRUE(child.ok()) << child.error().message;
    pid = child->pid();
    ASSERT_TRUE(process_exists(pid));
  }
  // Reaped, not a zombie: the pid is gone entirely.
  EXPECT_FALSE(process_exists(pid));
}

TEST(VmChildProcess, PidfdBecomesReadableOnExitAndTryWaitReaps) {
  auto child = ChildProcess::spawn(argv_spec({"/bin/sleep", "30"}));
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(child->try_wait(), std::nullopt);
  pollfd watch{child->pidfd(), POLLIN, 0};
  EXPECT_EQ(::poll(&watch, 1, 0), 0);
  ASSERT_TRUE(child->send_signal(SIGKILL).ok());
  EXPECT_EQ(::poll(&watch, 1, 10'000), 1);
  const auto status = child->try_wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, ExitStatus::killed(SIGKILL));
  EXPECT_FALSE(child->send_signal(SIGTERM).ok());  // reaped: never signal a recycled pid
}

TEST(VmChildProcess, TerminateStopsWithSigtermWhenHonoured) {
  auto child = ChildProcess::spawn(argv_spec({"/bin/sleep", "30"}));
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(child->terminate(10s), ExitStatus::killed(SIGTERM));
}

TEST(VmChildProcess, TerminateEscalatesToSigkillAfterTheGrace) {
  // The shell ignores SIGTERM and runs no command, so no grandchild is left.
  // It says "ready" once the trap is set; SIGTERM before that would kill it.
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe2(pipe_fds.data(), O_CLOEXEC), 0);
  UniqueFd read_end{pipe_fds[0]};
  UniqueFd write_end{pipe_fds[1]};
  auto spec = argv_spec({"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do :; done"});
  spec.stdout_fd = write_end.get();
  auto child = ChildProcess::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  write_end.reset();
  std::array<char, 6> ready{};
  ASSERT_EQ(::read(read_end.get(), ready.data(), ready.size()), 6);
  EXPECT_EQ(child->terminate(200ms), ExitStatus::killed(SIGKILL));
  EXPECT_EQ(child->kill_and_reap(), ExitStatus::killed(SIGKILL));  // no-op once reaped
}

TEST(VmChildProcess, MoveAssignmentKillsTheOverwrittenChild) {
  auto first = ChildProcess::spawn(argv_spec({"/bin/sleep", "30"}));
  auto second = ChildProcess::spawn(argv_spec({"/bin/sh", "-c", "exit 0"}));
  ASSERT_TRUE(first.ok() && second.ok());
  const pid_t first_pid = first->pid();
  *first = std::move(*second);
  EXPECT_FALSE(process_exists(first_pid));
  EXPECT_TRUE(first->wait().success());
}

TEST(VmChildProcess, DiesWithItsParent) {
  // An intermediate process spawns the child and exits without running any
  // destructor (as a SIGKILLed kstep would). We are the subreaper, so the
  // orphaned child becomes ours and we can see what killed it.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  std::array<int, 2> report{};
  ASSERT_EQ(::pipe2(report.data(), O_CLOEXEC), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    auto child = ChildProcess::spawn(argv_spec({"/bin/sleep", "10"}));
    const pid_t pid = child.ok() ? child->pid() : -1;
    [[maybe_unused]] auto n = ::write(report[1], &pid, sizeof pid);
    ::_exit(0);
  }
  ::close(report[1]);
  pid_t grandchild = -1;
  ASSERT_EQ(::read(report[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  ::close(report[0]);
  ASSERT_GT(grandchild, 0);
  ASSERT_EQ(::waitpid(middle, nullptr, 0), middle);
  int status = 0;
  ASSERT_EQ(::waitpid(grandchild, &status, 0), grandchild);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child outlived its parent and exited normally";
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(VmExitStatus, DescribesEachKind) {
  EXPECT_EQ(ExitStatus::exited(0).describe(), "exited with code 0");
  EXPECT_TRUE(ExitStatus::exited(0).success());
  EXPECT_EQ(ExitStatus::killed(SIGKILL).describe(), "was killed by SIGKILL (signal 9)");
  EXPECT_EQ(ExitStatus::killed(SIGSEGV, true).describe(), "was killed by SIGSEGV (signal 11), core dumped");
  EXPECT_FALSE(ExitStatus::killed(SIGKILL).success());
  EXPECT_THAT(ExitStatus::lost(ECHILD).describe(), HasSubstr("No child processes"));
  EXPECT_EQ(ExitStatus::exited(1).signal(), -1);
  EXPECT_EQ(ExitStatus::killed(9).code(), -1);
}

}  // namespace
}  // namespace kstep::host
