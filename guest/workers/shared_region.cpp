#include "guest/workers/shared_region.hpp"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace kstep::guest::workers {

Result<SharedRegion> SharedRegion::create(unsigned workers) {
  if (workers == 0 || workers > kMaxWorkersPerGroup) {
    return fail("worker count {} outside 1..{}", workers, kMaxWorkersPerGroup);
  }
  const std::size_t bytes = sizeof(GroupHeader) + std::size_t{workers} * sizeof(WorkerSlot);
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    return fail("mmap of {} bytes of worker shared memory: {}", bytes, std::strerror(errno));
  }
  // The pages are already zero; constructing the objects starts their
  // lifetimes so the atomics are used as atomics, not as reinterpreted bytes.
  new (base) GroupHeader{};
  auto* slots = reinterpret_cast<WorkerSlot*>(static_cast<char*>(base) + sizeof(GroupHeader));
  for (unsigned i = 0; i < workers; ++i) {
    new (&slots[i]) WorkerSlot{};
  }
  return SharedRegion{base, bytes, workers};
}

SharedRegion::SharedRegion(SharedRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      workers_(std::exchange(other.workers_, 0)) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& other) noexcept {
  if (this != &other) {
    unmap();
    base_ = std::exchange(other.base_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    workers_ = std::exchange(other.workers_, 0);
  }
  return *this;
}

SharedRegion::~SharedRegion() {
  unmap();
}

void SharedRegion::unmap() noexcept {
  if (base_ != nullptr) {
    ::munmap(base_, bytes_);
    base_ = nullptr;
  }
}

std::uint64_t monotonic_ns() noexcept {
  struct timespec now {};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U + static_cast<std::uint64_t>(now.tv_nsec);
}

int futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     std::uint64_t deadline_ns) noexcept {
  const struct timespec deadline {
    static_cast<time_t>(deadline_ns / 1'000'000'000U), static_cast<long>(deadline_ns % 1'000'000'000U)
  };
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
  // retried wait does not stretch its timeout.
  const long rc = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET, expected,
                            &deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
  return rc == 0 ? 0 : errno;
}

void futex_wake(std::atomic<std::uint32_t>& word, int waiters) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, waiters, nullptr, nullptr, 0);
}

}  // namespace kstep::guest::workers
