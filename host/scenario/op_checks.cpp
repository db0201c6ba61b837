#include "host/scenario/op_checks.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/cpu_list.hpp"
#include "common/cpuset_spec.hpp"
#include "host/scenario/cgroup_checks.hpp"

namespace kstep::host {
namespace {

constexpr std::uint32_t kMaxGateMs = 3600 * 1000;

using scenario::Op;

// One op's checks: the context plus the op's own path.
struct OpCheck {
  const ValidationContext& ctx;
  ScenarioNames& names;
  Scope scope;
  std::string path;  // "steps[1].ops[2]"

  [[nodiscard]] std::string field(std::string_view name) const { return fmt::format("{}.{}", path, name); }

  // The live cgroup `name` names, or nullptr after reporting why not.
  CgroupState* cgroup(std::string_view name, const std::string& at) {
    auto found = names.find_cgroup(name);
    if (!found) {
      ctx.diag->add(at, found.error());
      return nullptr;
    }
    return *found;
  }

  // A cpuset an op applies; nullopt after reporting why it cannot be.
  std::optional<std::vector<unsigned>> cpus(bool present, const scenario::CpusetSpec& spec,
                                            const std::string& at, std::string_view what) {
    if (!present) {
      ctx.diag->add(at, "{} needs CPUs", what);
      return std::nullopt;
    }
    auto resolved = resolve_cpuset(spec, *ctx.topology);
    if (!resolved) {
      ctx.diag->add(at, resolved.error());
      return std::nullopt;
    }
    return std::move(*resolved);
  }

  void add_cgroup(const std::string& name, const std::string& at) {
    if (auto valid = check_cgroup_name(name); !valid) {
      ctx.diag->add(at, valid.error());
      return;
    }
    CgroupState state;
    state.scope = scope;
    state.defined_at = path;
    if (auto defined = names.define_cgroup(name, std::move(state)); !defined) {
      ctx.diag->add(at, defined.error());
    }
  }

  void set_cpuset(const scenario::SetCpuset& op) {
    auto* target = cgroup(op.cgroup(), field("set_cpuset.cgroup"));
    auto resolved = cpus(op.has_cpuset(), op.cpuset(), field("set_cpuset.cpuset"), "set_cpuset");
    if (target != nullptr && resolved) {
      target->cpus = std::move(resolved);
    }
  }

  void swap_cpusets(const scenario::SwapCpusets& op) {
    auto* a = cgroup(op.a(), field("swap_cpusets.a"));
    auto* b = cgroup(op.b(), field("swap_cpusets.b"));
    if (a != nullptr && a == b) {
      ctx.diag->add(field("swap_cpusets.b"), "swaps cgroup '{}' with itself", op.a());
    } else if (a != nullptr && b != nullptr) {
      std::swap(a->cpus, b->cpus);
    }
  }

  void move_all_tasks(const scenario::MoveAllTasks& op) {
    auto* from = cgroup(op.from(), field("move_all_tasks.from"));
    auto* to = cgroup(op.to(), field("move_all_tasks.to"));
    if (from != nullptr && from == to) {
      ctx.diag->add(field("move_all_tasks.to"), "moves the tasks of cgroup '{}' to itself", op.from());
    } else if (from != nullptr && to != nullptr) {
      if (auto moved = names.move_tasks(op.from(), op.to()); !moved) {
        ctx.diag->add(field("move_all_tasks.to"), moved.error());
      }
    }
  }

  // sched_setaffinity keeps only CPUs of the task's cpuset, and fails with
  // EINVAL when none are left.
  void set_affinity(const scenario::SetAffinity& op) {
    auto* target = cgroup(op.cgroup(), field("set_affinity.cgroup"));
    auto affinity = cpus(op.has_cpus(), op.cpus(), field("set_affinity.cpus"), "set_affinity");
    if (target == nullptr || !affinity) {
      return;
    }
    const auto allowed = names.effective_cpus(op.cgroup());
    std::vector<unsigned> usable;
    std::set_intersection(affinity->begin(), affinity->end(), allowed.begin(), allowed.end(),
                          std::back_inserter(usable));
    if (usable.empty()) {
      ctx.diag->add(field("set_affinity.cpus"),
                    "CPUs {} are all outside cgroup '{}''s CPUs ({}): sched_setaffinity would fail",
                    format_cpu_list(*affinity), op.cgroup(), format_cpu_list(allowed));
    }
  }

  void spawn(const scenario::Spawn& op) {
    const bool live = cgroup(op.cgroup(), field("spawn.cgroup")) != nullptr;
    if (!op.has_workers()) {
      ctx.diag->add(field("spawn"), "spawn needs workers");
      return;
    }
    names.add_tasks(op.cgroup(), scope);
    check_workers(ctx, op.workers(), placement_of(ctx, names, op.cgroup(), live), field("spawn.workers"));
  }

  void run_payload(const scenario::RunPayloadOp& op) {
    // No cgroup: the payload runs in the scenario's root cgroup.
    if (!op.cgroup().empty() && cgroup(op.cgroup(), field("run_payload.cgroup")) != nullptr) {
      names.add_tasks(op.cgroup(), scope);
    }
    if (!op.has_run()) {
      ctx.diag->add(field("run_payload"), "run_payload needs a run (the payload and its args)");
      return;
    }
    check_payload_run(ctx, names, scope, op.run(), op.cgroup(), field("run_payload.run"));
  }

  void end_payload(std::string_view id, const std::string& at) {
    if (auto ended = names.end_payload(id, path); !ended) {
      ctx.diag->add(at, ended.error());
    }
  }

  // The binary must be a declared payload of kind SCHEDULER. Whether one is
  // attached at that point depends on earlier deaths: the guest checks.
  void scheduler_run(const scenario::SchedulerRun& run, const std::string& at) {
    const auto& decls = ctx.scenario->payloads();
    const auto decl = std::find_if(decls.begin(), decls.end(),
                                   [&](const scenario::PayloadDecl& d) { return d.name() == run.payload(); });
    if (decl == decls.end()) {
      ctx.diag->add(at + ".payload", "no payload '{}' is declared", run.payload());
    } else if (decl->kind() != scenario::SCHEDULER) {
      ctx.diag->add(at + ".payload", "payload '{}' is not a scheduler (kind: SCHEDULER)", run.payload());
    }
  }

  // A gate waits at most an hour: a longer budget is a typo, and the host's
  // inactivity timeout would end the run first anyway.
  void gate(const scenario::Gate& gate, const std::string& at) {
    if (gate.timeout_ms() > kMaxGateMs) {
      ctx.diag->add(at + ".timeout_ms", "{} ms is more than the {} ms a gate may wait", gate.timeout_ms(),
                    kMaxGateMs);
    }
  }

  void check(const Op& op) {
    switch (op.kind_case()) {
      case Op::kAddCgroup: add_cgroup(op.add_cgroup(), field("add_cgroup")); break;
      case Op::kAddCgroupDef:
        check_cgroup_def(ctx, names, scope, op.add_cgroup_def(), field("add_cgroup_def"));
        break;
      case Op::kRemoveCgroup:
        if (auto removed = names.remove_cgroup(op.remove_cgroup(), path); !removed) {
          ctx.diag->add(field("remove_cgroup"), removed.error());
        }
        break;
      case Op::kStopCgroup:
        if (auto stopped = names.stop_cgroup(op.stop_cgroup(), path); !stopped) {
          ctx.diag->add(field("stop_cgroup"), stopped.error());
        }
        break;
      case Op::kSetCpuset: set_cpuset(op.set_cpuset()); break;
      case Op::kClearCpuset:
        if (auto* target = cgroup(op.clear_cpuset(), field("clear_cpuset"))) {
          target->cpus.reset();
        }
        break;
      case Op::kSwapCpusets: swap_cpusets(op.swap_cpusets()); break;
      case Op::kMoveAllTasks: move_all_tasks(op.move_all_tasks()); break;
      case Op::kSetAffinity: set_affinity(op.set_affinity()); break;
      case Op::kFreezeCgroup: cgroup(op.freeze_cgroup(), field("freeze_cgroup")); break;
      case Op::kUnfreezeCgroup: cgroup(op.unfreeze_cgroup(), field("unfreeze_cgroup")); break;
      case Op::kSpawn: spawn(op.spawn()); break;
      case Op::kRunPayload: run_payload(op.run_payload()); break;
      case Op::kWaitPayload: end_payload(op.wait_payload(), field("wait_payload")); break;
      case Op::kKillPayload: end_payload(op.kill_payload(), field("kill_payload")); break;
      case Op::kCaptureCgroupProcs: cgroup(op.capture_cgroup_procs(), field("capture_cgroup_procs")); break;
      case Op::kPinBpfMap:
        if (op.pin_bpf_map().empty()) {
          ctx.diag->add(field("pin_bpf_map"), "names no BPF map");
        }
        break;
      case Op::kAttachScheduler: scheduler_run(op.attach_scheduler(), field("attach_scheduler")); break;
      case Op::kReplaceScheduler: scheduler_run(op.replace_scheduler(), field("replace_scheduler")); break;
      case Op::kDetachScheduler:
      case Op::kRestartScheduler: break;
      case Op::kAwaitAccessorReady: gate(op.await_accessor_ready(), field("await_accessor_ready")); break;
      case Op::kWaitForMapWrite: gate(op.wait_for_map_write(), field("wait_for_map_write")); break;
      case Op::KIND_NOT_SET: ctx.diag->add(path, "the op does nothing: it names no kind"); break;
    }
  }
};

}  // namespace

void check_ops(const ValidationContext& ctx, ScenarioNames& names, Scope scope,
               const google::protobuf::RepeatedPtrField<scenario::Op>& ops, const std::string& prefix) {
  for (int i = 0; i < ops.size(); ++i) {
    OpCheck{ctx, names, scope, fmt::format("{}[{}]", prefix, i)}.check(ops.Get(i));
  }
}

}  // namespace kstep::host
