#include "host/util/run_command.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared

namespace kstep::host {
namespace {

// What the child reports over the exec-error pipe before it gives up.
struct ChildFailure {
  int stage;  // kStageChdir or kStageExec
  int error;  // errno
};
constexpr int kStageChdir = 1;
constexpr int kStageExec = 2;

bool needs_quoting(std::string_view arg) {
  if (arg.empty()) {
    return true;
  }
  for (char c : arg) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view{"-_./=:,+@%^~"}.find(c) != std::string_view::npos;
    if (!plain) {
      return true;
    }
  }
  return false;
}

std::string quote(std::string_view arg) {
  if (!needs_quoting(arg)) {
    return std::string{arg};
  }
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

// The inherited environment with `extra` ("NAME=value") replacing or adding.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view current{*entry};
    bool replaced = false;
    for (const auto& e : extra) {
      replaced = replaced || name_of(e) == name_of(current);
    }
    if (!replaced) {
      env.emplace_back(current);
    }
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) {
    pointers.push_back(s.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

Result<std::array<UniqueFd, 2>> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    return fail("cannot create a pipe: {}", std::strerror(errno));
  }
  return std::array<UniqueFd, 2>{UniqueFd{fds[0]}, UniqueFd{fds[1]}};
}

// Only async-signal-safe calls from here to execve: the parent may have
// other threads, and fork() copied just this one.
[[noreturn]] void exec_child(int stdin_fd, int stdout_fd, int stderr_fd, int report_fd,
                             const char* working_dir, const char* program, char* const* argv,
                             char* const* envp) {
  sigset_t all;
  ::sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for the RT signals glibc reserves
    }
  }
  // dup2 leaves the new descriptor without FD_CLOEXEC, so 0-2 survive exec.
  ::dup2(stdin_fd, STDIN_FILENO);
  ::dup2(stdout_fd, STDOUT_FILENO);
  ::dup2(stderr_fd, STDERR_FILENO);
  // Descriptors opened elsewhere in kstep without O_CLOEXEC must not leak
  // into the tool; the report pipe stays usable until exec succeeds.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  ChildFailure failure{};
  if (working_dir != nullptr && ::chdir(working_dir) != 0) {
    failure = {kStageChdir, errno};
  } else {
    ::execve(program, argv, envp);
    failure = {kStageExec, errno};
  }
  [[maybe_unused]] auto written = ::write(report_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Reads the captured pipes until both reach end of file.
Result<void> drain(UniqueFd& out_fd, UniqueFd& err_fd, std::string& out, std::string& err) {
  std::array<char, 65536> buffer{};
  while (out_fd.valid() || err_fd.valid()) {
    std::array<pollfd, 2> fds{pollfd{out_fd.get(), POLLIN, 0}, pollfd{err_fd.get(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("poll: {}", std::strerror(errno));
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      auto& fd = i == 0 ? out_fd : err_fd;
      auto& sink = i == 0 ? out : err;
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n > 0) {
        sink.append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fd.reset();  // end of file, or an error that will not go away
      }
    }
  }
  return {};
}

Result<CommandResult> wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return fail("waitpid({}): {}", pid, std::strerror(errno));
    }
  }
  CommandResult result;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace

std::string CommandResult::describe_status() const {
  if (signal != 0) {
    return fmt::format("was killed by signal {} ({})", signal, ::strsignal(signal));
  }
  return fmt::format("exited with code {}", exit_code);
}

std::string command_line(const Command& command) {
  std::string line;
  for (const auto& arg : command.argv) {
    if (!line.empty()) {
      line += ' ';
    }
    line += quote(arg);
  }
  return line;
}

Result<CommandResult> run_checked(CommandRunner& runner, const Command& command) {
  auto result = runner.run(command);
  if (!result) {
    return result;
  }
  if (result->success()) {
    return result;
  }
  // The tail of stderr is where apt and dpkg say what went wrong.
  std::string_view err = result->err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
    err.remove_suffix(1);
  }
  std::size_t start = err.size();
  for (int lines = 0; lines < 6 && start > 0; ++lines) {
    start = err.rfind('\n', start - 1);
    if (start == std::string_view::npos) {
      start = 0;
      break;
    }
  }
  err.remove_prefix(start == 0 ? 0 : start + 1);
  return fail("`{}` {}{}{}", command_line(command), result->describe_status(), err.empty() ? "" : ":\n", err);
}

Result<std::filesystem::path> find_program(std::string_view name, std::string_view path_env) {
  if (name.empty()) {
    return fail("empty program name");
  }
  if (name.find('/') != std::string_view::npos) {
    return std::filesystem::path{name};
  }
  std::size_t begin = 0;
  while (begin <= path_env.size()) {
    std::size_t end = path_env.find(':', begin);
    if (end == std::string_view::npos) {
      end = path_env.size();
    }
    const std::string_view dir = path_env.substr(begin, end - begin);
    const std::filesystem::path candidate = std::filesystem::path{dir.empty() ? "." : dir} / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    begin = end + 1;
  }
  return fail("cannot find program '{}' in PATH ({})", name, path_env.empty() ? "empty" : path_env);
}

Result<CommandResult> SystemCommandRunner::run(const Command& command) {
  if (command.argv.empty()) {
    return fail("cannot run an empty command");
  }
  auto program = find_program(command.argv.front(), path_env_);
  if (!program) {
    return Unexpected{std::move(program).error()};
  }

  // Everything the child touches is prepared before fork.
  std::vector<std::string> argv_strings = command.argv;
  std::vector<std::string> env_strings = merged_environment(command.extra_env);
  const std::vector<char*> argv = c_strings(argv_strings);
  const std::vector<char*> envp = c_strings(env_strings);
  const std::string program_path = program->string();
  const std::string working_dir = command.working_dir ? command.working_dir->string() : std::string{};

  const UniqueFd dev_null{::open("/dev/null", O_RDWR | O_CLOEXEC)};
  if (!dev_null) {
    return fail("cannot open /dev/null: {}", std::strerror(errno));
  }
  auto report = make_pipe();
  if (!report) {
    return Unexpected{std::move(report).error()};
  }
  std::array<UniqueFd, 2> out_pipe;
  std::array<UniqueFd, 2> err_pipe;
  auto child_fd = [&](OutputMode mode, std::array<UniqueFd, 2>& pipe, int inherited) -> Result<int> {
    switch (mode) {
      case OutputMode::Inherit: return inherited;
      case OutputMode::Discard: return dev_null.get();
      case OutputMode::Capture: break;
    }
    auto made = make_pipe();
    if (!made) {
      return Unexpected{std::move(made).error()};
    }
    pipe = std::move(*made);
    return pipe[1].get();
  };
  auto stdout_fd = child_fd(command.stdout_mode, out_pipe, STDOUT_FILENO);
  auto stderr_fd = child_fd(command.stderr_mode, err_pipe, STDERR_FILENO);
  if (!stdout_fd || !stderr_fd) {
    return fail("running {}: {}", command.argv.front(),
                (!stdout_fd ? stdout_fd.error() : stderr_fd.error()).message);
  }

  const pid_t pid = ::fork();
  if (pid < 0) {
    return fail("cannot fork to run {}: {}", command.argv.front(), std::strerror(errno));
  }
  if (pid == 0) {
    exec_child(dev_null.get(), *stdout_fd, *stderr_fd, (*report)[1].get(),
               command.working_dir ? working_dir.c_str() : nullptr, program_path.c_str(), argv.data(),
               envp.data());
  }

  // Close our copies of the write ends, or the reads below never see EOF.
  (*report)[1].reset();
  out_pipe[1].reset();
  err_pipe[1].reset();

  ChildFailure failure{};
  ssize_t got = 0;
  do {
    got = ::read((*report)[0].get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);

  CommandResult captured;
  auto drained = drain(out_pipe[0], err_pipe[0], captured.out, captured.err);
  auto waited = wait_for(pid);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    if (failure.stage == kStageChdir) {
      return fail("cannot run {}: cannot change to directory {}: {}", command.argv.front(), working_dir,
                  std::strerror(failure.error));
    }
    return fail("cannot execute {} ({}): {}", command.argv.front(), program_path,
                std::strerror(failure.error));
  }
  if (!waited) {
    return fail("running {}: {}", command.argv.front(), waited.error().message);
  }
  if (!drained) {
    return fail("reading the output of {}: {}", command.argv.front(), drained.error().message);
  }
  waited->out = std::move(captured.out);
  waited->err = std::move(captured.err);
  return waited;
}

}  // namespace kstep::host
