// The memory one worker group shares with the agent.
//
// One anonymous MAP_SHARED mapping per group, created before the first fork
// so the agent and every worker see the same pages. Everything in it is a
// lock-free std::atomic: atomics are only meaningful across processes when
// they do not fall back to a lock, and the static_asserts below hold that.
//
// Each worker owns one slot and is its slot's only writer (the agent writes
// just the stop flag and the pair's stop bit). The iteration counter, which a
// SPIN worker bumps every few hundred nanoseconds, sits alone on its cache
// line, and slots are cache-line aligned, so workers on different CPUs never
// write the same line.
//
// The futex words are used with the shared (non-PRIVATE) futex operations:
// the waiters are different processes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/result.hpp"

namespace kstep::guest::workers {

inline constexpr std::size_t kCacheLine = 64;
// CPUs a worker can report in cpus_used (sched_getcpu() < kMaxCpus).
inline constexpr unsigned kMaxCpus = 1024;
inline constexpr std::size_t kCpuWords = kMaxCpus / 64;
// Log2 buckets of wake latency in nanoseconds (see wake_histogram.hpp).
inline constexpr std::size_t kWakeBuckets = 64;
// A group larger than this is a scenario bug, not a workload.
inline constexpr unsigned kMaxWorkersPerGroup = 4096;

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t), "futex words must be plain u32");

// The start gate's states, in the order the agent opens them.
enum class Gate : std::uint32_t {
  kClosed = 0,   // forked, waiting to be placed in the cgroup
  kPrepare = 1,  // every worker is placed: apply settings, then acknowledge
  kRun = 2,      // every worker acknowledged success: start working
};

// A worker's progress through setup, published once it leaves kForked.
enum class SlotState : std::uint32_t { kForked = 0, kReady = 1, kFailed = 2 };

// What a worker was doing when its setup failed (stored with the errno).
enum class SetupStep : std::uint32_t {
  kNone = 0,
  kScheduler = 1,   // sched_setscheduler
  kNice = 2,        // setpriority
  kMemPolicy = 3,   // set_mempolicy
  kWorkBuffer = 4,  // mmap of the PAGE_TOUCH buffer
};

struct alignas(kCacheLine) GroupHeader {
  std::atomic<std::uint32_t> gate{0};  // futex word, a Gate value
  std::atomic<std::uint32_t> acks{0};  // futex word: workers that left kForked
};

// The futex a FUTEX_PINGPONG pair hands its turn over with. It lives in the
// slot of the pair's even worker; a worker without a partner uses its own.
struct alignas(kCacheLine) PairLine {
  // Bit 0: whose turn (0 = even worker, 1 = odd worker). kStopBit is set by
  // the agent so a waiter's FUTEX_WAIT value check fails and nobody sleeps
  // through a stop request.
  std::atomic<std::uint32_t> turn{0};
  // CLOCK_MONOTONIC ns at which the last turn was handed over.
  std::atomic<std::uint64_t> handed_over_ns{0};
  static constexpr std::uint32_t kStopBit = 1U << 31;
};

struct alignas(kCacheLine) WorkerSlot {
  // Hot: written by the worker on every iteration.
  alignas(kCacheLine) std::atomic<std::uint64_t> iterations{0};

  // Written by the worker at checkpoints, setup and exit. Times are
  // CLOCK_MONOTONIC nanoseconds.
  alignas(kCacheLine) std::atomic<std::uint64_t> last_checkpoint_ns{0};
  std::atomic<std::uint64_t> max_gap_ns{0};
  std::atomic<std::uint64_t> exit_ns{0};  // 0 until the worker exits by itself
  std::atomic<std::uint64_t> migrations{0};
  // getrusage(RUSAGE_SELF) at a graceful exit: the fallback when wait4's
  // rusage is lost (another waiter reaped the worker).
  std::atomic<std::uint64_t> self_cpu_us{0};
  std::atomic<std::uint64_t> self_voluntary{0};
  std::atomic<std::uint64_t> self_involuntary{0};
  std::atomic<std::uint32_t> state{0};        // SlotState
  std::atomic<std::uint32_t> failed_step{0};  // SetupStep
  std::atomic<std::int32_t> failed_errno{0};
  std::atomic<std::uint64_t> cpus_seen[kCpuWords]{};

  // FUTEX_PINGPONG wake latencies (ns), written by the worker.
  std::atomic<std::uint64_t> wake_count{0};
  std::atomic<std::uint64_t> wake_max_ns{0};
  std::atomic<std::uint64_t> wake_buckets[kWakeBuckets]{};

  // Written by the agent only.
  alignas(kCacheLine) std::atomic<std::uint32_t> stop{0};

  PairLine pair;
};

// The mapping: a GroupHeader followed by one WorkerSlot per worker.
class SharedRegion {
 public:
  [[nodiscard]] static Result<SharedRegion> create(unsigned workers);

  SharedRegion(SharedRegion&& other) noexcept;
  SharedRegion& operator=(SharedRegion&& other) noexcept;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion();

  [[nodiscard]] unsigned workers() const noexcept { return workers_; }
  [[nodiscard]] GroupHeader& header() const noexcept { return *static_cast<GroupHeader*>(base_); }
  [[nodiscard]] WorkerSlot* slots() const noexcept {
    return reinterpret_cast<WorkerSlot*>(static_cast<char*>(base_) + sizeof(GroupHeader));
  }
  [[nodiscard]] WorkerSlot& slot(unsigned index) const noexcept { return slots()[index]; }

 private:
  SharedRegion(void* base, std::size_t bytes, unsigned workers) noexcept
      : base_(base), bytes_(bytes), workers_(workers) {}
  void unmap() noexcept;

  void* base_ = nullptr;
  std::size_t bytes_ = 0;
  unsigned workers_ = 0;
};

// CLOCK_MONOTONIC in nanoseconds (vDSO: cheap enough for checkpoints).
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;

// FUTEX_WAIT on a shared futex word while it holds `expected`, until the
// absolute CLOCK_MONOTONIC `deadline_ns`. Returns 0 when woken, otherwise the
// errno (EAGAIN: the word no longer held `expected`; ETIMEDOUT; EINTR).
int futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     std::uint64_t deadline_ns) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word, int waiters) noexcept;

}  // namespace kstep::guest::workers
