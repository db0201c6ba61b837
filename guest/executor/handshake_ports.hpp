// The host-handshake seam of the step executor.
//
// The host adopts the BPF map catalog of an attached scheduler (then says
// AccessorReady) and applies the user's map writes (then says
// BpfWriteDone). The executor tells the seam when a scheduler attached, so
// that its maps get published, and waits on the two latches at its gates
// (the await_accessor_ready and wait_for_map_write ops, and before the
// workload when the host queued writes). The latches are sticky: once set
// they stay set. The real implementation reads the host's frames on a
// thread of the scenario process (guest/host_handshake.hpp); unit tests pass
// a fake.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "guest/executor/executor_ports.hpp"

namespace kstep::guest {

struct MapWriteOutcome {
  bool ok = false;
  std::string error;  // the host's reason, when !ok
};

class HostHandshake {
 public:
  virtual ~HostHandshake() = default;
  // A scheduler attached (its ATTACHED event is out): publish its maps.
  virtual void scheduler_attached(const std::string& name, pid_t pid) = 0;
  // Each waits until its latch is set or `deadline` passes (a deadline in
  // the past checks without waiting): true / the outcome once set.
  [[nodiscard]] virtual bool wait_accessor_ready(ExecutorClock::TimePoint deadline) = 0;
  [[nodiscard]] virtual std::optional<MapWriteOutcome> wait_map_write(ExecutorClock::TimePoint deadline) = 0;
};

}  // namespace kstep::guest
