// StepExecutor: runs one kstep.scenario.Scenario in the guest and reports
// it as frames.
//
// A run, frame by frame (every frame goes through ExecutorEnv::sink):
//   ScenarioStart
//   (backdrop set up: its cgroups, then its ops)
//   StepStart step 0               the baseline: the backdrop's state
//   per step k = 1..n:
//     (normal step: ops, then setup; loop step: setup)
//     StepStart k                  the stimulus
//     ScenarioResume k             hold_ms clamped to the time left
//     (hold; a loop step applies its ops every interval until the deadline)
//     ScenarioPause k
//     StepEnd k                    elapsed and iterations sampled together
//     (teardown: step cgroups unfrozen, payloads killed, workers stopped,
//      cgroups removed; checks)
//     StepReport k
//   (backdrop torn down the same way; checks)
//   ScenarioEnd                    the last completed step's (elapsed,
//                                  iterations), passed, every detail, the
//                                  backdrop's report
// plus Log frames for what deserves a note (saturated fields, warnings).
//
// Failure: nothing throws out of run(). An error in a step (or an exception
// from below) becomes a STEP_FAILED detail; the step is still torn down and
// reported. The run then stops, as the seed does: later steps were written
// against the state the failed step should have left, so running them
// would report noise. The backdrop is torn down and ScenarioEnd sent with
// every detail collected so far. A failed step sends no StepEnd (its hold
// did not complete); its ScenarioPause is sent only if its ScenarioResume
// was. If no step completes, ScenarioEnd carries the baseline's pair with
// step 0.
#pragma once

#include "guest/executor/executor_env.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep::guest {

class StepExecutor {
 public:
  explicit StepExecutor(ExecutorEnv env) : env_(std::move(env)) {}

  // Runs `scenario` to its end and returns the ScenarioEnd it sent.
  wire::ScenarioEnd run(const scenario::Scenario& scenario);

 private:
  ExecutorEnv env_;
};

}  // namespace kstep::guest
