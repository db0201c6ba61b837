#include "guest/payloads/fork_payload_launcher.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "guest/payloads/fork_payload.hpp"

namespace kstep::guest {

namespace {

// The environment every payload gets, whatever the agent's own is.
constexpr std::array<std::string_view, 2> kEnvironment{"PATH=/usr/bin:/bin", "HOME=/tmp"};

// What the child sends back when it cannot reach a successful execve.
enum class ChildStep : int { Setpgid, Stdio, Exec };

struct ChildFailure {
  ChildStep step;
  int error;
};

struct Channel {
  UniqueFd read;
  UniqueFd write;
};

Result<Channel> make_pipe(std::string_view what) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    return fail("creating the {} pipe: {}", what, std::strerror(errno));
  }
  return Channel{UniqueFd{fds[0]}, UniqueFd{fds[1]}};
}

// A socket pair rather than a pipe: the parent writes "go" with
// MSG_NOSIGNAL, so a child that already died is an EPIPE and not a SIGPIPE
// to the agent.
Result<Channel> make_go_channel() {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) {
    return fail("creating the start socket pair: {}", std::strerror(errno));
  }
  return Channel{UniqueFd{fds[0]}, UniqueFd{fds[1]}};
}

// argv and envp, built before fork: the child may not allocate.
struct ExecImage {
  std::string path;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;

  explicit ExecImage(const PayloadRequest& request) : path(request.guest_path) {
    const auto slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    argv_storage.push_back(name.empty() ? request.decl.name() : std::move(name));
    argv_storage.insert(argv_storage.end(), request.args.begin(), request.args.end());
    env_storage.assign(kEnvironment.begin(), kEnvironment.end());
    for (auto& arg : argv_storage) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    for (auto& var : env_storage) {
      envp.push_back(var.data());
    }
    envp.push_back(nullptr);
  }
};

struct ChildFds {
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  int go_fd;
  int report_fd;
};

[[noreturn]] void child_fail(int report_fd, ChildStep step, int error) noexcept {
  const ChildFailure failure{step, error};
  // One write below PIPE_BUF is atomic; if it fails nobody can be told.
  [[maybe_unused]] const auto written = ::write(report_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Runs in the forked child; async-signal-safe calls only. Never returns.
[[noreturn]] void child_main(const ExecImage& image, ChildFds fds) noexcept {
  // Dispositions first, then the mask: the parent blocked every signal
  // around fork, so none of its handlers can run in here meanwhile.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and libc's own
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // If 0-2 were closed in the agent, a pipe may sit there; lift every fd
  // above 2 so that installing stdio cannot clobber another one.
  for (int* fd : {&fds.report_fd, &fds.stdin_fd, &fds.stdout_fd, &fds.stderr_fd, &fds.go_fd}) {
    if (*fd < 3) {
      const int lifted = ::fcntl(*fd, F_DUPFD_CLOEXEC, 3);
      if (lifted < 0) {
        if (fd == &fds.report_fd) {
          ::_exit(127);
        }
        child_fail(fds.report_fd, ChildStep::Stdio, errno);
      }
      *fd = lifted;
    }
  }
  if (::setpgid(0, 0) != 0) {
    child_fail(fds.report_fd, ChildStep::Setpgid, errno);
  }
  if (::dup2(fds.stdin_fd, 0) < 0 || ::dup2(fds.stdout_fd, 1) < 0 || ::dup2(fds.stderr_fd, 2) < 0) {
    child_fail(fds.report_fd, ChildStep::Stdio, errno);
  }
  char go = 0;
  ssize_t n = 0;
  do {
    n = ::read(fds.go_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    ::_exit(127);  // the parent gave up on us (placement failed); it reaps
  }
  // Descriptors somebody opened without O_CLOEXEC must not leak into the
  // payload. Linux >= 5.11; older kernels keep the O_CLOEXEC discipline only.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(image.path.c_str(), image.argv.data(), image.envp.data());
  child_fail(fds.report_fd, ChildStep::Exec, errno);
}

// Blocks every signal for its lifetime, so that no signal handler of the
// agent runs in the child before it resets the dispositions.
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

// For a child that never got to exec: it is ours and unreaped, so its pid
// is safe to signal.
void abort_child(pid_t pid) noexcept {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string describe(const ChildFailure& failure, const std::string& path) {
  switch (failure.step) {
    case ChildStep::Setpgid: return fmt::format("setpgid in the child: {}", std::strerror(failure.error));
    case ChildStep::Stdio:
      return fmt::format("setting up stdin/stdout/stderr in the child: {}", std::strerror(failure.error));
    case ChildStep::Exec: return fmt::format("cannot exec {}: {}", path, std::strerror(failure.error));
  }
  return "the child failed before exec";
}

}  // namespace

Result<std::unique_ptr<Payload>> ForkPayloadLauncher::start(const PayloadRequest& request) {
  const auto context = [&request](const Error& error) {
    return Unexpected{error.context(fmt::format("payload '{}'", request.id))};
  };
  if (request.guest_path.empty()) {
    return fail("payload '{}': no binary path in the guest", request.id);
  }
  const ExecImage image{request};
  auto out = make_pipe("stdout");
  auto err = make_pipe("stderr");
  auto report = make_pipe("exec report");
  auto go = make_go_channel();
  for (const auto* channel : {&out, &err, &report, &go}) {
    if (!*channel) {
      return context(channel->error());
    }
  }
  const UniqueFd null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  if (!null) {
    return fail("payload '{}': opening /dev/null: {}", request.id, std::strerror(errno));
  }

  pid_t pid = -1;
  {
    const BlockAllSignals blocked;
    pid = ::fork();
    if (pid == 0) {
      child_main(image, ChildFds{null.get(), out->write.get(), err->write.get(), go->read.get(),
                                 report->write.get()});
    }
  }
  if (pid < 0) {
    return fail("payload '{}': fork: {}", request.id, std::strerror(errno));
  }
  // The child's ends are the child's: EOF on our read ends must mean the
  // child (or its exec) closed them.
  out->write.reset();
  err->write.reset();
  report->write.reset();
  go->read.reset();
  // The child does it too; whichever runs first, kill(-pid) is valid as
  // soon as start() returns.
  ::setpgid(pid, pid);

  UniqueFd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
  if (!pidfd) {
    const int error = errno;
    abort_child(pid);
    return fail("payload '{}': pidfd_open: {}", request.id, std::strerror(error));
  }
  if (auto placed = place_(pid, request.cgroup); !placed) {
    abort_child(pid);
    return context(placed.error().context(fmt::format("placing it in cgroup '{}'", request.cgroup)));
  }
  const char go_byte = 'g';
  ssize_t sent = 0;
  do {
    sent = ::send(go->write.get(), &go_byte, 1, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  go->write.reset();

  // EOF: the exec succeeded (CLOEXEC closed the child's end). A failure
  // report is one atomic write.
  ChildFailure failure{};
  ssize_t n = 0;
  do {
    n = ::read(report->read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    abort_child(pid);
    return fail("payload '{}': {}", request.id, describe(failure, request.guest_path));
  }
  // (A child that died before exec without a report, e.g. because the go
  // byte never arrived, is reaped by the payload and reports exit code 127.)

  PayloadProcess process{pid, std::move(pidfd), std::move(out->read), std::move(err->read),
                         std::chrono::steady_clock::now()};
  auto payload = ForkPayload::start(std::move(process), request, sink_);
  if (!payload) {
    return Unexpected{std::move(payload).error()};
  }
  return std::unique_ptr<Payload>{std::move(payload).value()};
}

}  // namespace kstep::guest
