// Synchronous subprocesses: run a program to completion, capture its output.
//
// For the short helper tools kstep drives (apt-get, apt-cache, dpkg-deb),
// not for QEMU (host/vm/child_process.hpp supervises that one). The runner is
// an interface so the code that sequences commands (kernel fetching) is unit
// tested against a fake that records argv and returns canned output.
//
// The real runner: fork + execve of argv (no shell, no PATH search in the
// child: argv[0] is resolved in the parent against the PATH it was given),
// stdin from /dev/null, every descriptor other than 0/1/2 closed at exec,
// signal mask and dispositions reset (an ignored SIGPIPE would otherwise be
// inherited). An exec failure travels back over a CLOEXEC pipe, so it is an
// error naming the program rather than an exit code 127.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::host {

enum class OutputMode {
  Capture,  // into CommandResult::out / err
  Inherit,  // straight to kstep's own stdout / stderr
  Discard,  // /dev/null
};

struct Command {
  // argv[0] is a program name looked up in PATH, or a path (contains '/').
  std::vector<std::string> argv;
  std::optional<std::filesystem::path> working_dir = {};
  // "NAME=value" entries added to the inherited environment (replacing a
  // variable of the same name).
  std::vector<std::string> extra_env = {};
  OutputMode stdout_mode = OutputMode::Capture;
  OutputMode stderr_mode = OutputMode::Capture;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the killing signal, 0 when it exited
  std::string out;     // captured stdout (empty unless OutputMode::Capture)
  std::string err;     // captured stderr

  [[nodiscard]] bool success() const noexcept { return signal == 0 && exit_code == 0; }
  // "exited with code 100", "was killed by signal 9 (Killed)".
  [[nodiscard]] std::string describe_status() const;
};

// argv joined with spaces, quoting the arguments that need it, for messages.
[[nodiscard]] std::string command_line(const Command& command);

class CommandRunner {
 public:
  CommandRunner() = default;
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;
  virtual ~CommandRunner() = default;

  // Runs `command` to completion. Fails only when it could not be run at all
  // (program not found, fork or exec failed); a non-zero exit is a result.
  [[nodiscard]] virtual Result<CommandResult> run(const Command& command) = 0;
};

// Runs `command` and fails unless it exits 0. The error names the command
// line, how it ended and the last lines of its stderr.
[[nodiscard]] Result<CommandResult> run_checked(CommandRunner& runner, const Command& command);

class SystemCommandRunner final : public CommandRunner {
 public:
  // `path_env`: the PATH to resolve program names against (pass $PATH).
  explicit SystemCommandRunner(std::string path_env) : path_env_(std::move(path_env)) {}

  [[nodiscard]] Result<CommandResult> run(const Command& command) override;

 private:
  std::string path_env_;
};

// The first executable regular file named `name` in the ':'-separated
// `path_env` (an empty entry means the current directory, as in execvp).
[[nodiscard]] Result<std::filesystem::path> find_program(std::string_view name, std::string_view path_env);

}  // namespace kstep::host
