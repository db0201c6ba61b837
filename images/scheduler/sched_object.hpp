// SchedObject: the kstep scheduler's BPF object, from open to attached.
//
// Owns the libbpf skeleton (and the patched ELF it was opened from) and the
// struct_ops link. The scheduler is attached in link mode: the kernel detaches
// it when the link fd closes, so a SIGKILLed loader never leaves it behind.
// Destruction closes the link first, then the maps and programs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "images/scheduler/sched_options.hpp"

struct kstep_sched_bpf;  // the bpftool skeleton, kept out of this header

namespace kstep::sched {

// What ops.exit recorded (struct kstep_exit_info).
struct ExitRecord {
  int kind = 0;  // enum scx_exit_kind: < kExitKindError is a clean exit
  std::int64_t exit_code = 0;
  std::string reason;
  std::string msg;
  // The kernel's debug dump (CPU and task states): error and stall exits
  // only, empty otherwise.
  std::string dump;
};

// SCX_EXIT_ERROR: exit kinds from here on are errors.
inline constexpr int kExitKindError = 1024;

// The .bss counters, for a closing summary.
struct Counters {
  std::uint64_t enqueued = 0;
  std::uint64_t dispatched = 0;
  std::uint64_t local = 0;
  std::uint64_t shared = 0;
  std::uint64_t stalled = 0;
  std::uint64_t ticks = 0;
  std::uint64_t fault_at_ns = 0;  // CLOCK_MONOTONIC of an injected error or exit, 0 if none
};

class SchedObject {
 public:
  // Opens the embedded object and applies `options` (.rodata, .bss, the
  // watchdog, link mode). Nothing reaches the kernel yet.
  [[nodiscard]] static Result<SchedObject> open(const SchedOptions& options);

  SchedObject(SchedObject&&) noexcept;
  SchedObject& operator=(SchedObject&&) noexcept;
  ~SchedObject();

  // Verifies and loads the programs and maps. On a verifier rejection libbpf
  // has already printed the verifier log (through the libbpf print callback).
  [[nodiscard]] Result<void> load();
  // Registers the scheduler with the kernel. Precondition: load() succeeded.
  [[nodiscard]] Result<void> attach();
  // Closes the link: the kernel disables the scheduler before close returns.
  void detach() noexcept;

  // The exit record once ops.exit has run; nullopt while the scheduler runs.
  [[nodiscard]] std::optional<ExitRecord> exit_record() const;
  [[nodiscard]] Counters counters() const;

 private:
  struct SkeletonDeleter {
    void operator()(kstep_sched_bpf* skel) const noexcept;
  };

  SchedObject() = default;

  // Declared before skel_: libbpf may read the ELF until the skeleton is gone.
  std::vector<unsigned char> elf_;
  std::unique_ptr<kstep_sched_bpf, SkeletonDeleter> skel_;
  UniqueFd link_;
};

}  // namespace kstep::sched
