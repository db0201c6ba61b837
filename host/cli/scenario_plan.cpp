#include "host/cli/scenario_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/scheduler_ops.hpp"
#include "host/initramfs/payload_bundle.hpp"
#include "host/results/map_values.hpp"
#include "host/scenario/scenario_source.hpp"
#include "host/scenario/scenario_validator.hpp"

namespace kstep::host {

namespace {

// `program` as bundle_payload takes it, with kstep-sched meaning the
// bundled scheduler wherever it was built.
Result<std::string> resolve_program(const std::string& program,
                                    const std::optional<std::filesystem::path>& bundled) {
  if (program != kBundledScheduler) {
    return program;
  }
  if (!bundled) {
    return fail(
        "the bundled scheduler {} was not built (configure meson with -Dscheduler_btf=PATH-TO-vmlinux; "
        "scripts/setup does)",
        program);
  }
  return bundled->string();
}

Result<wire::SchedulerLaunch> plan_scheduler(const RunOptions& options, const scenario::Scenario& scenario,
                                             const std::optional<std::filesystem::path>& bundled,
                                             ScenarioPlan& plan) {
  const std::string& spec = *options.scheduler;
  auto resolved = resolve_program(spec, bundled);
  if (!resolved) {
    return Unexpected{std::move(resolved).error().context(fmt::format("--scheduler {}", spec))};
  }
  const std::string& program = *resolved;
  for (const auto& decl : scenario.payloads()) {
    if (decl.name() == kSchedulerBundle) {
      return fail("payload name '{}' is reserved for the --scheduler binary", decl.name());
    }
  }
  auto files = bundle_payload(kSchedulerBundle, program);
  if (!files) {
    return Unexpected{std::move(files).error().context(fmt::format("--scheduler {}", spec))};
  }
  KSTEP_TRY(merge_entries(plan.payload_entries, files->entries));
  plan.scheduler_binary = files->entries.front().source;  // the binary comes first
  wire::SchedulerLaunch launch;
  launch.set_name(std::filesystem::path{program}.filename().string());
  launch.set_path(files->guest_path);
  for (const auto& arg : options.sched_args) {
    launch.add_args(arg);
  }
  return launch;
}

}  // namespace

Result<ScenarioPlan> plan_scenario(const RunOptions& options, const wire::Topology& topology,
                                   const std::optional<std::filesystem::path>& bundled_scheduler) {
  ScenarioPlan plan;
  // A replacement agent usually cannot run scenarios: unless one is asked
  // for, it only shakes hands.
  const std::string name = options.scenario.value_or(options.agent ? "none" : std::string{kDefaultScenario});
  if (name == "none") {
    return plan;
  }
  auto loaded = load_scenario_arg(name);
  if (!loaded) {
    return Unexpected{std::move(loaded).error()};
  }
  const auto errors = validate_scenario(*loaded, topology);
  if (!errors.empty()) {
    std::string text =
        fmt::format("scenario {} has {} error{}:", name, errors.size(), errors.size() == 1 ? "" : "s");
    for (const auto& error : errors) {
      text += "\n  " + error.describe();
    }
    return Unexpected{Error{text}};
  }
  wire::RunScenario run;
  *run.mutable_scenario() = loaded->scenario;
  for (const auto& decl : loaded->scenario.payloads()) {
    std::string program = decl.path().empty() ? decl.name() : decl.path();
    if (decl.kind() == scenario::SCHEDULER) {
      auto resolved = resolve_program(program, bundled_scheduler);
      if (!resolved) {
        return Unexpected{std::move(resolved).error().context(fmt::format("payload '{}'", decl.name()))};
      }
      program = std::move(resolved).value();
    }
    auto files = bundle_payload(decl.name(), program);
    if (!files) {
      return Unexpected{std::move(files).error()};
    }
    KSTEP_TRY(merge_entries(plan.payload_entries, files->entries));
    (*run.mutable_payload_paths())[decl.name()] = files->guest_path;
  }
  if (options.scheduler) {
    auto launch = plan_scheduler(options, loaded->scenario, bundled_scheduler, plan);
    if (!launch) {
      return Unexpected{std::move(launch).error()};
    }
    *run.mutable_scheduler() = std::move(launch).value();
    run.set_attach_timeout_ms(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options.attach_timeout).count()));
  }
  for (const auto& write : options.bpf_writes) {
    *run.mutable_scenario()->add_bpf_writes() = write;
  }
  if (run.scenario().bpf_writes_size() > 0) {
    if (!run.has_scheduler() && !uses_scheduler_ops(run.scenario())) {
      return fail("BPF map writes ({}) need a scheduler: give --scheduler or attach one in the scenario",
                  describe(run.scenario().bpf_writes(0)));
    }
    run.set_await_map_write(true);
    run.set_map_write_gate_ms(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options.map_write_gate).count()));
  }
  plan.needs_sched_ext = run.has_scheduler() || uses_scheduler_ops(run.scenario());
  plan.run = std::move(run);
  return plan;
}

}  // namespace kstep::host
