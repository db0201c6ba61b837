// The seams of the step executor: everything it does to processes and to
// the outside world goes through these interfaces (cgroups go through
// CgroupFs). Real implementations fork workers and payloads and write frames
// to the agent; unit tests pass fakes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep::guest {

// Where the executor's frames go. Thread-safe: payload output is forwarded
// from reader threads while the executor holds.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void send(const wire::GuestMessage& message) = 0;
};

// Time, so unit tests run holds without waiting.
class ExecutorClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~ExecutorClock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
  virtual void sleep_until(TimePoint deadline) = 0;
};

// The workers of one CgroupDef or Spawn op: `size()` forked processes in one
// cgroup, counting iterations in shared memory.
class WorkerGroup {
 public:
  // SIGKILLs and reaps whatever still runs.
  virtual ~WorkerGroup() = default;
  [[nodiscard]] virtual std::size_t size() const = 0;
  [[nodiscard]] virtual std::vector<pid_t> pids() const = 0;
  // Sum over the group, read from shared memory at this instant.
  [[nodiscard]] virtual std::uint64_t iterations() const = 0;
  // sched_setaffinity of every worker.
  [[nodiscard]] virtual Result<void> set_affinity(const std::vector<unsigned>& cpus) = 0;
  // Asks every worker to stop, waits up to `grace`, SIGKILLs the rest
  // (their reports say killed and come from shared memory), reaps all.
  // A second call returns nothing.
  [[nodiscard]] virtual std::vector<wire::WorkerReport> stop(std::chrono::milliseconds grace) = 0;
  // SIGKILL every worker now (the scheduler died: fallback scheduling must
  // not starve collection). stop() afterwards still returns their reports.
  virtual void kill() = 0;
};

struct WorkerRequest {
  scenario::Workers config;
  unsigned count = 0;  // resolved from config (workers or cpu_pct)
  std::string cgroup;  // CgroupFs name the workers are placed in before they start
};

class WorkerLauncher {
 public:
  virtual ~WorkerLauncher() = default;
  [[nodiscard]] virtual Result<std::unique_ptr<WorkerGroup>> spawn(const WorkerRequest& request) = 0;
};

// One running payload binary.
class Payload {
 public:
  // SIGKILLs and reaps it if it still runs.
  virtual ~Payload() = default;
  [[nodiscard]] virtual pid_t pid() const = 0;
  // Without blocking: has it exited?
  [[nodiscard]] virtual bool exited() = 0;
  // Waits for the exit up to `timeout`; an error if it still runs then.
  [[nodiscard]] virtual Result<wire::PayloadReport> wait(std::chrono::milliseconds timeout) = 0;
  // SIGKILL (if still running), reap, report: output read so far and its
  // metrics are kept.
  [[nodiscard]] virtual wire::PayloadReport kill() = 0;
};

struct PayloadRequest {
  std::string id;  // PayloadRun.id, or the payload name
  scenario::PayloadDecl decl;
  std::string guest_path;  // where the binary is inside the guest
  std::vector<std::string> args;
  std::string cgroup;      // CgroupFs name it runs in (placed before exec)
  bool scheduler = false;  // a sched_ext scheduler: its output frames are marked so
};

class PayloadLauncher {
 public:
  virtual ~PayloadLauncher() = default;
  [[nodiscard]] virtual Result<std::unique_ptr<Payload>> start(const PayloadRequest& request) = 0;
};

}  // namespace kstep::guest
