// What a worker does once released: the loop of its WorkType.
//
// Everything here runs in the forked worker, so it is async-signal-safe: no
// allocation, no locks, only system calls and atomics in shared memory.
//
// Progress is counted in iterations, which the executor sums per step; a
// worker publishes its count after every batch so the agent can read it at
// any instant. Between batches a worker passes a checkpoint: it records the
// gap since the previous one (a stall detector: the longest gap is the
// longest time it made no progress), the CPU it runs on, and whether it has
// been asked to stop. Planned waits (MIXED's sleep, the timed wait of a
// FUTEX_PINGPONG worker without a partner) are not stalls: only lateness
// past their deadline counts.
//
// One iteration is:
//   SPIN            kSpinSteps dependent xorshift steps (well under 1 us)
//   YIELD           one sched_yield()
//   FUTEX_PINGPONG  one turn of the pair (wake the partner, wait for it)
//   MIXED           one SPIN-sized step inside its ~1 ms compute bursts
//   PAGE_TOUCH      one page written; a pass over the buffer ends with
//                   MADV_DONTNEED so every pass faults fresh pages under the
//                   worker's memory policy
//   FORK_EXIT       one child forked, exited and reaped
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "common/result.hpp"
#include "guest/workers/shared_region.hpp"
#include "scenario.pb.h"

namespace kstep::guest::workers {

inline constexpr std::uint64_t kDefaultPageTouchBytes = 16U << 20;
inline constexpr unsigned kSpinSteps = 256;

struct WorkPlan {
  scenario::WorkType work = scenario::SPIN;  // never WORK_TYPE_UNSPECIFIED
  std::size_t page_touch_bytes = kDefaultPageTouchBytes;
  std::size_t page_size = 4096;
};

// Resolves defaults (SPIN, 16 MiB) and checks the buffer size.
[[nodiscard]] Result<WorkPlan> plan_work(const scenario::Workers& config);

// The worker's side of its slot while it works.
class Progress {
 public:
  // `agent` is the process that forked the worker: when the worker's parent
  // is no longer it, the agent is gone and the worker stops by itself.
  Progress(WorkerSlot& slot, pid_t agent) noexcept;

  // Counts `n` more finished iterations (visible to the agent at once).
  void add(std::uint64_t n) noexcept {
    iterations_ += n;
    slot_.iterations.store(iterations_, std::memory_order_relaxed);
  }
  // A checkpoint; true when the worker should stop.
  [[nodiscard]] bool checkpoint() noexcept;
  // The worker planned to wait until `deadline_ns`: the gap measured at the
  // next checkpoint starts there.
  void excuse_until(std::uint64_t deadline_ns) noexcept;
  // Stop flag or agent gone, without a checkpoint (for long waits).
  [[nodiscard]] bool should_stop() noexcept { return should_stop(monotonic_ns()); }
  [[nodiscard]] WorkerSlot& slot() noexcept { return slot_; }

 private:
  [[nodiscard]] bool should_stop(std::uint64_t now) noexcept;
  void note_cpu() noexcept;

  WorkerSlot& slot_;
  pid_t agent_;
  std::uint64_t iterations_ = 0;
  std::uint64_t last_ns_ = 0;
  std::uint64_t max_gap_ns_ = 0;
  std::uint64_t next_agent_check_ns_ = 0;
  int last_cpu_ = -1;
};

// Everything a working worker touches.
struct WorkContext {
  const WorkPlan* plan = nullptr;
  WorkerSlot* slots = nullptr;  // the whole group (FUTEX_PINGPONG uses its partner's)
  unsigned count = 0;
  unsigned index = 0;
  // PAGE_TOUCH: the private buffer, mapped during setup so a failure is
  // reported by spawn().
  char* buffer = nullptr;
};

// Runs the work loop until asked to stop. Async-signal-safe.
void run_work(const WorkContext& context, Progress& progress) noexcept;

}  // namespace kstep::guest::workers
