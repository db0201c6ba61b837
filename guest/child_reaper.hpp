// ChildReaper: collects exited children, orphans included.
//
// PID 1 inherits every orphan in the machine and must wait() for each, or
// zombies pile up. SIGCHLD is blocked and read from a signalfd so the agent's
// poll loop learns of exits without a signal handler; since several exits
// may coalesce into one SIGCHLD, reap() loops waitpid(-1, WNOHANG) until no
// exited child is left.
//
// The signal mask is per thread and inherited across fork/exec: a future
// process spawner must unblock SIGCHLD in its children before exec.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace kstep::guest {

struct ChildExit {
  pid_t pid;
  int status;  // as waitpid() reports it (WIFEXITED/WEXITSTATUS, ...)
};

class ChildReaper {
 public:
  // Blocks SIGCHLD in the calling thread and opens the signalfd.
  [[nodiscard]] static Result<ChildReaper> create();

  ChildReaper(ChildReaper&& other) noexcept;
  ChildReaper& operator=(ChildReaper&&) = delete;
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;
  // Restores the calling thread's previous signal mask.
  ~ChildReaper();

  // Readable when SIGCHLD is pending; poll it, then call reap().
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

  // Drains the signalfd and waits for every child that has exited.
  [[nodiscard]] std::vector<ChildExit> reap();

 private:
  ChildReaper(UniqueFd fd, const sigset_t& previous) noexcept : fd_(std::move(fd)), previous_(previous) {}

  UniqueFd fd_;
  sigset_t previous_;
  bool restore_ = true;
};

}  // namespace kstep::guest
