// ScenarioState: what a running scenario owns, and who owns it.
//
// Two owners. The backdrop's cgroups, workers and payloads live for the
// whole scenario; the current step's are torn down at the step's boundary,
// on success and error paths alike. Every entry carries its owner; cgroup
// names and payload ids are unique across both owners, and lookups search
// the step's entries first, then the backdrop's.
//
// Ownership rules (the seed's):
//  - what a step creates belongs to the step, even in a backdrop cgroup: a
//    Spawn into a backdrop cgroup ends with the step;
//  - moving tasks into a backdrop cgroup hands them to the backdrop, so they
//    live as long as the cgroup they now sit in;
//  - moving backdrop tasks into a step cgroup is refused: they would die at
//    the step's teardown, or keep its rmdir from succeeding.
//
// Reports are drafted per owner as things stop (an early StopCgroup, a
// waited payload, the teardown) and handed out by collect(). Each cgroup
// gets its CgroupReport when it is created, so reports list cgroups in
// creation order, workers or not.
//
// The destructor is the exception-path backstop: it kills what still runs
// and removes what is still tracked, without reports.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "guest/cgroup/cgroup_fs.hpp"
#include "guest/executor/executor_ports.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

enum class Owner : std::uint8_t { kBackdrop = 0, kStep = 1 };

[[nodiscard]] std::string_view to_string(Owner owner) noexcept;

struct CgroupEntry {
  std::string name;
  Owner owner = Owner::kStep;
  std::vector<unsigned> cpuset;  // resolved cpuset.cpus; empty: unrestricted
};

// A worker pid mapped to every CPU it was allowed on during its life; a pid
// that was ever unrestricted is absent (the isolation check skips it).
using AllowedCpus = std::map<std::int32_t, std::vector<unsigned>>;

// What a teardown produced for one owner.
struct Collected {
  wire::StepReport report;  // cgroups with their worker reports, payload reports; no details
  AllowedCpus allowed_cpus;
  std::vector<Error> errors;  // what teardown left behind (a cgroup directory)
};

class ScenarioState {
 public:
  // Told about trouble that leaves nothing behind (an unfreeze that failed:
  // frozen workers then report as killed).
  using Warn = std::function<void(std::string)>;

  // `freeze_timeout` bounds each unfreeze before collection.
  ScenarioState(CgroupFs& cgroups, std::chrono::milliseconds freeze_timeout, Warn warn)
      : cgroups_(&cgroups), freeze_timeout_(freeze_timeout), warn_(std::move(warn)) {}
  ScenarioState(const ScenarioState&) = delete;
  ScenarioState& operator=(const ScenarioState&) = delete;
  ~ScenarioState();

  // ---- cgroups (entry pointers stay valid until the next add or remove)
  [[nodiscard]] CgroupEntry* find_cgroup(std::string_view name);
  [[nodiscard]] const CgroupEntry* find_cgroup(std::string_view name) const;
  // Tracks a cgroup the caller created; a tracked name is an error.
  [[nodiscard]] Result<CgroupEntry*> add_cgroup(std::string name, Owner owner);
  // Its own cpuset, else the nearest tracked ancestor's; empty: unrestricted.
  [[nodiscard]] std::vector<unsigned> effective_cpuset(std::string_view name) const;
  // Records a cpuset.cpus the caller wrote (empty: cleared).
  void set_cpuset(std::string_view name, std::vector<unsigned> cpus);
  // Stops the cgroup's tasks, rmdirs it and forgets it. The reports of its
  // tasks go to their owners' drafts.
  [[nodiscard]] Result<void> remove_cgroup(std::string_view name, std::chrono::milliseconds grace);
  [[nodiscard]] std::size_t cgroup_count() const noexcept { return cgroups_list_.size(); }

  // ---- tasks
  void add_workers(Owner owner, std::string cgroup, std::unique_ptr<WorkerGroup> group);
  [[nodiscard]] std::vector<WorkerGroup*> workers_in(std::string_view cgroup);
  [[nodiscard]] std::size_t worker_count() const;
  // Summed over every live group, read now.
  [[nodiscard]] std::uint64_t total_iterations() const;

  [[nodiscard]] bool has_payload(std::string_view id) const;
  void add_payload(Owner owner, std::string id, std::string cgroup, std::unique_ptr<Payload> payload);
  // The live payload called `id`, step first; nullptr when there is none.
  [[nodiscard]] Payload* find_payload(std::string_view id);
  // Forgets the payload `id` (it exited or was killed), keeping its report.
  void retire_payload(std::string_view id, wire::PayloadReport report);

  // Pids of the workers and payloads in `cgroup`.
  [[nodiscard]] std::vector<pid_t> pids_in(std::string_view cgroup) const;
  // Refuses a MoveAllTasks that would put backdrop tasks into a step cgroup.
  [[nodiscard]] Result<void> check_move(std::string_view from, std::string_view to) const;
  // After the kernel moved them: the tasks of `from` now sit in `to`, and
  // belong to the backdrop if `to` does.
  void transfer(std::string_view from, std::string_view to);

  // SIGKILLs every worker now, whoever owns it (the scheduler died:
  // collection must not starve behind fallback scheduling). Their reports
  // still come out of collect().
  void kill_workers();

  // Unfreezes, stops the workers and kills the payloads in `cgroup`,
  // whoever owns them; the cgroup stays.
  void stop_tasks_in(std::string_view cgroup, std::chrono::milliseconds grace);

  // ---- reports
  void record_capture(Owner into, std::string_view cgroup, const std::vector<pid_t>& pids);
  // Tears down everything `owner` owns: unfreezes the cgroups involved,
  // kills payloads (their reports kept), stops workers (their reports
  // collected), removes the owner's cgroups children first. Returns the
  // owner's draft, which starts over empty.
  [[nodiscard]] Collected collect(Owner owner, std::chrono::milliseconds grace);

 private:
  struct WorkerEntry {
    Owner owner;
    std::string cgroup;
    std::unique_ptr<WorkerGroup> group;
    bool ever_unrestricted = false;
    std::set<unsigned> allowed;  // union of the cpusets it ran under
  };
  struct PayloadEntry {
    Owner owner;
    std::string id;
    std::string cgroup;
    std::unique_ptr<Payload> payload;
  };
  struct Draft {
    wire::StepReport report;
    AllowedCpus allowed_cpus;
  };

  Draft& draft(Owner owner) { return drafts_.at(static_cast<std::size_t>(owner)); }
  wire::CgroupReport& report_entry(Owner owner, std::string_view cgroup);
  void widen_allowed(WorkerEntry& entry) const;
  // Unfreezes each of `names` and its tracked ancestors once.
  void unfreeze(const std::set<std::string>& names);
  void refresh_cpusets(Draft& draft) const;
  void stop_worker(WorkerEntry& entry, Owner report_to, std::chrono::milliseconds grace);
  void kill_payload(PayloadEntry& entry, Owner report_to);

  CgroupFs* cgroups_;
  std::chrono::milliseconds freeze_timeout_;
  Warn warn_;
  std::vector<CgroupEntry> cgroups_list_;  // creation order: parents before children
  std::vector<WorkerEntry> workers_;
  std::vector<PayloadEntry> payloads_;
  std::array<Draft, 2> drafts_;
};

}  // namespace kstep::guest
