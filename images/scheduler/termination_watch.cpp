#include "images/scheduler/termination_watch.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kstep::sched {

Result<TerminationWatch> TerminationWatch::start() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigset_t previous;
  if (sigprocmask(SIG_BLOCK, &mask, &previous) != 0) {
    return fail("blocking SIGINT/SIGTERM: {}", std::strerror(errno));
  }
  const int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    return fail("signalfd: {}", std::strerror(err));
  }
  return TerminationWatch(UniqueFd(fd), previous);
}

TerminationWatch::~TerminationWatch() {
  if (fd_) {
    sigprocmask(SIG_SETMASK, &previous_, nullptr);
  }
}

Result<int> TerminationWatch::wait(const std::function<bool()>& done, std::chrono::milliseconds poll_every) {
  for (;;) {
    if (done()) {
      return 0;
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(poll_every.count()));
    if (ready < 0 && errno != EINTR) {
      return fail("poll on the signalfd: {}", std::strerror(errno));
    }
    if (ready <= 0) {
      continue;
    }
    signalfd_siginfo info{};
    const ssize_t got = ::read(fd_.get(), &info, sizeof info);
    if (got == static_cast<ssize_t>(sizeof info)) {
      return static_cast<int>(info.ssi_signo);
    }
    if (got < 0 && errno != EAGAIN && errno != EINTR) {
      return fail("reading the signalfd: {}", std::strerror(errno));
    }
  }
}

}  // namespace kstep::sched
