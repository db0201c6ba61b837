// PowerControl: what the agent does to the machine when its work is over.
//
// The agent decides *when* to stop; this interface decides *what* stopping
// means, so the agent loop runs in unit tests with a recording fake and, in
// a developer's shell (not PID 1), with an implementation that touches
// nothing outside the process.
#pragma once

#include <chrono>

namespace kstep::guest {

// Grace between SIGTERM and SIGKILL when stopping everything at shutdown.
inline constexpr std::chrono::milliseconds kStopGrace{500};

class PowerControl {
 public:
  virtual ~PowerControl() = default;
  // Ends every process but the agent: SIGTERM, then SIGKILL after `grace`.
  virtual void stop_processes(std::chrono::milliseconds grace) noexcept = 0;
  // Flushes filesystems and powers the machine off. The real one returns
  // only if reboot(2) failed.
  virtual void power_off() noexcept = 0;
};

// The real machine, for PID 1: kill(-1, ...) reaches every process (the
// kernel spares init itself), then sync() and reboot(RB_POWER_OFF), which
// QEMU (with -no-reboot) turns into its own exit.
class MachinePower final : public PowerControl {
 public:
  void stop_processes(std::chrono::milliseconds grace) noexcept override;
  void power_off() noexcept override;
};

// For an agent that is not PID 1: kill(-1) would hit the user's whole
// session and reboot would fail or worse, so both are no-ops and the caller
// simply exits.
class ProcessPower final : public PowerControl {
 public:
  void stop_processes(std::chrono::milliseconds /*grace*/) noexcept override {}
  void power_off() noexcept override {}
};

}  // namespace kstep::guest
