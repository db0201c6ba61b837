#include "guest/executor/step_executor.hpp"

#include <cmath>
#include <exception>

#include <fmt/format.h>

#include "guest/cgroup/cgroup_knobs.hpp"
#include "guest/executor/cgroup_setup.hpp"
#include "guest/executor/checks.hpp"
#include "guest/executor/detail.hpp"
#include "guest/executor/frame_emitter.hpp"
#include "guest/executor/gates.hpp"
#include "guest/executor/hold.hpp"
#include "guest/executor/op_applier.hpp"
#include "guest/executor/run_context.hpp"
#include "guest/executor/scenario_state.hpp"

namespace kstep::guest {
namespace {

// After a scheduler's death, how long its process may take to exit on its
// own before the detail is written without its exit status.
constexpr std::chrono::milliseconds kSettleBudget{500};

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

// A scheduler payload named by the backdrop (its cgroups or its ops), or
// nullptr. Schedulers have their own lifecycle: never in the backdrop.
const scenario::PayloadDecl* scheduler_in_backdrop(const scenario::Scenario& scenario) {
  const auto scheduler = [&](const scenario::PayloadRun& run) -> const scenario::PayloadDecl* {
    for (const auto& decl : scenario.payloads()) {
      if (decl.name() == run.payload() && decl.kind() == scenario::SCHEDULER) {
        return &decl;
      }
    }
    return nullptr;
  };
  std::vector<const scenario::PayloadRun*> runs;
  for (const auto& def : scenario.backdrop().cgroups()) {
    runs.push_back(&def.payload());
  }
  for (const auto& op : scenario.backdrop().ops()) {
    runs.push_back(op.has_run_payload() ? &op.run_payload().run() : &op.add_cgroup_def().payload());
  }
  for (const auto* run : runs) {
    if (const auto* decl = scheduler(*run)) {
      return decl;
    }
  }
  return nullptr;
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
        scheduler_(
            env.schedulers, frames, [this] { return run_.elapsed_ms(); }, env.handshake),
        run_{env, scenario, state_, frames, scheduler_, {}, {}, {}} {}

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
  // Holds until `deadline`; false when the scheduler died first.
  [[nodiscard]] bool hold_until(ExecutorClock::TimePoint deadline, std::uint32_t step);
  // The liveness check between steps: true while the scheduler (if any) lives.
  [[nodiscard]] bool scheduler_alive(std::uint32_t step, std::string_view when);
  // Records the death the slot saw as the run's failure detail, and SIGKILLs
  // every worker so their collection is not starved.
  void report_death(std::vector<wire::Detail>& details, std::uint32_t step, std::string_view when);
  void attach_scenario_scheduler();
  // With writes queued on the host: holds the workload until they landed.
  // False when the scheduler died meanwhile.
  [[nodiscard]] bool await_map_writes();
  void detach_scenario_scheduler();
  [[nodiscard]] bool tear_down(Owner owner, std::uint32_t step, std::vector<wire::Detail>& details,
                               wire::StepReport& report);
  wire::ScenarioEnd finish();

  void add_failure(std::vector<wire::Detail>& details, std::uint32_t step, std::string message);
  std::uint32_t elapsed_u32() { return run_.frames.narrow(run_.elapsed_ms(), "Detail.elapsed_ms"); }
  // Moves the details recorded outside steps since the last call into the
  // run's list, keeping it in the order things happened.
  void merge_run_details();

  ScenarioState state_;
  SchedulerSlot scheduler_;
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
  if (ok && run_.env.scheduler) {
    attach_scenario_scheduler();
    ok = scheduler_.attached() && await_map_writes();
  }
  if (ok) {
    if (auto backdrop = guarded([&] { return set_up_backdrop(); }); !backdrop) {
      add_failure(run_details_, 0, fmt::format("backdrop: {}", backdrop.error().message));
      ok = false;
    } else {
      send_stimulus(0, scenario.backdrop().ops());
      ok = scheduler_alive(0, "during the backdrop setup");
    }
  }
  merge_run_details();
  for (int index = 0; ok && index < scenario.steps_size(); ++index) {
    ok = run_step(index) &&
         scheduler_alive(static_cast<std::uint32_t>(index + 1), fmt::format("after step {}", index + 1));
  }
  (void)tear_down(Owner::kBackdrop, 0, run_details_, backdrop_report_);
  detach_scenario_scheduler();
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
  if (const auto* decl = scheduler_in_backdrop(scenario)) {
    add_failure(run_details_, 0,
                fmt::format("backdrop: payload '{}' is a scheduler: schedulers never run in the backdrop",
                            decl->name()));
    ok = false;
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
    if (scheduler_.death()) {
      report_death(details, number, fmt::format("during {}", step_label(step, number)));
    } else if (scheduler_.attach_failed()) {
      // The op stopped at the failed attach: that is what the body's error says.
      details.push_back(make_detail(wire::Detail::SCHEDULER_ATTACH_FAILED, number, {},
                                    fmt::format("{}: {}", step_label(step, number), body.error().message),
                                    elapsed_u32()));
    } else {
      add_failure(details, number, fmt::format("{}: {}", step_label(step, number), body.error().message));
    }
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
    if (!hold_until(now + hold, phase.step)) {
      return fail("the scheduler died during the hold");
    }
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
    if (!hold_until(std::min(tick, run_.deadline), phase.step)) {
      return fail("the scheduler died during the loop");
    }
  }
  return {};
}

bool ScenarioRun::hold_until(ExecutorClock::TimePoint deadline, std::uint32_t step) {
  if (scheduler_.attached()) {
    return !scheduler_.died_before(deadline, step);
  }
  sleep_in_slices(run_.env.clock, deadline, kHoldSlice);
  return true;
}

bool ScenarioRun::scheduler_alive(std::uint32_t step, std::string_view when) {
  if (!scheduler_.died_before(ExecutorClock::TimePoint::min(), step)) {
    return true;
  }
  report_death(step == 0 ? run_details_ : details_, step, when);
  return false;
}

void ScenarioRun::report_death(std::vector<wire::Detail>& details, std::uint32_t step,
                               std::string_view when) {
  state_.kill_workers();
  // The loader may take its polling interval to notice; the detail says how
  // it ended when it does within this.
  scheduler_.settle_death(kSettleBudget);
  const auto& death = *scheduler_.death();
  const char* what = death.kind == wire::Detail::SCHEDULER_CRASHED   ? "crashed"
                     : death.kind == wire::Detail::SCHEDULER_EXITED  ? "exited"
                     : death.kind == wire::Detail::SCHEDULER_STALLED ? "stalled"
                                                                     : "died for an unknown reason";
  const std::uint64_t elapsed = run_.elapsed_ms();
  details.push_back(make_detail(death.kind, step, {},
                                fmt::format("scheduler '{}' {} {} at {:.2f} s: {}", scheduler_.dead_name(),
                                            what, when, static_cast<double>(elapsed) / 1000.0, death.message),
                                elapsed_u32()));
}

void ScenarioRun::attach_scenario_scheduler() {
  if (auto attached = scheduler_.attach(*run_.env.scheduler, 0); !attached) {
    run_details_.push_back(
        make_detail(wire::Detail::SCHEDULER_ATTACH_FAILED, 0, {}, attached.error().message, elapsed_u32()));
  }
}

bool ScenarioRun::await_map_writes() {
  if (!run_.env.await_map_write) {
    return true;
  }
  if (auto waited = await_gate(run_, 0, GateKind::kMapWrite, run_.env.map_write_gate); !waited) {
    // The gate already took the death from the slot (and sent DIED): a
    // second liveness check would find no scheduler and call it alive.
    report_death(run_details_, 0, "while the workload waited for the BPF map writes");
    return false;
  }
  return true;
}

void ScenarioRun::detach_scenario_scheduler() {
  if (!scheduler_.attached()) {
    return;
  }
  // The same liveness check as between steps: it may have died while the
  // backdrop was torn down.
  if (!scheduler_alive(last_completed_.step, "at the end of the scenario")) {
    return;
  }
  if (auto detached = scheduler_.detach(last_completed_.step); !detached) {
    add_failure(run_details_, last_completed_.step, detached.error().message);
  }
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
