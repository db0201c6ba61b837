#include "host/cli/scenario_plan.hpp"

#include <fmt/format.h>

#include "host/initramfs/payload_bundle.hpp"
#include "host/scenario/scenario_source.hpp"
#include "host/scenario/scenario_validator.hpp"

namespace kstep::host {

Result<ScenarioPlan> plan_scenario(const RunOptions& options, const wire::Topology& topology) {
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
    auto files = bundle_payload(decl.name(), decl.path().empty() ? decl.name() : decl.path());
    if (!files) {
      return Unexpected{std::move(files).error()};
    }
    KSTEP_TRY(merge_entries(plan.payload_entries, files->entries));
    (*run.mutable_payload_paths())[decl.name()] = files->guest_path;
  }
  plan.run = std::move(run);
  return plan;
}

}  // namespace kstep::host
