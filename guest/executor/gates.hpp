// Handshake gates: where the scenario waits for the host.
//
// await_accessor_ready waits until the host adopted the scheduler's BPF map
// catalog (a scenario uses it before it triggers a stall, so that the
// failure dump can render the maps); wait_for_map_write waits until the
// host's map writes landed. A gate that times out logs a warning and the
// scenario proceeds: the gate protects a measurement, it is not one. A
// scheduler that dies while the scenario waits ends the wait at once.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/result.hpp"
#include "guest/executor/run_context.hpp"

namespace kstep::guest {

enum class GateKind {
  kAccessorReady,
  kMapWrite,
};

// How often a waiting gate checks that the scheduler still lives.
inline constexpr std::chrono::milliseconds kGateSlice{50};

// An error only when the scheduler died while the gate waited.
[[nodiscard]] Result<void> await_gate(RunContext& run, std::uint32_t step, GateKind gate,
                                      std::chrono::milliseconds budget);

}  // namespace kstep::guest
