#include "guest/child_reaper.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kstep::guest {

Result<ChildReaper> ChildReaper::create() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t previous;
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &chld, &previous); rc != 0) {
    return fail("blocking SIGCHLD: {}", std::strerror(rc));
  }
  UniqueFd fd{::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)};
  if (!fd) {
    const int error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return fail("signalfd for SIGCHLD: {}", std::strerror(error));
  }
  return ChildReaper{std::move(fd), previous};
}

ChildReaper::ChildReaper(ChildReaper&& other) noexcept
    : fd_(std::move(other.fd_)), previous_(other.previous_), restore_(std::exchange(other.restore_, false)) {}

ChildReaper::~ChildReaper() {
  if (restore_) {
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
}

std::vector<ChildExit> ChildReaper::reap() {
  struct signalfd_siginfo info[8];
  while (::read(fd_.get(), info, sizeof info) > 0) {
    // Only the wakeup matters; waitpid below finds who exited.
  }
  std::vector<ChildExit> exits;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      exits.push_back(ChildExit{pid, status});
      continue;
    }
    if (pid < 0 && errno == EINTR) {
      continue;
    }
    // 0: children remain but none has exited; ECHILD: no children at all.
    return exits;
  }
}

}  // namespace kstep::guest
