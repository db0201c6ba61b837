#include "guest/executor/gates.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kstep::guest {
namespace {

const char* gate_name(GateKind gate) {
  return gate == GateKind::kAccessorReady ? "await_accessor_ready" : "wait_for_map_write";
}

const char* latch_name(GateKind gate) {
  return gate == GateKind::kAccessorReady ? "AccessorReady" : "BpfWriteDone";
}

// Whether the latch is set by `deadline`; logs a failed write.
bool latch_set(RunContext& run, GateKind gate, ExecutorClock::TimePoint deadline) {
  HostHandshake& handshake = *run.env.handshake;
  if (gate == GateKind::kAccessorReady) {
    return handshake.wait_accessor_ready(deadline);
  }
  auto outcome = handshake.wait_map_write(deadline);
  if (outcome && !outcome->ok) {
    run.frames.log(
        wire::Log::WARN,
        fmt::format("wait_for_map_write: the host's BPF map writes failed ({}); proceeding", outcome->error));
  }
  return outcome.has_value();
}

}  // namespace

Result<void> await_gate(RunContext& run, std::uint32_t step, GateKind gate,
                        std::chrono::milliseconds budget) {
  if (run.env.handshake == nullptr) {
    run.frames.log(wire::Log::WARN,
                   fmt::format("{}: this agent has no host handshake; proceeding", gate_name(gate)));
    return {};
  }
  auto& clock = run.env.clock;
  const auto start = clock.now();
  const auto deadline = start + budget;
  for (;;) {
    if (latch_set(run, gate, std::min(deadline, clock.now() + kGateSlice))) {
      run.frames.log(wire::Log::INFO, fmt::format("{}: {} after {} ms", gate_name(gate), latch_name(gate),
                                                  whole_ms(clock.now() - start)));
      return {};
    }
    if (run.scheduler.attached() && run.scheduler.died_before(ExecutorClock::TimePoint::min(), step)) {
      return fail("the scheduler died while the scenario waited at {}", gate_name(gate));
    }
    if (clock.now() >= deadline) {
      run.frames.log(wire::Log::WARN, fmt::format("{}: no {} from the host within {} ms; proceeding",
                                                  gate_name(gate), latch_name(gate), budget.count()));
      return {};
    }
  }
}

}  // namespace kstep::guest
