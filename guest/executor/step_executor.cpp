#include "guest/executor/step_executor.hpp"

#include <cmath>
#include <exception>
#include <optional>

#include <fmt/format.h>

#include "guest/cgroup/cgroup_knobs.hpp"
#include "guest/executor/cgroup_setup.hpp"
#include "guest/executor/checks.hpp"
#include "guest/executor/detail.hpp"
#include "guest/executor/frame_emitter.hpp"
#include "guest/executor/hold.hpp"
#include "guest/executor/op_applier.hpp"
#include "guest/executor/run_context.hpp"
#include "guest/executor/scenario_state.hpp"

namespace kstep::guest {
namespace {

// Turns an exception from below (a protobuf or allocation failure, a
// throwing fake) into an error of the phase it interrupted.
template <class Body>
Result<void> guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& error) {
    return fail("internal error: {}", error.what());
  } catch (...) {
    return fail("internal error: unknown exception");
  }
}

std::uint64_t duration_ms(double duration_s) {
  if (!(duration_s > 0.0)) {
    return 0;
  }
  return duration_s <= kMaxDurationS ? static_cast<std::uint64_t>(std::llround(duration_s * 1000.0))
                                     : UINT64_MAX;
}

std::string step_label(const scenario::Step& step, std::uint32_t number) {
  return step.name().empty() ? fmt::format("step {}", number)
                             : fmt::format("step {} ('{}')", number, step.name());
}

// One run of one scenario: the state and the details it accumulates.
class ScenarioRun {
 public:
  ScenarioRun(const ExecutorEnv& env, const scenario::Scenario& scenario, FrameEmitter& frames)
      : state_(env.cgroups, kFreezeTimeout,
               [&frames](std::string text) { frames.log(wire::Log::WARN, std::move(text)); }),
        run_{env, scenario, state_, frames, {}, {}, {}} {}

  wire::ScenarioEnd execute();

 private:
  struct Sample {
    std::uint32_t step = 0;
    std::uint64_t elapsed_ms = 0;
    std::uint64_t iterations = 0;
  };

  [[nodiscard]] bool prepare();
  [[nodiscard]] Result<void> set_up_backdrop();
  void send_stimulus(std::uint32_t step, const Ops& ops);
  [[nodiscard]] bool run_step(int index);
  [[nodiscard]] Result<void> step_body(const scenario::Step& step, const Phase& phase, bool& resumed);
  [[nodiscard]] Result<void> apply_setup(const Phase& phase, const scenario::Step& step);
  [[nodiscard]] Result<void> loop(const scenario::Step& step, const Phase& phase);
  [[nodiscard]] bool tear_down(Owner owner, std::uint32_t step, std::vector<wire::Detail>& details,
                               wire::StepReport& report);
  wire::ScenarioEnd finish();

  void add_failure(std::vector<wire::Detail>& details, std::uint32_t step, std::string message);
  std::uint32_t elapsed_u32() { return run_.frames.narrow(run_.elapsed_ms(), "Detail.elapsed_ms"); }
  // Moves the details recorded outside steps since the last call into the
  // run's list, keeping it in the order things happened.
  void merge_run_details();

  ScenarioState state_;
  RunContext run_;
  std::vector<wire::Detail> details_;      // every detail of the run, in order
  std::vector<wire::Detail> run_details_;  // those outside any step: the backdrop report's
  std::size_t run_details_merged_ = 0;
  wire::StepReport backdrop_report_;
  Sample last_completed_;  // the baseline until a step completes its hold
};

wire::ScenarioEnd ScenarioRun::execute() {
  const auto& scenario = run_.scenario;
  run_.start = run_.env.clock.now();
  run_.deadline = run_.start;
  if (validate_duration(scenario.duration_s())) {
    run_.deadline += std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(scenario.duration_s()));
  }
  run_.frames.scenario_start(scenario.name(), static_cast<std::uint64_t>(scenario.steps_size()),
                             duration_ms(scenario.duration_s()),
                             static_cast<std::uint64_t>(run_.env.topology.cpus_size()));

  bool ok = prepare();
  if (ok) {
    if (auto backdrop = guarded([&] { return set_up_backdrop(); }); !backdrop) {
      add_failure(run_details_, 0, fmt::format("backdrop: {}", backdrop.error().message));
      ok = false;
    } else {
      send_stimulus(0, scenario.backdrop().ops());
    }
  }
  merge_run_details();
  for (int index = 0; ok && index < scenario.steps_size(); ++index) {
    ok = run_step(index);
  }
  (void)tear_down(Owner::kBackdrop, 0, run_details_, backdrop_report_);
  merge_run_details();
  return finish();
}

bool ScenarioRun::prepare() {
  // Everything that can be checked before creating anything is: a bad hold
  // in step 5 must not surface after four steps ran.
  const auto& scenario = run_.scenario;
  bool ok = true;
  if (auto valid = validate_duration(scenario.duration_s()); !valid) {
    add_failure(run_details_, 0, fmt::format("scenario: {}", valid.error().message));
    ok = false;
  }
  for (int index = 0; index < scenario.steps_size(); ++index) {
    const auto& step = scenario.steps(index);
    const auto number = static_cast<std::uint32_t>(index + 1);
    if (auto valid = validate_hold(step.hold()); !valid) {
      add_failure(run_details_, number,
                  fmt::format("{}: {}", step_label(step, number), valid.error().message));
      ok = false;
    }
  }
  if (!ok) {
    return false;
  }
  auto enabled = guarded([&]() -> Result<void> {
    // Only what the scenario uses: a test of a kernel without a controller
    // must be able to run without it.
    run_.controllers = controllers_needed(scenario);
    if (run_.controllers.empty()) {
      return {};
    }
    return in_context(run_.env.cgroups.enable_controllers("", run_.controllers),
                      "enabling cgroup controllers");
  });
  if (!enabled) {
    add_failure(run_details_, 0, enabled.error().message);
    return false;
  }
  return true;
}

Result<void> ScenarioRun::set_up_backdrop() {
  // Cgroups first, so that backdrop ops can address them.
  const Phase phase{Owner::kBackdrop, 0, run_details_};
  for (const auto& def : run_.scenario.backdrop().cgroups()) {
    KSTEP_TRY(apply_cgroup_def(run_, phase, def));
  }
  return apply_ops(run_, phase, run_.scenario.backdrop().ops());
}

void ScenarioRun::send_stimulus(std::uint32_t step, const Ops& ops) {
  StepStimulus stimulus;
  stimulus.step = step;
  stimulus.op_count = static_cast<std::uint64_t>(ops.size());
  stimulus.op_kinds = op_kind_bits(ops);
  stimulus.cgroups = state_.cgroup_count();
  stimulus.workers = state_.worker_count();
  stimulus.elapsed_ms = run_.elapsed_ms();
  stimulus.iterations = state_.total_iterations();
  if (step == 0) {
    last_completed_ = Sample{0, stimulus.elapsed_ms, stimulus.iterations};
  }
  run_.frames.step_start(stimulus);
}

bool ScenarioRun::run_step(int index) {
  const auto& step = run_.scenario.steps(index);
  const auto number = static_cast<std::uint32_t>(index + 1);
  std::vector<wire::Detail> details;
  const Phase phase{Owner::kStep, number, details};

  bool resumed = false;
  auto body = guarded([&] { return step_body(step, phase, resumed); });
  if (!body) {
    add_failure(details, number, fmt::format("{}: {}", step_label(step, number), body.error().message));
    if (resumed) {
      run_.frames.scenario_pause(number, run_.elapsed_ms());
    }
  }
  wire::StepReport report;
  const bool torn_down = tear_down(Owner::kStep, number, details, report);
  details_.insert(details_.end(), details.begin(), details.end());
  return body.ok() && torn_down;
}

Result<void> ScenarioRun::step_body(const scenario::Step& step, const Phase& phase, bool& resumed) {
  auto& clock = run_.env.clock;
  if (step.hold().has_loop()) {
    KSTEP_TRY(apply_setup(phase, step));
    send_stimulus(phase.step, step.ops());
    run_.frames.scenario_resume(phase.step, run_.elapsed_ms(), whole_ms(run_.time_left()));
    resumed = true;
    KSTEP_TRY(loop(step, phase));
  } else {
    // Ops first: they may create the parents the setup's cgroups nest in.
    KSTEP_TRY(apply_ops(run_, phase, step.ops()));
    KSTEP_TRY(apply_setup(phase, step));
    send_stimulus(phase.step, step.ops());
    const auto now = clock.now();
    const auto hold = clamped_hold(step.hold(), run_.scenario.duration_s(), run_.deadline - now);
    run_.frames.scenario_resume(phase.step, whole_ms(now - run_.start), whole_ms(hold));
    resumed = true;
    sleep_in_slices(clock, now + hold, kHoldSlice);
  }
  // One instant for both: a rate computed from the pair must not count
  // time in which no iterations could accrue.
  const auto end = clock.now();
  const std::uint64_t iterations = state_.total_iterations();
  const std::uint64_t elapsed = whole_ms(end - run_.start);
  run_.frames.scenario_pause(phase.step, elapsed);
  run_.frames.step_end(phase.step, elapsed, iterations);
  last_completed_ = Sample{phase.step, elapsed, iterations};
  return {};
}

Result<void> ScenarioRun::apply_setup(const Phase& phase, const scenario::Step& step) {
  for (const auto& def : step.setup()) {
    KSTEP_TRY(in_context(apply_cgroup_def(run_, phase, def), "setup"));
  }
  return {};
}

Result<void> ScenarioRun::loop(const scenario::Step& step, const Phase& phase) {
  auto& clock = run_.env.clock;
  const auto interval = loop_interval(step.hold().loop());
  // Ticks on a fixed grid from the loop's start, so slow ops do not make
  // the interval drift; ticks the ops overran are skipped, not caught up.
  auto tick = clock.now();
  for (auto now = tick; now < run_.deadline; now = clock.now()) {
    KSTEP_TRY(apply_ops(run_, phase, step.ops()));
    now = clock.now();
    while (tick <= now) {
      tick += interval;
    }
    sleep_in_slices(clock, std::min(tick, run_.deadline), kHoldSlice);
  }
  return {};
}

bool ScenarioRun::tear_down(Owner owner, std::uint32_t step, std::vector<wire::Detail>& details,
                            wire::StepReport& report) {
  Collected collected;
  auto collect = guarded([&]() -> Result<void> {
    collected = state_.collect(owner, run_.env.worker_stop_grace);
    return {};
  });
  bool ok = collect.ok();
  if (!collect) {
    add_failure(details, step, fmt::format("teardown of {}: {}", to_string(owner), collect.error().message));
  }
  for (const auto& error : collected.errors) {
    add_failure(details, step,
                fmt::format("teardown of {} left something behind: {}", to_string(owner), error.message));
    ok = false;
  }
  // Narrowed (and its saturation noted) only when a check failed.
  const std::uint64_t elapsed = run_.elapsed_ms();
  auto checks = evaluate_checks(run_.scenario.checks(), collected.report, collected.allowed_cpus, step,
                                saturate_u32(elapsed));
  if (!checks.empty()) {
    (void)run_.frames.narrow(elapsed, "Detail.elapsed_ms");
  }
  details.insert(details.end(), checks.begin(), checks.end());

  report = std::move(collected.report);
  report.set_step(step);
  report.mutable_details()->Assign(details.begin(), details.end());
  // The backdrop's report travels in ScenarioEnd.
  if (owner == Owner::kStep) {
    run_.frames.step_report(report);
  }
  return ok;
}

wire::ScenarioEnd ScenarioRun::finish() {
  wire::ScenarioEnd end;
  end.set_step(last_completed_.step);
  end.set_elapsed_ms(run_.frames.narrow(last_completed_.elapsed_ms, "ScenarioEnd.elapsed_ms"));
  end.set_iterations(last_completed_.iterations);
  end.set_passed(details_.empty());
  end.mutable_details()->Assign(details_.begin(), details_.end());
  *end.mutable_backdrop() = std::move(backdrop_report_);
  run_.frames.scenario_end(end);
  return end;
}

void ScenarioRun::add_failure(std::vector<wire::Detail>& details, std::uint32_t step, std::string message) {
  details.push_back(make_detail(wire::Detail::STEP_FAILED, step, {}, std::move(message), elapsed_u32()));
}

void ScenarioRun::merge_run_details() {
  details_.insert(details_.end(), run_details_.begin() + static_cast<std::ptrdiff_t>(run_details_merged_),
                  run_details_.end());
  run_details_merged_ = run_details_.size();
}

// The run could not even finish its own bookkeeping (the sink itself
// throws): report what can be said, if the sink still takes it.
wire::ScenarioEnd abandoned(FrameEmitter& frames, std::string_view why) noexcept {
  wire::ScenarioEnd end;
  try {
    *end.add_details() =
        make_detail(wire::Detail::STEP_FAILED, 0, {}, fmt::format("the executor stopped: {}", why), 0);
    frames.scenario_end(end);
  } catch (...) {  // NOLINT(bugprone-empty-catch): the sink is what failed; the caller still gets `end`
  }
  return end;
}

}  // namespace

wire::ScenarioEnd StepExecutor::run(const scenario::Scenario& scenario) {
  FrameEmitter frames(env_.sink);
  try {
    ScenarioRun run(env_, scenario, frames);
    return run.execute();
  } catch (const std::exception& error) {
    return abandoned(frames, error.what());
  } catch (...) {
    return abandoned(frames, "unknown exception");
  }
}

}  // namespace kstep::guest
