// The validator's model of what exists at each point of a scenario: which
// cgroups are live (and their cpusets), which payload runs can still be
// waited for or killed.
//
// Lifetimes follow the executor: backdrop cgroups and payloads live until
// the scenario ends (unless an op removes them), a step's own live until the
// step ends. Removal is remembered so that naming a removed cgroup says
// where it went, not just that it is unknown.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::host {

enum class Scope { backdrop, step };

struct CgroupState {
  Scope scope = Scope::step;
  std::string defined_at;                     // field path of the definition
  std::optional<std::vector<unsigned>> cpus;  // its own cpuset, resolved; none: inherits
  std::optional<std::vector<unsigned>> mems;  // its cpuset_mems nodes; none: inherits
  // Whose workers or payloads sit in it. Tasks a step starts belong to the
  // step even in a backdrop cgroup; tasks moved into a backdrop cgroup
  // become the backdrop's.
  bool backdrop_tasks = false;
  bool step_tasks = false;
};

// Kernel-side constraints on a cgroup name: path components of letters,
// digits, '_', '-' and '.', no empty, "." or ".." component.
[[nodiscard]] Result<void> check_cgroup_name(std::string_view name);

class ScenarioNames {
 public:
  ScenarioNames(std::vector<unsigned> online_cpus, std::vector<unsigned> numa_nodes);

  // Errors: the name is live already, or its parent is not.
  [[nodiscard]] Result<void> define_cgroup(const std::string& name, CgroupState state);
  // Errors: unknown name, or live children. Stops the cgroup's payloads.
  [[nodiscard]] Result<void> remove_cgroup(std::string_view name, std::string_view where);
  // Errors: unknown name. Stops the cgroup's workers and payloads.
  [[nodiscard]] Result<void> stop_cgroup(std::string_view name, std::string_view where);
  // The live cgroup, or an error saying why the name is not one.
  [[nodiscard]] Result<CgroupState*> find_cgroup(std::string_view name);
  // Workers or a payload started in `name` by `owner` (a live cgroup).
  void add_tasks(std::string_view name, Scope owner);
  // MoveAllTasks between two live cgroups. Errors: backdrop tasks would go
  // into a step cgroup, to die with the step (the executor refuses that).
  [[nodiscard]] Result<void> move_tasks(std::string_view from, std::string_view to);

  // The CPUs a live cgroup's tasks may use, as cgroup v2 computes
  // cpuset.cpus.effective: its own cpuset within its parent's (the parent's
  // when they do not meet), all online CPUs at the root.
  [[nodiscard]] std::vector<unsigned> effective_cpus(std::string_view name) const;
  // Likewise for memory nodes.
  [[nodiscard]] std::vector<unsigned> effective_mems(std::string_view name) const;

  // Errors: `id` is running already.
  [[nodiscard]] Result<void> start_payload(const std::string& id, std::string cgroup, Scope scope,
                                           std::string where);
  // WaitPayload and KillPayload. Errors: no such run is live.
  [[nodiscard]] Result<void> end_payload(std::string_view id, std::string_view where);

  // Ends a step: its cgroups, workers and payload runs go.
  void end_step(std::string_view step);

 private:
  struct PayloadRunState {
    std::string cgroup;
    Scope scope = Scope::step;
    std::string started_at;
  };

  [[nodiscard]] std::vector<std::string> live_cgroup_names() const;
  void stop_payloads_in(std::string_view cgroup, std::string_view why);

  std::vector<unsigned> online_cpus_;
  std::vector<unsigned> numa_nodes_;
  std::map<std::string, CgroupState, std::less<>> cgroups_;
  std::map<std::string, PayloadRunState, std::less<>> payloads_;
  // Why a name that was live is not any more ("removed by steps[0].ops[1]").
  std::map<std::string, std::string, std::less<>> gone_cgroups_;
  std::map<std::string, std::string, std::less<>> gone_payloads_;
};

}  // namespace kstep::host
