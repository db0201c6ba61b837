#include "guest/power.hpp"

#include <signal.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace kstep::guest {
namespace {

// Reaps until no child is left or `deadline` passes. Returns true when no
// child is left. Polls rather than sleeping on SIGCHLD: shutdown is rare and
// the interval is small against the grace.
bool reap_until(std::chrono::steady_clock::time_point deadline) noexcept {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0 || (pid < 0 && errno == EINTR)) {
      continue;
    }
    if (pid < 0) {
      return true;  // ECHILD
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

}  // namespace

void MachinePower::stop_processes(std::chrono::milliseconds grace) noexcept {
  using Clock = std::chrono::steady_clock;
  if (::kill(-1, SIGTERM) != 0 && errno == ESRCH) {
    return;  // nothing else runs
  }
  if (reap_until(Clock::now() + grace)) {
    return;
  }
  ::kill(-1, SIGKILL);
  // SIGKILL cannot be ignored; the bound only guards against a process
  // stuck in uninterruptible sleep holding up the power-off.
  (void)reap_until(Clock::now() + std::chrono::seconds{2});
}

void MachinePower::power_off() noexcept {
  ::sync();
  ::reboot(RB_POWER_OFF);
}

}  // namespace kstep::guest
