// ForkPayloadLauncher: starts payload binaries as child processes of the agent.
//
// start() is fork + execve with a handshake, so a payload never runs a
// single instruction outside its cgroup:
//   1. the child resets what the agent changed for itself (every signal
//      disposition to default and an empty mask: the agent blocks SIGCHLD,
//      and a payload like stress-ng needs its own), makes itself a process
//      group leader (kill() takes its workers down with it), gets stdin from
//      /dev/null and stdout/stderr on pipes, then blocks on a "go" pipe;
//   2. the parent calls place(pid, cgroup) and only then writes "go";
//   3. the child execs guest_path with argv [basename, args...] and a fixed
//      environment (PATH=/usr/bin:/bin, HOME=/tmp): payloads must behave the
//      same whatever the agent's own environment is.
// An exec failure travels back through a CLOEXEC pipe, so start() fails with
// "cannot exec /payloads/x/y: No such file or directory" instead of the
// payload exiting 127. After exec a ForkPayload (fork_payload.hpp) owns the
// process: it streams its output and reaps it.
//
// Only async-signal-safe calls run between fork and exec: the agent has
// other threads (payload monitors) whose locks a forked child could inherit held.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "guest/executor/executor_ports.hpp"

namespace kstep::guest {

class ForkPayloadLauncher final : public PayloadLauncher {
 public:
  // Moves `pid` into the cgroup named `cgroup` (a CgroupFs name).
  using Place = std::function<Result<void>(pid_t pid, const std::string& cgroup)>;

  // `sink` receives every payload's output frames, from the payloads'
  // monitor threads; it must outlive every payload this launcher starts.
  ForkPayloadLauncher(Place place, FrameSink& sink) : place_(std::move(place)), sink_(sink) {}

  [[nodiscard]] Result<std::unique_ptr<Payload>> start(const PayloadRequest& request) override;

 private:
  Place place_;
  FrameSink& sink_;
};

}  // namespace kstep::guest
