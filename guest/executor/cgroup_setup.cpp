#include "guest/executor/cgroup_setup.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/cpuset_spec.hpp"
#include "guest/cgroup/cgroup_knobs.hpp"

namespace kstep::guest {
namespace {

const scenario::PayloadDecl* find_decl(const scenario::Scenario& scenario, const std::string& name) {
  for (const auto& decl : scenario.payloads()) {
    if (decl.name() == name) {
      return &decl;
    }
  }
  return nullptr;
}

}  // namespace

Result<void> add_cgroup(RunContext& run, const Phase& phase, const std::string& name) {
  if (name.empty()) {
    return fail("a cgroup needs a name");
  }
  if (const auto* existing = run.state.find_cgroup(name)) {
    return fail("cgroup '{}' already exists (created by {})", name, to_string(existing->owner));
  }
  if (const auto slash = name.rfind('/'); slash != std::string::npos) {
    if (run.state.find_cgroup(name.substr(0, slash)) == nullptr) {
      return fail("cgroup '{}': its parent '{}' is not a cgroup of this scenario", name,
                  name.substr(0, slash));
    }
  }
  KSTEP_TRY(create_cgroup(run.env.cgroups, name, run.controllers));
  auto added = run.state.add_cgroup(name, phase.owner);
  if (!added) {
    return Unexpected{std::move(added).error()};
  }
  return {};
}

Result<void> apply_cgroup_def(RunContext& run, const Phase& phase, const scenario::CgroupDef& def) {
  const auto& name = def.name();
  KSTEP_TRY(add_cgroup(run, phase, name));
  std::vector<unsigned> cpus;
  if (def.has_cpuset()) {
    auto resolved = resolve_cpuset(def.cpuset(), run.env.topology);
    if (!resolved) {
      return fail("cgroup '{}': cpuset: {}", name, resolved.error().message);
    }
    cpus = std::move(*resolved);
  }
  KSTEP_TRY(
      in_context(apply_cgroup_knobs(run.env.cgroups, name, def, cpus), fmt::format("cgroup '{}'", name)));
  if (!cpus.empty()) {
    run.state.set_cpuset(name, std::move(cpus));
  }
  if (def.has_workers()) {
    KSTEP_TRY(in_context(spawn_workers(run, phase, name, def.workers()), fmt::format("cgroup '{}'", name)));
  }
  if (def.has_payload()) {
    KSTEP_TRY(in_context(start_payload(run, phase, name, def.payload()), fmt::format("cgroup '{}'", name)));
  }
  return {};
}

Result<unsigned> resolve_worker_count(const scenario::Workers& workers, std::size_t cpus) {
  switch (workers.count_case()) {
    case scenario::Workers::kWorkers:
      if (workers.workers() == 0 || workers.workers() > kMaxWorkersPerGroup) {
        return fail("workers: {} is not within 1..{}", workers.workers(), kMaxWorkersPerGroup);
      }
      return workers.workers();
    case scenario::Workers::kCpuPct: {
      const double pct = workers.cpu_pct();
      if (!(pct > 0.0 && std::isfinite(pct))) {
        return fail("workers: cpu_pct {} is not a positive number", pct);
      }
      const double count = std::ceil(pct * static_cast<double>(cpus) / 100.0);
      if (count > kMaxWorkersPerGroup) {
        return fail("workers: cpu_pct {} of {} CPUs is {} workers, more than {}", pct, cpus, count,
                    kMaxWorkersPerGroup);
      }
      return std::max(1U, static_cast<unsigned>(count));
    }
    case scenario::Workers::COUNT_NOT_SET: break;
  }
  return fail("workers: set either workers or cpu_pct");
}

Result<void> spawn_workers(RunContext& run, const Phase& phase, const std::string& cgroup,
                           const scenario::Workers& workers) {
  if (run.state.find_cgroup(cgroup) == nullptr) {
    return fail("no cgroup '{}' to spawn workers in", cgroup);
  }
  const auto cpuset = run.state.effective_cpuset(cgroup);
  const std::size_t cpus =
      cpuset.empty() ? static_cast<std::size_t>(run.env.topology.cpus_size()) : cpuset.size();
  auto count = resolve_worker_count(workers, cpus);
  if (!count) {
    return Unexpected{std::move(count).error()};
  }
  WorkerRequest request;
  request.config = workers;
  request.count = *count;
  request.cgroup = cgroup;
  auto group = run.env.workers.spawn(request);
  if (!group) {
    return fail("spawning {} workers: {}", *count, group.error().message);
  }
  run.state.add_workers(phase.owner, cgroup, std::move(*group));
  return {};
}

Result<void> start_payload(RunContext& run, const Phase& phase, const std::string& cgroup,
                           const scenario::PayloadRun& payload_run) {
  const auto& name = payload_run.payload();
  const auto* decl = find_decl(run.scenario, name);
  if (decl == nullptr) {
    return fail("payload '{}' is not declared in the scenario", name);
  }
  if (phase.owner == Owner::kBackdrop && decl->kind() == scenario::SCHEDULER) {
    return fail("payload '{}' is a scheduler: schedulers never run in the backdrop", name);
  }
  const auto path = run.env.payload_paths.find(name);
  if (path == run.env.payload_paths.end()) {
    return fail("payload '{}' has no binary in the guest", name);
  }
  std::string id = payload_run.id().empty() ? name : payload_run.id();
  // Wait and kill address payloads by id: two live ones would be ambiguous.
  if (run.state.has_payload(id)) {
    return fail("a payload with id '{}' is already running", id);
  }
  if (!cgroup.empty() && run.state.find_cgroup(cgroup) == nullptr) {
    return fail("no cgroup '{}' to run payload '{}' in", cgroup, id);
  }
  PayloadRequest request;
  request.id = id;
  request.decl = *decl;
  request.guest_path = path->second;
  request.args.assign(payload_run.args().begin(), payload_run.args().end());
  request.cgroup = cgroup;
  auto payload = run.env.payloads.start(request);
  if (!payload) {
    return fail("starting payload '{}': {}", id, payload.error().message);
  }
  run.state.add_payload(phase.owner, std::move(id), cgroup, std::move(*payload));
  return {};
}

}  // namespace kstep::guest
