#include "guest/workers/worker_process.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "guest/workers/proc_sched.hpp"

namespace kstep::guest::workers {
namespace {

constexpr std::uint64_t kGateSlice = 100'000'000;  // ns between checks that the agent lives

void reset_signals() noexcept {
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  // glibc's internal real-time signals refuse (EINVAL); that is fine.
  for (int signal = 1; signal < NSIG; ++signal) {
    if (signal != SIGKILL && signal != SIGSTOP) {
      ::sigaction(signal, &fallback, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void close_inherited_fds() noexcept {
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) == 0) {
    return;
  }
  // Kernels before 5.9: the agent's descriptors are few and low.
  for (int fd = 3; fd < 4096; ++fd) {
    ::close(fd);
  }
}

// False when the agent went away while the worker waited.
bool wait_for_gate(GroupHeader& header, Gate target, pid_t agent) noexcept {
  for (;;) {
    const std::uint32_t gate = header.gate.load(std::memory_order_acquire);
    if (gate >= static_cast<std::uint32_t>(target)) {
      return true;
    }
    if (::getppid() != agent) {
      return false;
    }
    futex_wait_until(header.gate, gate, monotonic_ns() + kGateSlice);
  }
}

void acknowledge(GroupHeader& header, WorkerSlot& slot, SlotState state) noexcept {
  slot.state.store(static_cast<std::uint32_t>(state), std::memory_order_release);
  header.acks.fetch_add(1, std::memory_order_release);
  futex_wake(header.acks, 1);
}

// Settings first: the buffer's pages then follow the memory policy.
SetupFailure prepare(const WorkerSetup& setup, char*& buffer) noexcept {
  if (const SetupFailure failure = apply_settings(*setup.settings); failure.failed()) {
    return failure;
  }
  if (setup.work->work == scenario::PAGE_TOUCH) {
    void* mapping = ::mmap(nullptr, setup.work->page_touch_bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) {
      return SetupFailure{SetupStep::kWorkBuffer, errno};
    }
    buffer = static_cast<char*>(mapping);
  }
  return {};
}

void record_exit(WorkerSlot& slot) noexcept {
  slot.migrations.store(read_nr_migrations("/proc/self/sched"), std::memory_order_relaxed);
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    const auto micros = [](const struct timeval& tv) {
      return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000U + static_cast<std::uint64_t>(tv.tv_usec);
    };
    slot.self_cpu_us.store(micros(usage.ru_utime) + micros(usage.ru_stime), std::memory_order_relaxed);
    slot.self_voluntary.store(static_cast<std::uint64_t>(usage.ru_nvcsw), std::memory_order_relaxed);
    slot.self_involuntary.store(static_cast<std::uint64_t>(usage.ru_nivcsw), std::memory_order_relaxed);
  }
  slot.exit_ns.store(monotonic_ns(), std::memory_order_release);
}

}  // namespace

void run_worker(const WorkerSetup& setup) noexcept {
  reset_signals();
  close_inherited_fds();
  GroupHeader& header = *setup.header;
  WorkerSlot& slot = setup.slots[setup.index];

  if (!wait_for_gate(header, Gate::kPrepare, setup.agent)) {
    ::_exit(kExitOrphaned);
  }
  char* buffer = nullptr;
  if (const SetupFailure failure = prepare(setup, buffer); failure.failed()) {
    slot.failed_step.store(static_cast<std::uint32_t>(failure.step), std::memory_order_relaxed);
    slot.failed_errno.store(failure.error, std::memory_order_relaxed);
    acknowledge(header, slot, SlotState::kFailed);
    ::_exit(kExitSetupFailed);
  }
  acknowledge(header, slot, SlotState::kReady);
  if (!wait_for_gate(header, Gate::kRun, setup.agent)) {
    ::_exit(kExitOrphaned);
  }

  Progress progress{slot, setup.agent};
  const WorkContext context{setup.work, setup.slots, setup.count, setup.index, buffer};
  run_work(context, progress);
  record_exit(slot);
  ::_exit(kExitStopped);
}

}  // namespace kstep::guest::workers
