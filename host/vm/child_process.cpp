#include "host/vm/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

// glibc 2.36 declares these without extern "C" (fixed in 2.37).
extern "C" {
#include <sys/pidfd.h>
}

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, not declared by <unistd.h> in C++

namespace kstep::host {

namespace {

// What the child sends back when it cannot reach execve's success.
enum class ChildStep : int { Setpgid, Pdeathsig, Dup, CloseRange, Exec };

struct ChildFailure {
  ChildStep step;
  int error;
};

const char* step_name(ChildStep step) {
  switch (step) {
    case ChildStep::Setpgid: return "setpgid";
    case ChildStep::Pdeathsig: return "prctl(PR_SET_PDEATHSIG)";
    case ChildStep::Dup: return "setting up stdin/stdout/stderr";
    case ChildStep::CloseRange: return "closing inherited descriptors";
    case ChildStep::Exec: return "execve";
  }
  return "?";
}

// Everything the child needs, prepared before fork: after fork only
// async-signal-safe calls are allowed (the parent may have other threads).
struct ExecImage {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  char** env = nullptr;

  explicit ExecImage(const SpawnSpec& spec) : argv_storage(spec.argv) {
    for (auto& arg : argv_storage) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    if (spec.env) {
      env_storage = *spec.env;
      for (auto& var : env_storage) {
        envp.push_back(var.data());
      }
      envp.push_back(nullptr);
      env = envp.data();
    } else {
      env = environ;
    }
  }
};

[[noreturn]] void child_fail(int report_fd, ChildStep step, int error) noexcept {
  const ChildFailure failure{step, error};
  // One write under PIPE_BUF is atomic; if it fails there is nobody to tell.
  [[maybe_unused]] const auto written = ::write(report_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Closes every fd >= 3 except `keep`. close_range needs Linux 5.9; older
// kernels get a loop up to the fd limit.
bool close_all_but(int keep) noexcept {
  const auto close_span = [](unsigned first, unsigned last) {
    if (first > last) {
      return true;
    }
    if (::close_range(first, last, 0) == 0) {
      return true;
    }
    if (errno != ENOSYS) {
      return false;
    }
    rlimit limit{};
    const unsigned max =
        ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY ? limit.rlim_cur : 65536U;
    for (unsigned fd = first; fd <= last && fd < max; ++fd) {
      ::close(static_cast<int>(fd));
    }
    return true;
  };
  const auto k = static_cast<unsigned>(keep);
  return close_span(3, k - 1) && close_span(k + 1, ~0U);
}

// Runs in the forked child. Never returns.
[[noreturn]] void child_main(const ExecImage& image, std::array<int, 3> stdio, int report_fd,
                             pid_t parent) noexcept {
  // Dispositions first, then the mask: the parent blocked every signal
  // around fork, so none of its handlers can run in here meanwhile. Ignored
  // signals (SIGPIPE, often) would otherwise stay ignored across exec.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP, libc-internal ones
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    child_fail(report_fd, ChildStep::Pdeathsig, errno);
  }
  if (::getppid() != parent) {
    ::_exit(127);  // the parent died before the prctl took effect
  }
  if (::setpgid(0, 0) != 0) {
    child_fail(report_fd, ChildStep::Setpgid, errno);
  }

  // If kstep was started with 0-2 closed, the report pipe may sit there;
  // lift it out of the way of dup2.
  if (report_fd < 3) {
    const int lifted = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
    if (lifted < 0) {
      ::_exit(127);
    }
    report_fd = lifted;
  }
  // Move the sources above 2 first so that installing one cannot clobber
  // another (e.g. a stdout_fd that is our fd 2).
  std::array<int, 3> moved{-1, -1, -1};
  for (int i = 0; i < 3; ++i) {
    if (stdio[i] >= 0 && (moved[i] = ::fcntl(stdio[i], F_DUPFD_CLOEXEC, 3)) < 0) {
      child_fail(report_fd, ChildStep::Dup, errno);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (moved[i] >= 0 && ::dup2(moved[i], i) < 0) {  // dup2 clears CLOEXEC on the target
      child_fail(report_fd, ChildStep::Dup, errno);
    }
  }
  if (!close_all_but(report_fd)) {
    child_fail(report_fd, ChildStep::CloseRange, errno);
  }
  ::execve(image.argv[0], image.argv.data(), image.env);
  child_fail(report_fd, ChildStep::Exec, errno);
}

// Blocks every signal for its lifetime, so fork happens with none pending
// delivery to a handler in the child.
class BlockAllSignals {
 public:
  BlockAllSignals() noexcept {
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~BlockAllSignals() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  BlockAllSignals(const BlockAllSignals&) = delete;
  BlockAllSignals& operator=(const BlockAllSignals&) = delete;

 private:
  sigset_t saved_{};
};

}  // namespace

ExitStatus ExitStatus::from_siginfo(const siginfo_t& info) noexcept {
  switch (info.si_code) {
    case CLD_EXITED: return exited(info.si_status);
    case CLD_DUMPED: return killed(info.si_status, true);
    default: return killed(info.si_status);
  }
}

std::string ExitStatus::describe() const {
  switch (kind_) {
    case Kind::Exited: return fmt::format("exited with code {}", value_);
    case Kind::Killed: {
      const char* abbrev = ::sigabbrev_np(value_);
      return fmt::format("was killed by {}{} (signal {}){}", abbrev != nullptr ? "SIG" : "signal ",
                         abbrev != nullptr ? abbrev : std::to_string(value_), value_,
                         core_dumped_ ? ", core dumped" : "");
    }
    case Kind::Lost: return fmt::format("ended, but its exit status was lost ({})", std::strerror(value_));
  }
  return "ended";
}

Result<ChildProcess> ChildProcess::spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return fail("cannot spawn a process: argv is empty");
  }
  const std::string& program = spec.argv.front();
  const ExecImage image{spec};

  UniqueFd dev_null;
  int stdin_fd = spec.stdin_fd;
  if (stdin_fd < 0) {
    dev_null.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!dev_null) {
      return fail("cannot open /dev/null for {}'s stdin: {}", program, std::strerror(errno));
    }
    stdin_fd = dev_null.get();
  }

  std::array<int, 2> report{};
  if (::pipe2(report.data(), O_CLOEXEC) != 0) {
    return fail("cannot create a pipe to start {}: {}", program, std::strerror(errno));
  }
  UniqueFd report_read{report[0]};
  UniqueFd report_write{report[1]};

  const pid_t parent = ::getpid();
  pid_t pid = -1;
  {
    const BlockAllSignals blocked;
    pid = ::fork();
    if (pid == 0) {
      child_main(image, {stdin_fd, spec.stdout_fd, spec.stderr_fd}, report_write.get(), parent);
    }
  }
  if (pid < 0) {
    return fail("cannot fork to start {}: {}", program, std::strerror(errno));
  }
  report_write.reset();

  UniqueFd pidfd{::pidfd_open(pid, 0)};  // pidfds are always close-on-exec
  if (!pidfd) {
    const int error = errno;
    ::kill(pid, SIGKILL);  // still our unreaped child: the pid cannot have been reused
    ::waitpid(pid, nullptr, 0);
    return fail("cannot open a pidfd for {} (Linux 5.3 or newer is needed): {}", program,
                std::strerror(error));
  }
  // From here on the destructor kills and reaps on every error path.
  ChildProcess child{pid, std::move(pidfd)};

  ChildFailure failure{};
  ssize_t n = 0;
  do {
    n = ::read(report_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    return child;  // EOF: the pipe closed on a successful exec
  }
  if (n < 0) {
    return fail("cannot learn whether {} started: {}", program, std::strerror(errno));
  }
  child.wait();
  if (n != sizeof failure) {
    return fail("cannot execute {}: the child failed before exec", program);
  }
  if (failure.step == ChildStep::Exec) {
    return fail("cannot execute {}: {}", program, std::strerror(failure.error));
  }
  return fail("cannot execute {}: {} failed: {}", program, step_name(failure.step),
              std::strerror(failure.error));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pidfd_ && !status_) {
      kill_and_reap();
    }
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pidfd_ && !status_) {
    kill_and_reap();
  }
}

Result<void> ChildProcess::send_signal(int signal) const {
  if (!pidfd_ || status_) {
    return fail("cannot signal process {}: it has already been reaped", pid_);
  }
  if (::pidfd_send_signal(pidfd_.get(), signal, nullptr, 0) != 0) {
    return fail("cannot send signal {} to process {}: {}", signal, pid_, std::strerror(errno));
  }
  return {};
}

std::optional<ExitStatus> ChildProcess::try_wait() {
  if (status_ || !pidfd_) {
    return status_;
  }
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    status_ = ExitStatus::lost(errno);  // e.g. ECHILD: someone else reaped it
  } else if (info.si_pid != 0) {
    status_ = ExitStatus::from_siginfo(info);
  }
  return status_;
}

ExitStatus ChildProcess::wait() {
  if (status_) {
    return *status_;
  }
  if (!pidfd_) {
    return ExitStatus::lost(ECHILD);  // moved-from
  }
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED);
  } while (rc != 0 && errno == EINTR);
  status_ = rc == 0 ? ExitStatus::from_siginfo(info) : ExitStatus::lost(errno);
  return *status_;
}

ExitStatus ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (auto done = try_wait()) {
    return *done;
  }
  if (!send_signal(SIGTERM)) {
    return kill_and_reap();
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + grace;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    pollfd watch{pidfd_.get(), POLLIN, 0};
    const int rc = ::poll(&watch, 1, static_cast<int>(left.count()));
    if (rc > 0) {
      return wait();
    }
    if (rc < 0 && errno != EINTR) {
      break;
    }
  }
  return kill_and_reap();
}

ExitStatus ChildProcess::kill_and_reap() noexcept {
  if (status_) {
    return *status_;
  }
  if (!pidfd_) {
    return ExitStatus::lost(ECHILD);
  }
  // Fails only if the child is already a zombie, which wait() collects.
  ::pidfd_send_signal(pidfd_.get(), SIGKILL, nullptr, 0);
  return wait();
}

}  // namespace kstep::host
