// RunContext and Phase: what the parts of one scenario run share.
//
// RunContext lives for the run (the environment, the scenario, its state,
// its clock origin and deadline). Phase says on whose behalf ops and setup
// run right now: the backdrop's (step 0) or step k's, and where failures
// that do not stop the phase (a payload that exited non-zero) go.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "guest/executor/executor_env.hpp"
#include "guest/executor/frame_emitter.hpp"
#include "guest/executor/hold.hpp"
#include "guest/executor/scenario_state.hpp"
#include "guest/executor/scheduler_slot.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep::guest {

// How long a freeze or thaw may take to show in cgroup.events.
inline constexpr std::chrono::milliseconds kFreezeTimeout{5000};

struct RunContext {
  const ExecutorEnv& env;
  const scenario::Scenario& scenario;
  ScenarioState& state;
  FrameEmitter& frames;
  SchedulerSlot& scheduler;
  std::set<std::string> controllers;    // enabled in the root's and every parent's cgroup.subtree_control
  ExecutorClock::TimePoint start{};     // when ScenarioStart went out
  ExecutorClock::TimePoint deadline{};  // start + duration_s

  [[nodiscard]] std::uint64_t elapsed_ms() const { return whole_ms(env.clock.now() - start); }
  [[nodiscard]] std::chrono::nanoseconds time_left() const { return deadline - env.clock.now(); }
};

struct Phase {
  Owner owner;
  std::uint32_t step;                  // 0: the backdrop
  std::vector<wire::Detail>& details;  // failures that do not stop the phase
};

// `result`, its error prefixed with `what`.
template <class T>
[[nodiscard]] Result<T> in_context(Result<T> result, std::string_view what) {
  if (result) {
    return result;
  }
  return Unexpected{std::move(result).error().context(what)};
}

}  // namespace kstep::guest
