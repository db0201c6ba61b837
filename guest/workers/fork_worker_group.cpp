#include "guest/workers/fork_worker_group.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/cpu_list.hpp"
#include "guest/workers/proc_sched.hpp"
#include "guest/workers/wake_histogram.hpp"
#include "guest/workers/worker_process.hpp"

namespace kstep::guest::workers {
namespace {

// waitid()'s idtype for a pidfd (P_PIDFD, Linux 5.4); glibc headers may not
// name it.
constexpr int kIdTypePidfd = 3;
// How often release() checks whether a worker died instead of acknowledging.
constexpr std::uint64_t kAckSlice = 10'000'000;

static_assert(kMaxCpus <= CPU_SETSIZE, "cpu_set_t must hold every CPU a worker can report");

std::uint64_t micros(const struct timeval& tv) {
  return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000U + static_cast<std::uint64_t>(tv.tv_usec);
}

std::uint64_t ns_to_us_ceil(std::uint64_t ns) {
  return ns / 1000 + (ns % 1000 != 0 ? 1 : 0);
}

bool exited(const UniqueFd& pidfd) {
  struct pollfd entry {
    pidfd.get(), POLLIN, 0
  };
  return ::poll(&entry, 1, 0) > 0;
}

}  // namespace

ForkWorkerGroup::ForkWorkerGroup(SharedRegion region, scenario::WorkType work)
    : region_(std::move(region)), work_(work) {
  // No allocation between fork() and recording the child: a throw there
  // would leak a running process.
  workers_.reserve(region_.workers());
}

ForkWorkerGroup::~ForkWorkerGroup() {
  sigkill_remaining(false);
  reap_all();
}

Result<pid_t> ForkWorkerGroup::fork_worker(const SettingsPlan& settings, const WorkPlan& work) {
  if (workers_.size() >= region_.workers()) {
    return fail("all {} workers of the group are already forked", region_.workers());
  }
  const WorkerSetup setup{.header = &region_.header(),
                          .slots = region_.slots(),
                          .count = region_.workers(),
                          .index = static_cast<unsigned>(workers_.size()),
                          .settings = &settings,
                          .work = &work,
                          .agent = ::getpid()};
  const pid_t pid = ::fork();
  if (pid < 0) {
    return fail("fork of worker {}: {}", setup.index, std::strerror(errno));
  }
  if (pid == 0) {
    run_worker(setup);
  }
  UniqueFd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
  if (!pidfd) {
    const int error = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return fail("pidfd_open of worker {} (pid {}): {}", setup.index, pid, std::strerror(error));
  }
  Worker& worker = workers_.emplace_back();
  worker.pid = pid;
  worker.pidfd = std::move(pidfd);
  return pid;
}

Result<void> ForkWorkerGroup::release(const SettingsPlan& settings, const WorkPlan& work,
                                      std::chrono::milliseconds timeout) {
  GroupHeader& header = region_.header();
  header.gate.store(static_cast<std::uint32_t>(Gate::kPrepare), std::memory_order_release);
  futex_wake(header.gate, INT_MAX);
  KSTEP_TRY(await_acknowledgements(timeout));
  for (unsigned i = 0; i < workers_.size(); ++i) {
    const WorkerSlot& slot = region_.slot(i);
    if (slot.state.load(std::memory_order_acquire) == static_cast<std::uint32_t>(SlotState::kFailed)) {
      const SetupFailure failure{static_cast<SetupStep>(slot.failed_step.load(std::memory_order_relaxed)),
                                 slot.failed_errno.load(std::memory_order_relaxed)};
      const std::string what = failure.step == SetupStep::kWorkBuffer
                                   ? fmt::format("mmap of its {}-byte PAGE_TOUCH buffer: {}",
                                                 work.page_touch_bytes, std::strerror(failure.error))
                                   : describe_setup_failure(settings, failure);
      return fail("worker {} (pid {}) could not apply its settings: {}", i, workers_[i].pid, what);
    }
  }
  release_ns_ = monotonic_ns();
  header.gate.store(static_cast<std::uint32_t>(Gate::kRun), std::memory_order_release);
  futex_wake(header.gate, INT_MAX);
  return {};
}

Result<void> ForkWorkerGroup::await_acknowledgements(std::chrono::milliseconds timeout) {
  GroupHeader& header = region_.header();
  const std::uint64_t deadline = monotonic_ns() + static_cast<std::uint64_t>(timeout.count()) * 1'000'000U;
  for (;;) {
    const std::uint32_t acks = header.acks.load(std::memory_order_acquire);
    if (acks >= workers_.size()) {
      return {};
    }
    for (unsigned i = 0; i < workers_.size(); ++i) {
      const bool pending = region_.slot(i).state.load(std::memory_order_acquire) ==
                           static_cast<std::uint32_t>(SlotState::kForked);
      if (pending && exited(workers_[i].pidfd)) {
        return fail("worker {} (pid {}) died before it finished its setup", i, workers_[i].pid);
      }
    }
    const std::uint64_t now = monotonic_ns();
    if (now >= deadline) {
      return fail("only {} of {} workers finished their setup within {} ms", acks, workers_.size(),
                  timeout.count());
    }
    futex_wait_until(header.acks, acks, std::min(deadline, now + kAckSlice));
  }
}

std::vector<pid_t> ForkWorkerGroup::pids() const {
  std::vector<pid_t> pids;
  pids.reserve(workers_.size());
  for (const Worker& worker : workers_) {
    pids.push_back(worker.pid);
  }
  return pids;
}

std::uint64_t ForkWorkerGroup::iterations() const {
  std::uint64_t total = 0;
  for (unsigned i = 0; i < workers_.size(); ++i) {
    total += region_.slot(i).iterations.load(std::memory_order_relaxed);
  }
  return total;
}

std::uint64_t ForkWorkerGroup::iterations_of(unsigned index) const {
  return index < workers_.size() ? region_.slot(index).iterations.load(std::memory_order_relaxed) : 0;
}

Result<void> ForkWorkerGroup::set_affinity(const std::vector<unsigned>& cpus) {
  if (cpus.empty()) {
    return fail("set_affinity: no CPUs given");
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const unsigned cpu : cpus) {
    if (cpu >= kMaxCpus) {
      return fail("set_affinity: CPU {} is not below {}", cpu, kMaxCpus);
    }
    CPU_SET(cpu, &set);
  }
  for (const Worker& worker : workers_) {
    // An exited worker has nothing to pin, and its pid may be another
    // process's if a waitpid(-1) reaper collected it.
    if (worker.reaped || exited(worker.pidfd)) {
      continue;
    }
    if (::sched_setaffinity(worker.pid, sizeof set, &set) != 0 && errno != ESRCH) {
      return fail("sched_setaffinity(pid {}, CPUs \"{}\"): {}", worker.pid, format_cpu_list(cpus),
                  std::strerror(errno));
    }
  }
  return {};
}

std::vector<wire::WorkerReport> ForkWorkerGroup::stop(std::chrono::milliseconds grace) {
  if (stopped_) {
    return {};
  }
  stopped_ = true;
  // A grace of 0 asks nothing: every worker still running is killed.
  if (grace.count() > 0) {
    request_stop();
    await_exits(std::chrono::steady_clock::now() + grace);
  }
  sigkill_remaining(true);
  reap_all();
  std::vector<wire::WorkerReport> reports;
  reports.reserve(workers_.size());
  for (unsigned i = 0; i < workers_.size(); ++i) {
    reports.push_back(report(i));
  }
  return reports;
}

void ForkWorkerGroup::kill() {
  sigkill_remaining(false);
}

void ForkWorkerGroup::request_stop() noexcept {
  for (unsigned i = 0; i < workers_.size(); ++i) {
    WorkerSlot& slot = region_.slot(i);
    slot.stop.store(1, std::memory_order_release);
    // Changing the futex word makes a FUTEX_PINGPONG waiter's value check
    // fail, so the stop cannot slip in between its check and its sleep.
    slot.pair.turn.fetch_or(PairLine::kStopBit, std::memory_order_release);
    futex_wake(slot.pair.turn, INT_MAX);
  }
}

void ForkWorkerGroup::await_exits(std::chrono::steady_clock::time_point deadline) {
  std::vector<struct pollfd> entries;
  std::vector<Worker*> polled;
  for (;;) {
    entries.clear();
    polled.clear();
    for (Worker& worker : workers_) {
      if (!worker.reaped && worker.signalled_ns == 0) {
        entries.push_back(pollfd{worker.pidfd.get(), POLLIN, 0});
        polled.push_back(&worker);
      }
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (entries.empty() || left.count() <= 0) {
      return;
    }
    const int ready =
        ::poll(entries.data(), entries.size(), static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (ready < 0 && errno != EINTR) {
      return;
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if ((entries[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        reap(*polled[i], false);
      }
    }
  }
}

void ForkWorkerGroup::sigkill_remaining(bool read_migrations) noexcept {
  for (unsigned i = 0; i < workers_.size(); ++i) {
    Worker& worker = workers_[i];
    if (worker.reaped || worker.signalled_ns != 0) {
      continue;
    }
    if (read_migrations && !exited(worker.pidfd)) {
      char path[64];
      std::snprintf(path, sizeof path, "/proc/%d/sched", static_cast<int>(worker.pid));
      worker.migrations_before_kill = read_nr_migrations(path);
    }
    ::syscall(SYS_pidfd_send_signal, worker.pidfd.get(), SIGKILL, nullptr, 0U);
    worker.signalled_ns = monotonic_ns();
  }
}

bool ForkWorkerGroup::reap(Worker& worker, bool block) noexcept {
  if (worker.reaped) {
    return true;
  }
  for (;;) {
    siginfo_t info{};
    struct rusage usage {};
    const long rc = ::syscall(SYS_waitid, kIdTypePidfd, worker.pidfd.get(), &info,
                              WEXITED | (block ? 0 : WNOHANG), &usage);
    if (rc == 0) {
      if (info.si_pid == 0) {
        return false;  // WNOHANG and still running
      }
      worker.exit_code = info.si_code;
      worker.usage = usage;
      break;
    }
    if (errno == EINTR) {
      continue;
    }
    // ECHILD: another waiter (a waitpid(-1) reaper) collected it first; its
    // counters are still in the slot.
    break;
  }
  worker.reaped = true;
  worker.reaped_ns = monotonic_ns();
  worker.pidfd.reset();
  return true;
}

void ForkWorkerGroup::reap_all() noexcept {
  for (Worker& worker : workers_) {
    reap(worker, true);
  }
}

wire::WorkerReport ForkWorkerGroup::report(unsigned index) const {
  const Worker& worker = workers_[index];
  const WorkerSlot& slot = region_.slot(index);
  const std::uint64_t exit_ns = slot.exit_ns.load(std::memory_order_acquire);
  const bool exited_by_itself = exit_ns != 0;

  wire::WorkerReport report;
  report.set_pid(worker.pid);
  report.set_work(work_);
  report.set_iterations(slot.iterations.load(std::memory_order_relaxed));
  if (worker.usage) {
    report.set_cpu_time_us(micros(worker.usage->ru_utime) + micros(worker.usage->ru_stime));
    report.set_voluntary_switches(static_cast<std::uint64_t>(worker.usage->ru_nvcsw));
    report.set_involuntary_switches(static_cast<std::uint64_t>(worker.usage->ru_nivcsw));
  } else {
    report.set_cpu_time_us(slot.self_cpu_us.load(std::memory_order_relaxed));
    report.set_voluntary_switches(slot.self_voluntary.load(std::memory_order_relaxed));
    report.set_involuntary_switches(slot.self_involuntary.load(std::memory_order_relaxed));
  }
  // A killed worker ended when the agent killed it.
  const std::uint64_t end_ns =
      exited_by_itself ? exit_ns : (worker.signalled_ns != 0 ? worker.signalled_ns : worker.reaped_ns);
  report.set_wall_time_us(end_ns > release_ns_ ? (end_ns - release_ns_) / 1000 : 0);
  report.set_migrations(exited_by_itself ? slot.migrations.load(std::memory_order_relaxed)
                                         : worker.migrations_before_kill);
  for (unsigned word = 0; word < kCpuWords; ++word) {
    const std::uint64_t bits = slot.cpus_seen[word].load(std::memory_order_relaxed);
    for (unsigned bit = 0; bit < 64; ++bit) {
      if ((bits >> bit & 1U) != 0) {
        report.add_cpus_used(word * 64 + bit);
      }
    }
  }
  // A worker that never came back (starved, frozen, stopped) has its longest
  // gap at the end: from its last checkpoint to its death.
  std::uint64_t max_gap_ns = slot.max_gap_ns.load(std::memory_order_relaxed);
  if (!exited_by_itself) {
    const std::uint64_t last = std::max(slot.last_checkpoint_ns.load(std::memory_order_relaxed), release_ns_);
    if (end_ns > last) {
      max_gap_ns = std::max(max_gap_ns, end_ns - last);
    }
  }
  report.set_max_gap_us(ns_to_us_ceil(max_gap_ns));
  if (slot.wake_count.load(std::memory_order_relaxed) > 0) {
    const WakeSummary wakes =
        summarize_wakes(snapshot_wakes(slot), slot.wake_max_ns.load(std::memory_order_relaxed));
    // Rounded up: a wake that was measured never reads as 0 us.
    report.set_wake_p50_us(ns_to_us_ceil(wakes.p50_ns));
    report.set_wake_p99_us(ns_to_us_ceil(wakes.p99_ns));
    report.set_wake_max_us(ns_to_us_ceil(wakes.max_ns));
  }
  report.set_killed(worker.exit_code ? *worker.exit_code != CLD_EXITED : !exited_by_itself);
  return report;
}

}  // namespace kstep::guest::workers
