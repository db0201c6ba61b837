#include "common/scheduler_ops.hpp"

#include <algorithm>

namespace kstep {
namespace {

bool starts_a_scheduler(const scenario::Op& op) {
  return op.has_attach_scheduler() || op.has_replace_scheduler() || op.has_restart_scheduler();
}

}  // namespace

bool uses_scheduler_ops(const scenario::Scenario& scenario) {
  const auto any = [](const auto& ops) { return std::any_of(ops.begin(), ops.end(), starts_a_scheduler); };
  return any(scenario.backdrop().ops()) ||
         std::any_of(scenario.steps().begin(), scenario.steps().end(),
                     [&any](const scenario::Step& step) { return any(step.ops()); });
}

}  // namespace kstep
