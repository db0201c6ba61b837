// The life of one forked worker, from fork() to _exit().
//
//   1. Detach from the agent's process state: default signal dispositions,
//      an empty signal mask (the agent blocks SIGCHLD for its signalfd;
//      FORK_EXIT must reap its own children), no inherited descriptors
//      (a worker must not keep an agent pipe or the port open).
//   2. Wait at the group's gate until the agent has placed every worker of
//      the group in its cgroup (Gate::kPrepare).
//   3. Apply its settings to itself and map its work buffer; publish
//      kReady, or kFailed with the step and errno, and acknowledge.
//   4. Wait for Gate::kRun (the agent opens it only when every worker is
//      ready), then work until asked to stop.
//   5. Store se.nr_migrations, its own rusage and its exit time, _exit(0).
//
// The worker runs on a copy of the forking thread's stack and may be the
// child of a multithreaded process: it never returns, never allocates and
// calls only async-signal-safe functions.
#pragma once

#include <sys/types.h>

#include "guest/workers/shared_region.hpp"
#include "guest/workers/work_loops.hpp"
#include "guest/workers/worker_settings.hpp"

namespace kstep::guest::workers {

// Exit codes, for whoever reads a stray status (the agent learns about
// failures from the slot, not from these).
inline constexpr int kExitStopped = 0;
inline constexpr int kExitSetupFailed = 2;
inline constexpr int kExitOrphaned = 3;

struct WorkerSetup {
  GroupHeader* header = nullptr;
  WorkerSlot* slots = nullptr;
  unsigned count = 0;
  unsigned index = 0;
  const SettingsPlan* settings = nullptr;
  const WorkPlan* work = nullptr;
  pid_t agent = 0;  // getpid() of the forking process
};

// Call in the child right after fork().
[[noreturn]] void run_worker(const WorkerSetup& setup) noexcept;

}  // namespace kstep::guest::workers
