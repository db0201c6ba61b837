#include "guest/workers/work_loops.hpp"

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "guest/workers/wake_histogram.hpp"

namespace kstep::guest::workers {
namespace {

constexpr std::uint64_t kMicrosecond = 1'000;
constexpr std::uint64_t kMillisecond = 1'000'000;

// Iterations between checkpoints. A checkpoint costs two vDSO calls (clock,
// CPU) and a relaxed load: SPIN amortizes them over ~16 steps of work, the
// syscall-bound types check every iteration or nearly.
constexpr unsigned kSpinBatch = 16;
constexpr unsigned kYieldBatch = 8;
constexpr std::size_t kPageBatch = 64;

// How often a worker checks that the agent still exists (getppid()).
constexpr std::uint64_t kAgentCheckInterval = 100 * kMillisecond;
// Waits that nobody may end early (a partner's wake, a stop bit) still time
// out this often so an orphaned worker notices.
constexpr std::uint64_t kWaitSlice = 100 * kMillisecond;
constexpr std::uint64_t kMixedBurst = 1 * kMillisecond;
constexpr std::uint64_t kMixedSleep = 1 * kMillisecond;
constexpr std::uint64_t kSoloWait = 50 * kMicrosecond;
constexpr std::uint64_t kForkRetryDelay = 1 * kMillisecond;

// A dependent chain the compiler cannot fold away.
std::uint64_t spin_step(std::uint64_t x) noexcept {
  for (unsigned i = 0; i < kSpinSteps; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

void sleep_until(std::uint64_t deadline_ns) noexcept {
  const struct timespec deadline {
    static_cast<time_t>(deadline_ns / 1'000'000'000U), static_cast<long>(deadline_ns % 1'000'000'000U)
  };
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

void spin(Progress& progress) noexcept {
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  volatile std::uint64_t sink = 0;
  do {
    for (unsigned i = 0; i < kSpinBatch; ++i) {
      x = spin_step(x);
      progress.add(1);
    }
    sink = x;
  } while (!progress.checkpoint());
  (void)sink;
}

void yield(Progress& progress) noexcept {
  do {
    for (unsigned i = 0; i < kYieldBatch; ++i) {
      ::sched_yield();
      progress.add(1);
    }
  } while (!progress.checkpoint());
}

void mixed(Progress& progress) noexcept {
  std::uint64_t x = 0x2545f4914f6cdd1dULL;
  volatile std::uint64_t sink = 0;
  for (;;) {
    const std::uint64_t burst_end = monotonic_ns() + kMixedBurst;
    do {
      for (unsigned i = 0; i < kSpinBatch; ++i) {
        x = spin_step(x);
        progress.add(1);
      }
      sink = x;
      if (progress.checkpoint()) {
        return;
      }
    } while (monotonic_ns() < burst_end);
    const std::uint64_t wake = monotonic_ns() + kMixedSleep;
    sleep_until(wake);
    progress.excuse_until(wake);
    if (progress.checkpoint()) {
      return;
    }
  }
  (void)sink;
}

void page_touch(const WorkContext& context, Progress& progress) noexcept {
  const std::size_t page_size = context.plan->page_size;
  const std::size_t pages = context.plan->page_touch_bytes / page_size;
  volatile char* buffer = context.buffer;
  for (char pass = 1;; ++pass) {
    for (std::size_t page = 0; page < pages;) {
      const std::size_t end = std::min(page + kPageBatch, pages);
      const std::size_t batch = end - page;
      for (; page < end; ++page) {
        buffer[page * page_size] = pass;
      }
      progress.add(batch);
      if (progress.checkpoint()) {
        return;
      }
    }
    // Drop the pages so the next pass allocates (and faults) them again.
    ::madvise(context.buffer, context.plan->page_touch_bytes, MADV_DONTNEED);
  }
}

void fork_exit(Progress& progress) noexcept {
  for (;;) {
    const pid_t child = ::fork();
    if (child == 0) {
      ::_exit(0);
    }
    if (child < 0) {
      // EAGAIN under pids.max is part of the scenario, not a reason to
      // die: back off and keep answering stop requests.
      const std::uint64_t retry = monotonic_ns() + kForkRetryDelay;
      sleep_until(retry);
      progress.excuse_until(retry);
    } else {
      while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
      }
      progress.add(1);
    }
    if (progress.checkpoint()) {
      return;
    }
  }
}

// A worker without a partner waits on its own futex with a short timeout;
// the wake latency is how late past that deadline it runs again.
void solo_pingpong(PairLine& pair, Progress& progress) noexcept {
  for (;;) {
    const std::uint32_t word = pair.turn.load(std::memory_order_acquire);
    if ((word & PairLine::kStopBit) != 0) {
      return;
    }
    const std::uint64_t deadline = monotonic_ns() + kSoloWait;
    const int result = futex_wait_until(pair.turn, word, deadline);
    const std::uint64_t now = monotonic_ns();
    if (result == ETIMEDOUT) {
      record_wake(progress.slot(), now > deadline ? now - deadline : 0);
    }
    progress.excuse_until(deadline);
    progress.add(1);
    if (progress.checkpoint()) {
      return;
    }
  }
}

// Workers 2k and 2k+1 take turns: the one whose turn it is counts an
// iteration, stamps the time, hands the turn over and wakes the other. The
// wake latency is the time from that stamp to the partner running its turn,
// whether the partner slept in FUTEX_WAIT or was only off the CPU (on one
// CPU the wakee often preempts the waker and finds its turn without ever
// sleeping again: that delay is scheduling latency too).
void pingpong(const WorkContext& context, Progress& progress) noexcept {
  PairLine& pair = context.slots[context.index & ~1U].pair;
  if (context.index % 2 == 0 && context.index + 1 == context.count) {
    solo_pingpong(pair, progress);
    return;
  }
  const std::uint32_t mine = context.index & 1U;
  for (;;) {
    std::uint32_t word = pair.turn.load(std::memory_order_acquire);
    while ((word & PairLine::kStopBit) == 0 && (word & 1U) != mine) {
      if (futex_wait_until(pair.turn, word, monotonic_ns() + kWaitSlice) == ETIMEDOUT &&
          progress.should_stop()) {
        return;
      }
      word = pair.turn.load(std::memory_order_acquire);
    }
    if ((word & PairLine::kStopBit) != 0) {
      return;
    }
    // 0 only before the very first handover: the even worker's first turn.
    const std::uint64_t handed_over = pair.handed_over_ns.load(std::memory_order_relaxed);
    if (handed_over != 0) {
      const std::uint64_t now = monotonic_ns();
      record_wake(progress.slot(), now > handed_over ? now - handed_over : 0);
    }
    progress.add(1);
    if (progress.checkpoint()) {
      return;
    }
    pair.handed_over_ns.store(monotonic_ns(), std::memory_order_relaxed);
    pair.turn.fetch_xor(1U, std::memory_order_release);
    futex_wake(pair.turn, 1);
  }
}

}  // namespace

Result<WorkPlan> plan_work(const scenario::Workers& config) {
  WorkPlan plan;
  switch (config.work()) {
    case scenario::WORK_TYPE_UNSPECIFIED:
    case scenario::SPIN: plan.work = scenario::SPIN; break;
    case scenario::YIELD:
    case scenario::FUTEX_PINGPONG:
    case scenario::MIXED:
    case scenario::PAGE_TOUCH:
    case scenario::FORK_EXIT: plan.work = config.work(); break;
    default: return fail("workers: unknown work type {}", static_cast<int>(config.work()));
  }
  const long page_size = ::sysconf(_SC_PAGESIZE);
  plan.page_size = page_size > 0 ? static_cast<std::size_t>(page_size) : 4096;
  if (plan.work == scenario::PAGE_TOUCH) {
    const std::uint64_t bytes =
        config.page_touch_bytes() == 0 ? kDefaultPageTouchBytes : config.page_touch_bytes();
    if (bytes > SIZE_MAX - plan.page_size) {
      return fail("workers: page_touch_bytes {} too large", bytes);
    }
    // Whole pages, at least one.
    plan.page_touch_bytes =
        (static_cast<std::size_t>(bytes) + plan.page_size - 1) / plan.page_size * plan.page_size;
  }
  return plan;
}

Progress::Progress(WorkerSlot& slot, pid_t agent) noexcept : slot_(slot), agent_(agent) {
  last_ns_ = monotonic_ns();
  next_agent_check_ns_ = last_ns_ + kAgentCheckInterval;
  slot_.last_checkpoint_ns.store(last_ns_, std::memory_order_relaxed);
  note_cpu();
}

bool Progress::checkpoint() noexcept {
  const std::uint64_t now = monotonic_ns();
  if (now > last_ns_ && now - last_ns_ > max_gap_ns_) {
    max_gap_ns_ = now - last_ns_;
    slot_.max_gap_ns.store(max_gap_ns_, std::memory_order_relaxed);
  }
  last_ns_ = now;
  slot_.last_checkpoint_ns.store(now, std::memory_order_relaxed);
  note_cpu();
  return should_stop(now);
}

void Progress::excuse_until(std::uint64_t deadline_ns) noexcept {
  if (deadline_ns > last_ns_) {
    last_ns_ = deadline_ns;
    slot_.last_checkpoint_ns.store(deadline_ns, std::memory_order_relaxed);
  }
}

bool Progress::should_stop(std::uint64_t now) noexcept {
  if (slot_.stop.load(std::memory_order_relaxed) != 0) {
    return true;
  }
  if (now >= next_agent_check_ns_) {
    next_agent_check_ns_ = now + kAgentCheckInterval;
    return ::getppid() != agent_;
  }
  return false;
}

void Progress::note_cpu() noexcept {
  const int cpu = ::sched_getcpu();
  if (cpu == last_cpu_ || cpu < 0 || static_cast<unsigned>(cpu) >= kMaxCpus) {
    return;
  }
  last_cpu_ = cpu;
  auto& word = slot_.cpus_seen[static_cast<unsigned>(cpu) / 64];
  const std::uint64_t bit = std::uint64_t{1} << (static_cast<unsigned>(cpu) % 64);
  const std::uint64_t seen = word.load(std::memory_order_relaxed);
  if ((seen & bit) == 0) {
    word.store(seen | bit, std::memory_order_relaxed);
  }
}

void run_work(const WorkContext& context, Progress& progress) noexcept {
  switch (context.plan->work) {
    case scenario::YIELD: yield(progress); return;
    case scenario::FUTEX_PINGPONG: pingpong(context, progress); return;
    case scenario::MIXED: mixed(progress); return;
    case scenario::PAGE_TOUCH: page_touch(context, progress); return;
    case scenario::FORK_EXIT: fork_exit(progress); return;
    default: spin(progress); return;
  }
}

}  // namespace kstep::guest::workers
