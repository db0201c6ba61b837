#include "guest/executor/op_applier.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/cpu_list.hpp"
#include "common/cpuset_spec.hpp"
#include "guest/cgroup/cgroup_knobs.hpp"
#include "guest/executor/cgroup_setup.hpp"
#include "guest/executor/detail.hpp"
#include "guest/executor/gates.hpp"

namespace kstep::guest {
namespace {

std::chrono::milliseconds gate_budget(const scenario::Gate& gate) {
  return gate.timeout_ms() != 0 ? std::chrono::milliseconds{gate.timeout_ms()} : kDefaultGateBudget;
}

Result<CgroupEntry*> tracked(RunContext& run, const std::string& name) {
  auto* entry = run.state.find_cgroup(name);
  if (entry == nullptr) {
    return fail("no cgroup '{}'", name);
  }
  return entry;
}

Result<std::vector<unsigned>> resolve(RunContext& run, const scenario::CpusetSpec& spec) {
  return in_context(resolve_cpuset(spec, run.env.topology), "cpuset");
}

// Writes (or, for no CPUs, clears) cpuset.cpus and records it.
Result<void> write_cpuset(RunContext& run, const std::string& name, std::vector<unsigned> cpus) {
  if (cpus.empty()) {
    KSTEP_TRY(clear_cpuset(run.env.cgroups, name));
  } else {
    KSTEP_TRY(run.env.cgroups.write(name, "cpuset.cpus", format_cpu_list(cpus)));
  }
  run.state.set_cpuset(name, std::move(cpus));
  return {};
}

Result<void> swap_cpusets(RunContext& run, const scenario::SwapCpusets& swap) {
  auto a = tracked(run, swap.a());
  KSTEP_TRY(a);
  auto b = tracked(run, swap.b());
  KSTEP_TRY(b);
  auto a_cpus = (*a)->cpuset;
  auto b_cpus = (*b)->cpuset;
  KSTEP_TRY(write_cpuset(run, swap.a(), std::move(b_cpus)));
  return write_cpuset(run, swap.b(), std::move(a_cpus));
}

Result<void> move_all_tasks(RunContext& run, const scenario::MoveAllTasks& move) {
  KSTEP_TRY(run.state.check_move(move.from(), move.to()));
  const auto known = run.state.pids_in(move.from());
  for (const pid_t pid : known) {
    KSTEP_TRY(run.env.cgroups.move(pid, move.to()));
  }
  // Processes the executor did not start itself (a payload's children)
  // must follow too, or `from` could never be removed. One of them may exit
  // between the read and the write: a warning, not a failure.
  if (auto listed = run.env.cgroups.procs(move.from()); listed) {
    for (const pid_t pid : *listed) {
      if (std::find(known.begin(), known.end(), pid) != known.end()) {
        continue;
      }
      if (auto moved = run.env.cgroups.move(pid, move.to()); !moved) {
        run.frames.log(wire::Log::WARN, fmt::format("move_all_tasks: pid {} of '{}' did not move: {}", pid,
                                                    move.from(), moved.error().message));
      }
    }
  } else {
    run.frames.log(wire::Log::WARN, fmt::format("move_all_tasks: could not list '{}': {}", move.from(),
                                                listed.error().message));
  }
  run.state.transfer(move.from(), move.to());
  return {};
}

Result<void> set_affinity(RunContext& run, const scenario::SetAffinity& affinity) {
  KSTEP_TRY(tracked(run, affinity.cgroup()));
  auto cpus = resolve(run, affinity.cpus());
  KSTEP_TRY(cpus);
  for (auto* group : run.state.workers_in(affinity.cgroup())) {
    KSTEP_TRY(group->set_affinity(*cpus));
  }
  return {};
}

Result<void> set_frozen(RunContext& run, const std::string& name, bool frozen) {
  KSTEP_TRY(tracked(run, name));
  return run.env.cgroups.set_frozen(name, frozen, kFreezeTimeout);
}

std::string describe_exit(const wire::PayloadReport& report) {
  if (report.signal() != 0) {
    return fmt::format("was killed by signal {}", report.signal());
  }
  return fmt::format("exited with code {}", report.exit_code());
}

Result<void> wait_payload(RunContext& run, const Phase& phase, const std::string& id) {
  auto* payload = run.state.find_payload(id);
  if (payload == nullptr) {
    return fail("no running payload '{}'", id);
  }
  const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(run.time_left()),
                             std::chrono::milliseconds::zero());
  auto report = payload->wait(left);
  if (!report) {
    return fail("payload '{}' still runs at the scenario's deadline ({} ms): {}", id, left.count(),
                report.error().message);
  }
  if (report->exit_code() != 0 || report->signal() != 0) {
    phase.details.push_back(
        make_detail(wire::Detail::PAYLOAD_FAILED, phase.step, report->cgroup(),
                    fmt::format("payload '{}' (id '{}') {}", report->payload(), id, describe_exit(*report)),
                    run.frames.narrow(run.elapsed_ms(), "Detail.elapsed_ms")));
  }
  run.state.retire_payload(id, std::move(*report));
  return {};
}

Result<void> kill_payload(RunContext& run, const std::string& id) {
  auto* payload = run.state.find_payload(id);
  if (payload == nullptr) {
    return fail("no running payload '{}'", id);
  }
  run.state.retire_payload(id, payload->kill());
  return {};
}

Result<void> capture_procs(RunContext& run, const Phase& phase, const std::string& name) {
  KSTEP_TRY(tracked(run, name));
  auto pids = run.env.cgroups.procs(name);
  KSTEP_TRY(pids);
  run.state.record_capture(phase.owner, name, *pids);
  return {};
}

std::chrono::milliseconds stop_grace(const RunContext& run) {
  return run.env.worker_stop_grace;
}

// The binary a SchedulerRun names: a PayloadDecl of kind SCHEDULER.
Result<SchedulerRequest> scheduler_request(const RunContext& run, const scenario::SchedulerRun& spec) {
  for (const auto& decl : run.scenario.payloads()) {
    if (decl.name() != spec.payload()) {
      continue;
    }
    if (decl.kind() != scenario::SCHEDULER) {
      return fail("payload '{}' is not a scheduler (kind SCHEDULER)", spec.payload());
    }
    const auto path = run.env.payload_paths.find(decl.name());
    if (path == run.env.payload_paths.end()) {
      return fail("scheduler '{}' is not in the initramfs", decl.name());
    }
    SchedulerRequest request;
    request.name = decl.name();
    request.guest_path = path->second;
    request.args.assign(spec.args().begin(), spec.args().end());
    request.attach_timeout = run.env.scheduler_attach_timeout;
    return request;
  }
  return fail("no payload '{}'", spec.payload());
}

}  // namespace

std::string_view op_name(const scenario::Op& op) {
  const auto* field = scenario::Op::descriptor()->FindFieldByNumber(static_cast<int>(op.kind_case()));
  return field == nullptr ? std::string_view{"unset"} : std::string_view{field->name()};
}

std::uint64_t op_kind_bits(const Ops& ops) {
  std::uint64_t bits = 0;
  for (const auto& op : ops) {
    const auto kind = static_cast<unsigned>(op.kind_case());
    if (kind > 0 && kind < 64) {
      bits |= std::uint64_t{1} << kind;
    }
  }
  return bits;
}

Result<void> apply_op(RunContext& run, const Phase& phase, const scenario::Op& op) {
  using scenario::Op;
  switch (op.kind_case()) {
    case Op::kAddCgroup: return add_cgroup(run, phase, op.add_cgroup());
    case Op::kAddCgroupDef: return apply_cgroup_def(run, phase, op.add_cgroup_def());
    case Op::kRemoveCgroup:
      KSTEP_TRY(tracked(run, op.remove_cgroup()));
      return run.state.remove_cgroup(op.remove_cgroup(), stop_grace(run));
    case Op::kStopCgroup:
      KSTEP_TRY(tracked(run, op.stop_cgroup()));
      run.state.stop_tasks_in(op.stop_cgroup(), stop_grace(run));
      return {};
    case Op::kSetCpuset: {
      KSTEP_TRY(tracked(run, op.set_cpuset().cgroup()));
      auto cpus = resolve(run, op.set_cpuset().cpuset());
      KSTEP_TRY(cpus);
      return write_cpuset(run, op.set_cpuset().cgroup(), std::move(*cpus));
    }
    case Op::kClearCpuset:
      KSTEP_TRY(tracked(run, op.clear_cpuset()));
      return write_cpuset(run, op.clear_cpuset(), {});
    case Op::kSwapCpusets: return swap_cpusets(run, op.swap_cpusets());
    case Op::kMoveAllTasks: return move_all_tasks(run, op.move_all_tasks());
    case Op::kSetAffinity: return set_affinity(run, op.set_affinity());
    case Op::kFreezeCgroup: return set_frozen(run, op.freeze_cgroup(), true);
    case Op::kUnfreezeCgroup: return set_frozen(run, op.unfreeze_cgroup(), false);
    case Op::kSpawn: return spawn_workers(run, phase, op.spawn().cgroup(), op.spawn().workers());
    case Op::kRunPayload: return start_payload(run, phase, op.run_payload().cgroup(), op.run_payload().run());
    case Op::kWaitPayload: return wait_payload(run, phase, op.wait_payload());
    case Op::kKillPayload: return kill_payload(run, op.kill_payload());
    case Op::kCaptureCgroupProcs: return capture_procs(run, phase, op.capture_cgroup_procs());
    case Op::kPinBpfMap:
      run.frames.log(wire::Log::WARN, fmt::format("pin_bpf_map '{}' ignored: BPF map access comes with the "
                                                  "map catalog",
                                                  op.pin_bpf_map()));
      return {};
    case Op::kAttachScheduler: {
      auto request = scheduler_request(run, op.attach_scheduler());
      KSTEP_TRY(request);
      return run.scheduler.attach(*request, phase.step);
    }
    case Op::kDetachScheduler: return run.scheduler.detach(phase.step);
    case Op::kReplaceScheduler: {
      auto request = scheduler_request(run, op.replace_scheduler());
      KSTEP_TRY(request);
      return run.scheduler.replace(*request, phase.step);
    }
    case Op::kRestartScheduler: return run.scheduler.restart(phase.step);
    case Op::kAwaitAccessorReady:
      return await_gate(run, phase.step, GateKind::kAccessorReady, gate_budget(op.await_accessor_ready()));
    case Op::kWaitForMapWrite:
      return await_gate(run, phase.step, GateKind::kMapWrite, gate_budget(op.wait_for_map_write()));
    case Op::KIND_NOT_SET: break;
  }
  return fail("the op has no kind");
}

Result<void> apply_ops(RunContext& run, const Phase& phase, const Ops& ops) {
  for (int i = 0; i < ops.size(); ++i) {
    KSTEP_TRY(
        in_context(apply_op(run, phase, ops.Get(i)), fmt::format("op {} ({})", i + 1, op_name(ops.Get(i)))));
  }
  return {};
}

}  // namespace kstep::guest
