// ChildProcess: one spawned program (QEMU), owned until it is reaped.
//
// The guarantee this type exists for: no orphan QEMU, ever. Every exit path
// of kstep that unwinds destroys the ChildProcess, whose destructor SIGKILLs
// and reaps a child still running; a kstep that dies without unwinding
// (SIGKILL, crash) takes the child with it through PR_SET_PDEATHSIG.
//
// spawn() is fork + execve with the child set up before exec:
//   - PR_SET_PDEATHSIG(SIGKILL), then a getppid() check against the parent
//     captured before fork (the parent may have died before the prctl);
//   - its own process group, so a terminal's Ctrl-C reaches kstep only and
//     kstep decides how the VM stops;
//   - signal dispositions reset to default and the mask cleared;
//   - stdin/stdout/stderr from the spec, every other fd closed (close_range).
// An exec failure travels back through a CLOEXEC pipe, so spawn() fails with
// "cannot execute <argv[0]>: <reason>" instead of a child exiting 127.
//
// The parent holds a pidfd: the session watches it with Asio (it becomes
// readable when the child exits), and signals go through it, so a reaped pid
// that the kernel has reused can never be signalled by mistake.
//
// Caveat: Linux delivers the death signal when the *thread* that forked
// exits, not the process. Spawn from a thread that outlives the child (the
// main thread, in kstep).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace kstep::host {

// How a child ended.
class ExitStatus {
 public:
  enum class Kind {
    Exited,  // returned from main / called exit: code()
    Killed,  // terminated by a signal: signal()
    Lost,    // the status could not be collected (waitid failed): error()
  };

  [[nodiscard]] static ExitStatus exited(int code) noexcept { return {Kind::Exited, code, false}; }
  [[nodiscard]] static ExitStatus killed(int signal, bool core_dumped = false) noexcept {
    return {Kind::Killed, signal, core_dumped};
  }
  [[nodiscard]] static ExitStatus lost(int error) noexcept { return {Kind::Lost, error, false}; }
  // From waitid()'s siginfo (CLD_EXITED, CLD_KILLED, CLD_DUMPED).
  [[nodiscard]] static ExitStatus from_siginfo(const siginfo_t& info) noexcept;

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool success() const noexcept { return kind_ == Kind::Exited && value_ == 0; }
  // Meaningful only for the matching kind; -1 otherwise.
  [[nodiscard]] int code() const noexcept { return kind_ == Kind::Exited ? value_ : -1; }
  [[nodiscard]] int signal() const noexcept { return kind_ == Kind::Killed ? value_ : -1; }
  [[nodiscard]] int error() const noexcept { return kind_ == Kind::Lost ? value_ : -1; }
  [[nodiscard]] bool core_dumped() const noexcept { return core_dumped_; }

  // "exited with code 1", "was killed by SIGKILL (signal 9)", ...
  [[nodiscard]] std::string describe() const;

  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;

 private:
  ExitStatus(Kind kind, int value, bool core_dumped) noexcept
      : kind_(kind), value_(value), core_dumped_(core_dumped) {}

  Kind kind_;
  int value_;
  bool core_dumped_;
};

struct SpawnSpec {
  // argv[0] is the program, executed as given (execve, no PATH search):
  // resolve it first (find_program, find_qemu).
  std::vector<std::string> argv;
  // The child's environment; nullopt inherits this process's.
  std::optional<std::vector<std::string>> env;
  // Descriptors the child gets as 0, 1 and 2; they stay owned by the caller
  // (close your copy of a pipe's write end after spawn). -1: stdin reads
  // /dev/null, stdout and stderr are inherited.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

class ChildProcess {
 public:
  [[nodiscard]] static Result<ChildProcess> spawn(const SpawnSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // SIGKILLs and reaps the child if it has not been reaped.
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Readable once the child has exited (poll/epoll/Asio). Owned by this
  // object and valid until it is destroyed; dup it to hand it elsewhere.
  [[nodiscard]] int pidfd() const noexcept { return pidfd_.get(); }
  // The status, once reaped.
  [[nodiscard]] const std::optional<ExitStatus>& status() const noexcept { return status_; }

  // Sends `signal` through the pidfd. Fails once the child has been reaped.
  [[nodiscard]] Result<void> send_signal(int signal) const;
  // Reaps the child if it has exited; nullopt while it runs.
  [[nodiscard]] std::optional<ExitStatus> try_wait();
  // Blocks until the child exits and reaps it. Returns the cached status on
  // later calls.
  ExitStatus wait();
  // SIGTERM, up to `grace` for the child to exit, then SIGKILL; reaps it.
  ExitStatus terminate(std::chrono::milliseconds grace);
  // SIGKILL and reap; a no-op returning the status if already reaped.
  ExitStatus kill_and_reap() noexcept;

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> status_;
};

}  // namespace kstep::host
