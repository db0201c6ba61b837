// ScenarioProcess: the agent's handle on one scenario run.
//
// The executor does not run inside the agent's poll loop: it forks workers
// and payloads, waits for them by pid and sleeps through holds, none of
// which mixes with a PID-1 loop that reaps every child with waitpid(-1). So
// the agent forks a scenario process per RunScenario; it runs the executor
// and writes its frames to a socketpair, which the agent reads, checks and
// relays to the host. The scenario process reaps its own children; orphans
// (a payload's grandchildren) still end up with PID 1.
//
// If the scenario process dies before it sent ScenarioEnd, the agent sends
// a failed ScenarioEnd itself (ending_for_death), so the host always gets
// a verdict, never a silent gap.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/message_codec.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// Runs in the forked child: executes `run`, writing frames to `frames_fd`
// (blocking), and returns the child's exit status.
using ScenarioEntry = std::function<int(const wire::RunScenario& run, int frames_fd)>;

class ScenarioProcess {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ScenarioProcess>> start(const wire::RunScenario& run,
                                                                      const ScenarioEntry& entry);

  // Pinned: a copy of the handle would kill the process when destroyed.
  ScenarioProcess(ScenarioProcess&&) = delete;
  ScenarioProcess& operator=(ScenarioProcess&&) = delete;
  ScenarioProcess(const ScenarioProcess&) = delete;
  ScenarioProcess& operator=(const ScenarioProcess&) = delete;
  // SIGKILLs the process if it still runs (its reaping is the agent's
  // reaper's job: PID 1 waits for everything).
  ~ScenarioProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Non-blocking read end of the frame socket; -1 once it reached EOF.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] bool ended() const noexcept { return ended_; }

  // Reads what is available and returns the complete messages. EOF closes
  // fd(). A frame that does not decode is an error (the process is ours, so
  // that is a bug worth a loud report).
  [[nodiscard]] Result<std::vector<wire::GuestMessage>> read_available();

  // Writes a host frame to the process (the socket is bidirectional; its
  // handshake thread reads it). Handshake frames are small and rare, so a
  // full socket buffer means the process stopped reading: an error.
  [[nodiscard]] Result<void> forward(const wire::HostMessage& message);

  // The process exited (the reaper saw `status`): reads what is left.
  [[nodiscard]] Result<std::vector<wire::GuestMessage>> drain();

  // The ScenarioEnd to send when the process died with `status` before
  // sending one.
  [[nodiscard]] static wire::GuestMessage ending_for_death(int status);

  void mark_exited() noexcept { exited_ = true; }

  ScenarioProcess(pid_t pid, UniqueFd fd) noexcept : pid_(pid), fd_(std::move(fd)) {}

 private:
  pid_t pid_ = -1;
  UniqueFd fd_;
  MessageDecoder<wire::GuestMessage> decoder_;
  bool ended_ = false;   // ScenarioEnd seen
  bool exited_ = false;  // reaped
};

[[nodiscard]] std::string describe_wait_status(int status);

}  // namespace kstep::guest
