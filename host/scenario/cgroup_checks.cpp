#include "host/scenario/cgroup_checks.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

#include "common/cgroup_values.hpp"
#include "common/cpu_list.hpp"
#include "common/cpuset_spec.hpp"

namespace kstep::host {
namespace {

using scenario::MemPolicyMode;
using scenario::SchedPolicy;

// More workers than this in one group is a typo (a count meant for cpu_pct)
// rather than a test: each is a process in a VM of a few hundred MB.
constexpr std::uint32_t kMaxWorkers = 1024;

bool contains(const std::vector<unsigned>& sorted, unsigned value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

// cpuset_mems: kernel list syntax, nodes that exist.
Result<std::vector<unsigned>> parse_mems(const ValidationContext& ctx, const std::string& text) {
  auto nodes = parse_cpu_list(text);
  if (!nodes) {
    return Unexpected{std::move(nodes).error()};
  }
  if (nodes->empty()) {
    return fail("'{}' names no NUMA node", text);
  }
  for (const unsigned node : *nodes) {
    if (!contains(ctx.numa_nodes, node)) {
      return fail("NUMA node {} does not exist: the topology has nodes {}", node,
                  format_cpu_list(ctx.numa_nodes));
    }
  }
  return nodes;
}

void check_knobs(const ValidationContext& ctx, const scenario::CgroupDef& def, const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  if (def.has_cpu_max()) {
    if (auto value = cpu_max_knob_value(def.cpu_max()); !value) {
      diag.add(path + ".cpu_max", value.error());
    }
  }
  using Weight = std::pair<const char*, std::uint32_t>;
  for (const auto& [knob, weight] :
       {Weight{"cpu_weight", def.cpu_weight()}, Weight{"io_weight", def.io_weight()}}) {
    if (weight == 0) {
      continue;  // unset: the kernel default stays
    }
    if (auto checked = check_weight(weight, knob); !checked) {
      diag.add(fmt::format("{}.{}", path, knob), checked.error());
    }
  }
  using Size = std::pair<const char*, const std::string*>;
  for (const auto& [knob, text] :
       {Size{"memory_max", &def.memory_max()}, Size{"memory_high", &def.memory_high()},
        Size{"memory_low", &def.memory_low()}, Size{"memory_swap_max", &def.memory_swap_max()}}) {
    if (text->empty()) {
      continue;
    }
    if (auto value = memory_knob_value(*text); !value) {
      diag.add(fmt::format("{}.{}", path, knob), value.error());
    }
  }
  if (!def.pids_max().empty()) {
    if (auto value = pids_knob_value(def.pids_max()); !value) {
      diag.add(path + ".pids_max", value.error());
    }
  }
}

void check_worker_count(const ValidationContext& ctx, const scenario::Workers& workers,
                        const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  switch (workers.count_case()) {
    case scenario::Workers::kWorkers:
      if (workers.workers() == 0) {
        diag.add(path + ".workers", "workers must be at least 1");
      } else if (workers.workers() > kMaxWorkers) {
        diag.add(path + ".workers", "{} workers in one group: at most {} are allowed", workers.workers(),
                 kMaxWorkers);
      }
      break;
    case scenario::Workers::kCpuPct:
      if (!(std::isfinite(workers.cpu_pct()) && workers.cpu_pct() > 0.0 && workers.cpu_pct() <= 100.0)) {
        diag.add(path + ".cpu_pct", "cpu_pct must be above 0 and at most 100, got {}", workers.cpu_pct());
      }
      break;
    case scenario::Workers::COUNT_NOT_SET:
      diag.add(path, "workers need a count: set workers or cpu_pct");
      break;
  }
}

// The schema's "unspecified" policy is NORMAL.
std::string_view policy_name(SchedPolicy policy) {
  if (policy == scenario::SCHED_POLICY_UNSPECIFIED) {
    return "NORMAL";
  }
  return SchedPolicy_Name(policy);  // a reference to a static string
}

void check_scheduling(const ValidationContext& ctx, const scenario::Workers& workers,
                      const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  const SchedPolicy policy = workers.policy();
  if (!scenario::SchedPolicy_IsValid(policy)) {
    diag.add(path + ".policy", "unknown scheduling policy {}", static_cast<int>(policy));
    return;
  }
  const bool realtime = policy == scenario::FIFO || policy == scenario::RR;
  const bool takes_nice =
      policy == scenario::SCHED_POLICY_UNSPECIFIED || policy == scenario::NORMAL || policy == scenario::BATCH;
  if (workers.nice() < -20 || workers.nice() > 19) {
    diag.add(path + ".nice", "nice must be within -20..19, got {}", workers.nice());
  } else if (workers.nice() != 0 && !takes_nice) {
    diag.add(path + ".nice", "nice applies to NORMAL and BATCH workers, not {}", policy_name(policy));
  }
  // 0 is proto3's "unset": the executor runs FIFO and RR workers at 1 then.
  if (realtime && workers.rt_priority() > 99) {
    diag.add(path + ".rt_priority", "{} workers need an rt_priority within 1..99, got {}",
             SchedPolicy_Name(policy), workers.rt_priority());
  } else if (!realtime && workers.rt_priority() != 0) {
    diag.add(path + ".rt_priority", "rt_priority applies to FIFO and RR workers, not {}",
             policy_name(policy));
  }
}

// The nodes of a memory policy against the topology, the cgroup's CPUs and
// its cpuset.mems. Nodes outside the NUMA nodes of the CPUs are almost
// always a mistake (compute on one node, memory on another), so they need
// static_nodes to say it is meant. relative_nodes are ordinals the kernel
// folds onto the allowed nodes: any value is valid.
void check_policy_nodes(const ValidationContext& ctx, const scenario::MemPolicy& policy,
                        const Placement& placement, const std::string& path) {
  if (policy.relative_nodes()) {
    return;
  }
  const auto cpu_nodes = numa_nodes_of(placement.cpus, *ctx.topology);
  for (int i = 0; i < policy.nodes_size(); ++i) {
    const unsigned node = policy.nodes(i);
    const std::string field = fmt::format("{}.nodes[{}]", path, i);
    if (!contains(ctx.numa_nodes, node)) {
      ctx.diag->add(field, "NUMA node {} does not exist: the topology has nodes {}", node,
                    format_cpu_list(ctx.numa_nodes));
    } else if (!policy.static_nodes() && !contains(cpu_nodes, node)) {
      ctx.diag->add(
          field,
          "NUMA node {} is outside the nodes of the cgroup's CPUs ({}): set static_nodes if the memory "
          "belongs there on purpose",
          node, format_cpu_list(cpu_nodes));
    } else if (!contains(placement.mems, node)) {
      ctx.diag->add(field, "NUMA node {} is outside the cgroup's cpuset_mems ({})", node,
                    format_cpu_list(placement.mems));
    }
  }
}

void check_mem_policy(const ValidationContext& ctx, const scenario::MemPolicy& policy,
                      const Placement& placement, const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  const MemPolicyMode mode = policy.mode();
  if (!scenario::MemPolicyMode_IsValid(mode)) {
    diag.add(path + ".mode", "unknown memory policy mode {}", static_cast<int>(mode));
    return;
  }
  if (policy.static_nodes() && policy.relative_nodes()) {
    diag.add(path + ".relative_nodes",
             "static_nodes and relative_nodes exclude each other (the kernel rejects the pair with EINVAL)");
  }
  if (policy.numa_balancing() && mode != scenario::MPOL_BIND) {
    diag.add(path + ".numa_balancing", "numa_balancing works with MPOL_BIND only, not {}",
             MemPolicyMode_Name(mode));
  }
  switch (mode) {
    case scenario::MPOL_UNSPECIFIED:
      if (policy.nodes_size() > 0 || policy.static_nodes() || policy.relative_nodes()) {
        diag.add(path + ".mode", "the memory policy has nodes or flags but no mode");
      }
      return;
    case scenario::MPOL_DEFAULT:
    case scenario::MPOL_LOCAL:
      if (policy.nodes_size() > 0) {
        diag.add(path + ".nodes", "{} takes no nodes", MemPolicyMode_Name(mode));
      }
      return;
    case scenario::MPOL_PREFERRED: break;  // no nodes: prefer the local node
    default:
      if (policy.nodes_size() == 0) {
        diag.add(path + ".nodes", "{} needs at least one node", MemPolicyMode_Name(mode));
      }
      break;
  }
  check_policy_nodes(ctx, policy, placement, path);
}

// "-5" and "-0.5" are values, not flags.
bool is_number(std::string_view text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  return result.ec == std::errc{} && result.ptr == end;
}

void check_args(const ValidationContext& ctx, const scenario::PayloadDecl& decl,
                const scenario::PayloadRun& run, const std::string& path) {
  const auto& allowed = decl.allowed_flags();
  if (allowed.empty()) {
    return;  // the declaration allows any flag
  }
  for (int i = 0; i < run.args_size(); ++i) {
    const std::string& arg = run.args(i);
    if (arg.size() < 2 || arg.front() != '-' || is_number(arg)) {
      continue;
    }
    const std::string flag = arg.substr(0, arg.find('='));
    if (std::find(allowed.begin(), allowed.end(), flag) == allowed.end()) {
      ctx.diag->add(fmt::format("{}.args[{}]", path, i),
                    "flag '{}' is not among payload '{}''s allowed_flags ({})", flag, decl.name(),
                    fmt::join(allowed, ", "));
    }
  }
}

}  // namespace

Placement placement_of(const ValidationContext& ctx, const ScenarioNames& names, std::string_view name,
                       bool live) {
  if (!live) {
    return {ctx.online_cpus, ctx.numa_nodes};
  }
  return {names.effective_cpus(name), names.effective_mems(name)};
}

void check_cgroup_def(const ValidationContext& ctx, ScenarioNames& names, Scope scope,
                      const scenario::CgroupDef& def, const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  CgroupState state;
  state.scope = scope;
  state.defined_at = path;
  const bool has_tasks = def.has_workers() || def.has_payload();
  state.backdrop_tasks = has_tasks && scope == Scope::backdrop;
  state.step_tasks = has_tasks && scope == Scope::step;
  if (def.has_cpuset()) {
    if (auto cpus = resolve_cpuset(def.cpuset(), *ctx.topology)) {
      state.cpus = std::move(*cpus);
    } else {
      diag.add(path + ".cpuset", cpus.error());
    }
  }
  if (!def.cpuset_mems().empty()) {
    if (auto mems = parse_mems(ctx, def.cpuset_mems())) {
      state.mems = std::move(*mems);
    } else {
      diag.add(path + ".cpuset_mems", mems.error());
    }
  }
  check_knobs(ctx, def, path);

  // A cgroup whose name cannot be defined still has its workers checked,
  // placed where its own cpuset would put them.
  Placement own{state.cpus.value_or(ctx.online_cpus), state.mems.value_or(ctx.numa_nodes)};
  bool live = false;
  if (auto valid = check_cgroup_name(def.name()); !valid) {
    diag.add(path + ".name", valid.error());
  } else if (auto defined = names.define_cgroup(def.name(), std::move(state)); !defined) {
    diag.add(path + ".name", defined.error());
  } else {
    live = true;
  }
  const Placement placement = live ? placement_of(ctx, names, def.name(), true) : std::move(own);
  if (def.has_workers()) {
    check_workers(ctx, def.workers(), placement, path + ".workers");
  }
  if (def.has_payload()) {
    check_payload_run(ctx, names, scope, def.payload(), def.name(), path + ".payload");
  }
}

void check_workers(const ValidationContext& ctx, const scenario::Workers& workers, const Placement& placement,
                   const std::string& path) {
  check_worker_count(ctx, workers, path);
  if (!scenario::WorkType_IsValid(workers.work())) {
    ctx.diag->add(path + ".work", "unknown work type {}", static_cast<int>(workers.work()));
  }
  check_scheduling(ctx, workers, path);
  if (workers.page_touch_bytes() != 0 && workers.work() != scenario::PAGE_TOUCH) {
    ctx.diag->add(path + ".page_touch_bytes", "page_touch_bytes applies to PAGE_TOUCH workers only");
  }
  if (workers.has_mem_policy()) {
    check_mem_policy(ctx, workers.mem_policy(), placement, path + ".mem_policy");
  }
}

void check_payload_run(const ValidationContext& ctx, ScenarioNames& names, Scope scope,
                       const scenario::PayloadRun& run, std::string_view cgroup, const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  if (run.payload().empty()) {
    diag.add(path + ".payload", "names no payload");
  } else if (const auto* decl = ctx.find_payload(run.payload()); decl == nullptr) {
    std::vector<std::string> declared;
    for (const auto& payload : ctx.scenario->payloads()) {
      declared.push_back(payload.name());
    }
    diag.add(path + ".payload", "payload '{}' is not declared: declared payloads are {}", run.payload(),
             join_or(declared, "none"));
  } else {
    if (scope == Scope::backdrop && decl->kind() == scenario::SCHEDULER) {
      diag.add(path + ".payload",
               "payload '{}' is a SCHEDULER: a scheduler may run in a step, never in the backdrop",
               run.payload());
    }
    check_args(ctx, *decl, run, path);
  }
  const std::string& id = run.id().empty() ? run.payload() : run.id();
  if (id.empty()) {
    return;
  }
  if (auto started = names.start_payload(id, std::string{cgroup}, scope, path); !started) {
    diag.add(path + (run.id().empty() ? ".payload" : ".id"), started.error());
  }
}

}  // namespace kstep::host
