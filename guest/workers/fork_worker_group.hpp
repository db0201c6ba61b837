// ForkWorkerGroup: the agent's side of one group of forked workers.
//
// It owns the shared region and one pidfd per worker. Workers are signalled
// and reaped through their pidfds (waitid(P_PIDFD) returns the rusage too),
// never through waitpid(-1): the agent has other children, and a pidfd cannot
// name a recycled pid.
//
// Setup is two-phase (see worker_process.hpp): fork_worker() leaves each
// worker blocked at the gate so the launcher can place it in its cgroup;
// release() lets them apply their settings, collects every acknowledgement,
// and only then lets them work. Any failure before release() returns is
// cleaned up by the destructor (SIGKILL and reap).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/unique_fd.hpp"
#include "guest/executor/executor_ports.hpp"
#include "guest/workers/shared_region.hpp"
#include "guest/workers/work_loops.hpp"
#include "guest/workers/worker_settings.hpp"

namespace kstep::guest::workers {

class ForkWorkerGroup final : public WorkerGroup {
 public:
  ForkWorkerGroup(SharedRegion region, scenario::WorkType work);
  ForkWorkerGroup(const ForkWorkerGroup&) = delete;
  ForkWorkerGroup& operator=(const ForkWorkerGroup&) = delete;
  ~ForkWorkerGroup() override;

  // Forks the next worker; it waits at the gate until release(). The plans
  // must stay alive until release() returns (the child reads its copy).
  [[nodiscard]] Result<pid_t> fork_worker(const SettingsPlan& settings, const WorkPlan& work);
  // Every worker is forked and placed: let them set themselves up, wait up
  // to `timeout` for all of them, then start them. The error names the first
  // worker that failed and the system call that failed it.
  [[nodiscard]] Result<void> release(const SettingsPlan& settings, const WorkPlan& work,
                                     std::chrono::milliseconds timeout);

  [[nodiscard]] std::size_t size() const override { return workers_.size(); }
  [[nodiscard]] std::vector<pid_t> pids() const override;
  [[nodiscard]] std::uint64_t iterations() const override;
  // One worker's count (index in pids() order), read at this instant.
  [[nodiscard]] std::uint64_t iterations_of(unsigned index) const;
  [[nodiscard]] Result<void> set_affinity(const std::vector<unsigned>& cpus) override;
  [[nodiscard]] std::vector<wire::WorkerReport> stop(std::chrono::milliseconds grace) override;
  void kill() override;

 private:
  struct Worker {
    pid_t pid = 0;
    UniqueFd pidfd;
    bool reaped = false;
    // From waitid; absent when someone else reaped the worker first.
    std::optional<int> exit_code;  // si_code: CLD_EXITED, CLD_KILLED, ...
    std::optional<struct rusage> usage;
    std::uint64_t reaped_ns = 0;
    std::uint64_t signalled_ns = 0;  // when the agent sent SIGKILL
    // Read by the agent just before SIGKILL: a killed worker cannot
    // store its own count.
    std::uint64_t migrations_before_kill = 0;
  };

  [[nodiscard]] Result<void> await_acknowledgements(std::chrono::milliseconds timeout);
  void request_stop() noexcept;
  void await_exits(std::chrono::steady_clock::time_point deadline);
  void sigkill_remaining(bool read_migrations) noexcept;
  // Collects the worker's exit; with `block` false, only if it has exited.
  bool reap(Worker& worker, bool block) noexcept;
  void reap_all() noexcept;
  [[nodiscard]] wire::WorkerReport report(unsigned index) const;

  SharedRegion region_;
  scenario::WorkType work_;
  std::vector<Worker> workers_;
  std::uint64_t release_ns_ = 0;
  bool stopped_ = false;
};

}  // namespace kstep::guest::workers
