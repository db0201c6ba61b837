#include "host/util/run_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "tests/unit/kernel/fake_command_runner.hpp"
#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host {
namespace {

namespace fs = std::filesystem;
using kernel_test::exited;
using kernel_test::FakeCommandRunner;
using kernel_test::TempDir;
using kernel_test::write_file;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr std::string_view kPath = "/usr/local/bin:/usr/bin:/bin";

Command shell(std::string script) {
  Command command;
  command.argv = {"/bin/sh", "-c", std::move(script)};
  return command;
}

class RunCommand : public ::testing::Test {
 protected:
  CommandResult run_ok(const Command& command) {
    auto result = runner_.run(command);
    EXPECT_TRUE(result.ok()) << command_line(command) << ": " << result.error().message;
    return result.ok() ? *result : CommandResult{};
  }

  SystemCommandRunner runner_{std::string{kPath}};
};

TEST_F(RunCommand, CapturesStdoutStderrAndExitCode) {
  const auto result = run_ok(shell("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.signal, 0);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
  EXPECT_FALSE(result.success());
  EXPECT_EQ(result.describe_status(), "exited with code 3");
}

TEST_F(RunCommand, SuccessAndPathLookup) {
  Command command;
  command.argv = {"sh", "-c", "printf '%s|' \"$0\" \"$1\"", "zero", "one two"};
  const auto result = run_ok(command);
  EXPECT_TRUE(result.success());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "zero|one two|");  // argv reaches the program unsplit, no shell in between
  EXPECT_EQ(result.err, "");
}

TEST_F(RunCommand, KilledBySignal) {
  const auto result = run_ok(shell("kill -9 $$"));
  EXPECT_EQ(result.signal, 9);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_FALSE(result.success());
  EXPECT_EQ(result.describe_status(), "was killed by signal 9 (Killed)");
}

TEST_F(RunCommand, LargeInterleavedOutputIsCapturedWhole) {
  // Both streams far beyond a pipe's buffer, written at the same time: a
  // runner that read one stream to its end before the other would deadlock.
  const auto result =
      run_ok(shell("yes out | head -c 1000000 & yes err | head -c 700000 >&2; wait; echo done >&2"));
  EXPECT_TRUE(result.success());
  EXPECT_EQ(result.out.size(), 1000000U);
  EXPECT_EQ(result.err.size(), 700000U + 5);
  EXPECT_THAT(result.out, StartsWith("out\nout\n"));
  EXPECT_THAT(result.err, EndsWith("done\n"));
}

TEST_F(RunCommand, StdinIsDevNull) {
  Command command;
  command.argv = {"cat"};
  const auto result = run_ok(command);
  EXPECT_TRUE(result.success());
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(run_ok(shell("readlink /proc/self/fd/0")).out, "/dev/null\n");
}

TEST_F(RunCommand, WorkingDirectory) {
  TempDir tmp;
  auto command = shell("/bin/pwd -P");
  command.working_dir = tmp.path();
  EXPECT_EQ(run_ok(command).out, fs::canonical(tmp.path()).string() + "\n");

  command.working_dir = tmp / "missing";
  auto result = runner_.run(command);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("cannot change to directory"));
  EXPECT_THAT(result.error().message, HasSubstr((tmp / "missing").string()));
}

TEST_F(RunCommand, ExtraEnvironmentAddsAndReplaces) {
  auto command = shell("echo \"$KSTEP_RUN_COMMAND_TEST\"; echo \"$HOME\"; env | grep -c '^HOME='");
  command.extra_env = {"KSTEP_RUN_COMMAND_TEST=hello world", "HOME=/kstep-home"};
  EXPECT_EQ(run_ok(command).out, "hello world\n/kstep-home\n1\n");
}

TEST_F(RunCommand, OutputModes) {
  auto command = shell("echo visible; echo hidden >&2");
  command.stderr_mode = OutputMode::Discard;
  auto result = run_ok(command);
  EXPECT_EQ(result.out, "visible\n");
  EXPECT_EQ(result.err, "");

  command.stdout_mode = OutputMode::Discard;
  command.stderr_mode = OutputMode::Capture;
  result = run_ok(command);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "hidden\n");

  // Inherited output goes to the test's own stdout and is not captured.
  command = shell("exit 0");
  command.stdout_mode = OutputMode::Inherit;
  command.stderr_mode = OutputMode::Inherit;
  result = run_ok(command);
  EXPECT_TRUE(result.success());
  EXPECT_EQ(result.out, "");
}

TEST_F(RunCommand, NoDescriptorLeaksIntoTheChild) {
  TempDir tmp;
  write_file(tmp / "leak-marker", "");
  // Opened without O_CLOEXEC, as a careless library might.
  const UniqueFd leaky{::open((tmp / "leak-marker").c_str(), O_RDONLY)};  // NOLINT(android-cloexec-open)
  ASSERT_TRUE(leaky.valid());
  ASSERT_TRUE(fs::exists("/proc/self/fd/" + std::to_string(leaky.get())));
  const auto result = run_ok(shell("ls -l /proc/$$/fd/ | grep -c leak-marker; exit 0"));
  EXPECT_EQ(result.out, "0\n");
}

// Restores a signal's disposition and the signal mask on scope exit.
class SignalStateGuard {
 public:
  explicit SignalStateGuard(int sig) : sig_(sig) {
    ::sigaction(sig_, nullptr, &old_action_);
    ::sigprocmask(SIG_SETMASK, nullptr, &old_mask_);
  }
  SignalStateGuard(const SignalStateGuard&) = delete;
  SignalStateGuard& operator=(const SignalStateGuard&) = delete;
  ~SignalStateGuard() {
    ::sigaction(sig_, &old_action_, nullptr);
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }

 private:
  int sig_;
  struct sigaction old_action_ {};
  sigset_t old_mask_{};
};

// The hex mask after "<field>:" in /proc/<pid>/status text.
std::uint64_t status_mask(const std::string& status, const std::string& field) {
  const auto at = status.find(field + ":\t");
  EXPECT_NE(at, std::string::npos) << field;
  return at == std::string::npos ? 0 : std::strtoull(status.c_str() + at + field.size() + 2, nullptr, 16);
}

TEST_F(RunCommand, SignalDispositionsAndMaskAreReset) {
  const SignalStateGuard pipe_guard{SIGPIPE};
  const SignalStateGuard term_guard{SIGTERM};
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  ::sigemptyset(&block);
  ::sigaddset(&block, SIGTERM);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &block, nullptr), 0);

  Command command;
  command.argv = {"cat", "/proc/self/status"};
  const auto status = run_ok(command).out;
  const std::uint64_t pipe_bit = std::uint64_t{1} << (SIGPIPE - 1);
  const std::uint64_t term_bit = std::uint64_t{1} << (SIGTERM - 1);
  EXPECT_EQ(status_mask(status, "SigIgn") & pipe_bit, 0U) << "SIGPIPE ignored in the child";
  EXPECT_EQ(status_mask(status, "SigBlk") & term_bit, 0U) << "SIGTERM blocked in the child";
}

TEST_F(RunCommand, MissingProgramIsAnErrorNamingIt) {
  Command command;
  command.argv = {"kstep-no-such-program-4711", "--flag"};
  auto result = runner_.run(command);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("'kstep-no-such-program-4711'"));
  EXPECT_THAT(result.error().message, HasSubstr(kPath));

  command.argv = {"/nonexistent/kstep-tool"};
  result = runner_.run(command);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("cannot execute /nonexistent/kstep-tool"));
  EXPECT_THAT(result.error().message, HasSubstr("No such file or directory"));
}

TEST_F(RunCommand, NonExecutableFileIsAnExecError) {
  TempDir tmp;
  write_file(tmp / "script", "#!/bin/sh\necho hi\n");
  ::chmod((tmp / "script").c_str(), 0644);
  Command command;
  command.argv = {(tmp / "script").string()};
  auto result = runner_.run(command);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("cannot execute " + (tmp / "script").string()));
  EXPECT_THAT(result.error().message, HasSubstr("Permission denied"));
}

TEST_F(RunCommand, EmptyCommandIsAnError) {
  auto result = runner_.run(Command{});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("empty command"));
}

TEST(RunCommandLine, QuotesWhatNeedsQuoting) {
  Command command;
  command.argv = {"apt-get", "-o", "Dir::Cache=/tmp/x", "a b", "it's", "", "plain-1.0+b1~x", "$HOME", "a\"b"};
  EXPECT_EQ(command_line(command),
            "apt-get -o Dir::Cache=/tmp/x 'a b' 'it'\\''s' '' plain-1.0+b1~x '$HOME' 'a\"b'");
  EXPECT_EQ(command_line(Command{}), "");
}

TEST(RunCommandChecked, SuccessPassesTheResultThrough) {
  FakeCommandRunner runner{[](const Command&) { return Result<CommandResult>{exited(0, "listing\n")}; }};
  auto result = run_checked(runner, shell("ls"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->out, "listing\n");
}

TEST(RunCommandChecked, FailureNamesCommandStatusAndStderrTail) {
  std::string err;
  for (int i = 1; i <= 10; ++i) {
    err += "line-" + std::to_string(100 + i) + "\n";
  }
  FakeCommandRunner runner{
      [&](const Command&) { return Result<CommandResult>{exited(3, "ignored stdout", err)}; }};
  Command command;
  command.argv = {"apt-get", "-q", "update"};
  auto result = run_checked(runner, command);
  ASSERT_FALSE(result.ok());
  const auto& message = result.error().message;
  EXPECT_THAT(message, StartsWith("`apt-get -q update` exited with code 3:\n"));
  // The last six lines of stderr, not the rest and not stdout.
  EXPECT_THAT(message, EndsWith("line-105\nline-106\nline-107\nline-108\nline-109\nline-110"));
  EXPECT_THAT(message, Not(HasSubstr("line-104")));
  EXPECT_THAT(message, Not(HasSubstr("ignored stdout")));
}

TEST(RunCommandChecked, SignalAndSilentFailures) {
  FakeCommandRunner killed{[](const Command&) {
    CommandResult result;
    result.signal = 15;
    return Result<CommandResult>{result};
  }};
  auto result = run_checked(killed, shell("sleep 1"));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("was killed by signal 15"));

  FakeCommandRunner silent{[](const Command&) { return Result<CommandResult>{exited(1, "", "\n  \n")}; }};
  auto quiet = run_checked(silent, shell("false"));
  ASSERT_FALSE(quiet.ok());
  EXPECT_THAT(quiet.error().message, EndsWith("exited with code 1"));
}

TEST(RunCommandChecked, RunnerErrorsPassThrough) {
  FakeCommandRunner broken{
      [](const Command&) -> Result<CommandResult> { return fail("fork failed: EAGAIN"); }};
  auto result = run_checked(broken, shell("true"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "fork failed: EAGAIN");
}

TEST(RunCommandChecked, RealFailingCommand) {
  SystemCommandRunner runner{std::string{kPath}};
  auto result = run_checked(runner, shell("echo out; echo err >&2; exit 3"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "`/bin/sh -c 'echo out; echo err >&2; exit 3'` exited with code 3:\nerr");
}

TEST(RunCommandFindProgram, SearchesPathInOrder) {
  TempDir a;
  TempDir b;
  write_file(a / "tool", "#!/bin/sh\n");
  write_file(b / "tool", "#!/bin/sh\n");
  write_file(b / "other", "#!/bin/sh\n");
  ::chmod((a / "tool").c_str(), 0755);
  ::chmod((b / "tool").c_str(), 0755);
  ::chmod((b / "other").c_str(), 0755);
  const auto path = "/nonexistent:" + a.path().string() + ":" + b.path().string();

  auto tool = find_program("tool", path);
  ASSERT_TRUE(tool.ok()) << tool.error().message;
  EXPECT_EQ(*tool, a / "tool");
  auto other = find_program("other", path);
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_EQ(*other, b / "other");
}

TEST(RunCommandFindProgram, SkipsNonExecutablesAndDirectories) {
  TempDir a;
  TempDir b;
  write_file(a / "tool", "data, not a program");
  ::chmod((a / "tool").c_str(), 0644);
  fs::create_directories(a / "dir-tool");
  write_file(b / "tool", "#!/bin/sh\n");
  ::chmod((b / "tool").c_str(), 0755);
  const auto path = a.path().string() + ":" + b.path().string();

  auto tool = find_program("tool", path);
  ASSERT_TRUE(tool.ok()) << tool.error().message;
  EXPECT_EQ(*tool, b / "tool");

  auto dir = find_program("dir-tool", path);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.error().message, HasSubstr("'dir-tool'"));
  EXPECT_THAT(dir.error().message, HasSubstr(path));
}

TEST(RunCommandFindProgram, PathsAndEmptyInputs) {
  auto absolute = find_program("/nonexistent/x", "/bin");
  ASSERT_TRUE(absolute.ok()) << absolute.error().message;
  EXPECT_EQ(*absolute, fs::path{"/nonexistent/x"});  // a path is taken as given; exec reports it

  auto sh = find_program("sh", kPath);
  ASSERT_TRUE(sh.ok()) << sh.error().message;
  EXPECT_EQ(sh->filename(), "sh");
  EXPECT_EQ(::access(sh->c_str(), X_OK), 0);

  auto empty_name = find_program("", kPath);
  ASSERT_FALSE(empty_name.ok());
  EXPECT_THAT(empty_name.error().message, HasSubstr("empty program name"));

  auto empty_path = find_program("kstep-no-such-program-4711", "");
  ASSERT_FALSE(empty_path.ok());
  EXPECT_THAT(empty_path.error().message, HasSubstr("'kstep-no-such-program-4711'"));
  EXPECT_THAT(empty_path.error().message, HasSubstr("empty"));
}

}  // namespace
}  // namespace kstep::host
