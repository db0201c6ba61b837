// TerminationWatch: waits for SIGINT/SIGTERM or for a condition to turn true.
//
// The loader must notice two things: the agent (or a user) asking it to stop,
// and the BPF side exiting on its own, which is only visible by polling the
// .bss exit record. A signalfd polled with a short timeout covers both with
// no signal handler and no global state.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace kstep::sched {

class TerminationWatch {
 public:
  // Blocks SIGINT and SIGTERM for the process and opens a signalfd for them.
  // Call before attaching, so a signal that arrives during load is kept
  // pending rather than killing the loader between attach and watch.
  [[nodiscard]] static Result<TerminationWatch> start();

  TerminationWatch(TerminationWatch&&) noexcept = default;
  TerminationWatch& operator=(TerminationWatch&&) noexcept = default;
  // Restores the previous signal mask.
  ~TerminationWatch();

  // Waits until a termination signal arrives (returns its number) or
  // `done()` returns true (returns 0). `done` is checked every `poll`.
  [[nodiscard]] Result<int> wait(const std::function<bool()>& done, std::chrono::milliseconds poll);

 private:
  TerminationWatch(UniqueFd fd, sigset_t previous) : fd_(std::move(fd)), previous_(previous) {}

  UniqueFd fd_;
  sigset_t previous_{};
};

}  // namespace kstep::sched
