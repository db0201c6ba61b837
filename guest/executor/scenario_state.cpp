#include "guest/executor/scenario_state.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kstep::guest {
namespace {

// "web/frontend" is below "web"; "webby" is not.
bool is_same_or_below(std::string_view name, std::string_view ancestor) {
  return name == ancestor || (name.size() > ancestor.size() && name.substr(0, ancestor.size()) == ancestor &&
                              name[ancestor.size()] == '/');
}

std::string_view parent_of(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
}

template <class Entries, class Pred>
auto* find_step_first(Entries& entries, Pred matches) {
  for (const Owner owner : {Owner::kStep, Owner::kBackdrop}) {
    for (auto& entry : entries) {
      if (entry.owner == owner && matches(entry)) {
        return &entry;
      }
    }
  }
  return static_cast<decltype(&entries.front())>(nullptr);
}

}  // namespace

std::string_view to_string(Owner owner) noexcept {
  return owner == Owner::kBackdrop ? "the backdrop" : "the step";
}

ScenarioState::~ScenarioState() {
  // Only reached with entries left when an exception cut a run short: the
  // handles' destructors SIGKILL and reap, then the directories can go.
  try {
    while (!payloads_.empty()) {
      payloads_.pop_back();
    }
    workers_.clear();
    for (auto it = cgroups_list_.rbegin(); it != cgroups_list_.rend(); ++it) {
      (void)cgroups_->remove(it->name);
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor has no one left to tell
  }
}

// ---- cgroups

CgroupEntry* ScenarioState::find_cgroup(std::string_view name) {
  return find_step_first(cgroups_list_, [&](const CgroupEntry& entry) { return entry.name == name; });
}

const CgroupEntry* ScenarioState::find_cgroup(std::string_view name) const {
  return const_cast<ScenarioState*>(this)->find_cgroup(name);  // NOLINT: same lookup, read-only result
}

Result<CgroupEntry*> ScenarioState::add_cgroup(std::string name, Owner owner) {
  if (const auto* existing = find_cgroup(name)) {
    return fail("cgroup '{}' already exists (created by {})", name, to_string(existing->owner));
  }
  cgroups_list_.push_back(CgroupEntry{name, owner, {}});
  (void)report_entry(owner, name);
  return &cgroups_list_.back();
}

std::vector<unsigned> ScenarioState::effective_cpuset(std::string_view name) const {
  for (std::string_view current = name; !current.empty(); current = parent_of(current)) {
    if (const auto* entry = find_cgroup(current); entry != nullptr && !entry->cpuset.empty()) {
      return entry->cpuset;
    }
  }
  return {};
}

void ScenarioState::set_cpuset(std::string_view name, std::vector<unsigned> cpus) {
  if (auto* entry = find_cgroup(name)) {
    entry->cpuset = std::move(cpus);
  }
  for (auto& worker : workers_) {
    if (is_same_or_below(worker.cgroup, name)) {
      widen_allowed(worker);
    }
  }
}

Result<void> ScenarioState::remove_cgroup(std::string_view name, std::chrono::milliseconds grace) {
  const auto* entry = find_cgroup(name);
  if (entry == nullptr) {
    return fail("no cgroup '{}'", name);
  }
  for (const auto& other : cgroups_list_) {
    if (other.name != name && is_same_or_below(other.name, name)) {
      return fail("cgroup '{}' still has the child cgroup '{}'", name, other.name);
    }
  }
  stop_tasks_in(name, grace);
  KSTEP_TRY(cgroups_->remove(name));
  refresh_cpusets(draft(entry->owner));
  cgroups_list_.erase(cgroups_list_.begin() + (entry - cgroups_list_.data()));
  return {};
}

// ---- tasks

void ScenarioState::add_workers(Owner owner, std::string cgroup, std::unique_ptr<WorkerGroup> group) {
  workers_.push_back(WorkerEntry{owner, std::move(cgroup), std::move(group), false, {}});
  widen_allowed(workers_.back());
}

std::vector<WorkerGroup*> ScenarioState::workers_in(std::string_view cgroup) {
  std::vector<WorkerGroup*> groups;
  for (auto& worker : workers_) {
    if (worker.cgroup == cgroup) {
      groups.push_back(worker.group.get());
    }
  }
  return groups;
}

std::size_t ScenarioState::worker_count() const {
  std::size_t count = 0;
  for (const auto& worker : workers_) {
    count += worker.group->size();
  }
  return count;
}

std::uint64_t ScenarioState::total_iterations() const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) {
    total += worker.group->iterations();
  }
  return total;
}

bool ScenarioState::has_payload(std::string_view id) const {
  return std::any_of(payloads_.begin(), payloads_.end(),
                     [&](const PayloadEntry& entry) { return entry.id == id; });
}

void ScenarioState::add_payload(Owner owner, std::string id, std::string cgroup,
                                std::unique_ptr<Payload> payload) {
  payloads_.push_back(PayloadEntry{owner, std::move(id), std::move(cgroup), std::move(payload)});
}

Payload* ScenarioState::find_payload(std::string_view id) {
  auto* entry = find_step_first(payloads_, [&](const PayloadEntry& payload) { return payload.id == id; });
  return entry == nullptr ? nullptr : entry->payload.get();
}

void ScenarioState::retire_payload(std::string_view id, wire::PayloadReport report) {
  auto* entry = find_step_first(payloads_, [&](const PayloadEntry& payload) { return payload.id == id; });
  if (entry == nullptr) {
    return;
  }
  if (report.id().empty()) {
    report.set_id(entry->id);
  }
  if (report.cgroup().empty()) {
    report.set_cgroup(entry->cgroup);
  }
  *draft(entry->owner).report.add_payloads() = std::move(report);
  payloads_.erase(payloads_.begin() + (entry - payloads_.data()));
}

std::vector<pid_t> ScenarioState::pids_in(std::string_view cgroup) const {
  std::vector<pid_t> pids;
  for (const auto& worker : workers_) {
    if (worker.cgroup == cgroup) {
      const auto group_pids = worker.group->pids();
      pids.insert(pids.end(), group_pids.begin(), group_pids.end());
    }
  }
  for (const auto& payload : payloads_) {
    if (payload.cgroup == cgroup) {
      pids.push_back(payload.payload->pid());
    }
  }
  return pids;
}

Result<void> ScenarioState::check_move(std::string_view from, std::string_view to) const {
  const auto* source = find_cgroup(from);
  const auto* target = find_cgroup(to);
  if (source == nullptr || target == nullptr) {
    return fail("no cgroup '{}'", source == nullptr ? from : to);
  }
  if (target->owner == Owner::kBackdrop) {
    return {};
  }
  const auto backdrop_owned = [&](const auto& entry) {
    return entry.cgroup == from && entry.owner == Owner::kBackdrop;
  };
  if (std::any_of(workers_.begin(), workers_.end(), backdrop_owned) ||
      std::any_of(payloads_.begin(), payloads_.end(), backdrop_owned)) {
    return fail(
        "'{}' holds backdrop tasks and '{}' is a step cgroup: they would be stopped with the step, so the "
        "move "
        "is refused",
        from, to);
  }
  return {};
}

void ScenarioState::transfer(std::string_view from, std::string_view to) {
  const auto* target = find_cgroup(to);
  const bool to_backdrop = target != nullptr && target->owner == Owner::kBackdrop;
  for (auto& worker : workers_) {
    if (worker.cgroup == from) {
      worker.cgroup = std::string{to};
      worker.owner = to_backdrop ? Owner::kBackdrop : worker.owner;
      widen_allowed(worker);
    }
  }
  for (auto& payload : payloads_) {
    if (payload.cgroup == from) {
      payload.cgroup = std::string{to};
      payload.owner = to_backdrop ? Owner::kBackdrop : payload.owner;
    }
  }
}

void ScenarioState::kill_workers() {
  for (auto& entry : workers_) {
    entry.group->kill();
  }
}

void ScenarioState::stop_tasks_in(std::string_view cgroup, std::chrono::milliseconds grace) {
  unfreeze({std::string{cgroup}});
  for (auto i = payloads_.size(); i-- > 0;) {
    if (payloads_[i].cgroup == cgroup) {
      kill_payload(payloads_[i], payloads_[i].owner);
      payloads_.erase(payloads_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (auto i = workers_.size(); i-- > 0;) {
    if (workers_[i].cgroup == cgroup) {
      stop_worker(workers_[i], workers_[i].owner, grace);
      workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (const auto* entry = find_cgroup(cgroup)) {
    refresh_cpusets(draft(entry->owner));
  }
}

// ---- reports

void ScenarioState::record_capture(Owner into, std::string_view cgroup, const std::vector<pid_t>& pids) {
  auto& entry = report_entry(into, cgroup);
  for (const pid_t pid : pids) {
    entry.add_captured_procs(pid);
  }
}

Collected ScenarioState::collect(Owner owner, std::chrono::milliseconds grace) {
  const auto owned_cgroup = [&](std::string_view name) {
    const auto* entry = find_cgroup(name);
    return entry != nullptr && entry->owner == owner;
  };
  // A task of the other owner inside one of this owner's cgroups cannot
  // arise from the ops (check_move refuses it), but an rmdir must not fail
  // on it either, so it goes with the cgroup.
  const auto victim = [&](const auto& entry) { return entry.owner == owner || owned_cgroup(entry.cgroup); };

  std::set<std::string> involved;
  for (const auto& entry : cgroups_list_) {
    if (entry.owner == owner) {
      involved.insert(entry.name);
    }
  }
  for (const auto& worker : workers_) {
    if (victim(worker)) {
      involved.insert(worker.cgroup);
    }
  }
  for (const auto& payload : payloads_) {
    if (victim(payload)) {
      involved.insert(payload.cgroup);
    }
  }
  unfreeze(involved);

  // Newest payload first, as they were started.
  for (auto i = payloads_.size(); i-- > 0;) {
    if (victim(payloads_[i])) {
      kill_payload(payloads_[i], owner);
      payloads_.erase(payloads_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (auto i = workers_.size(); i-- > 0;) {
    if (victim(workers_[i])) {
      stop_worker(workers_[i], owner, grace);
      workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  auto& owned = draft(owner);
  refresh_cpusets(owned);

  Collected collected;
  // Children were created after their parents: reverse creation order
  // removes them first.
  for (auto i = cgroups_list_.size(); i-- > 0;) {
    if (cgroups_list_[i].owner != owner) {
      continue;
    }
    if (auto removed = cgroups_->remove(cgroups_list_[i].name); !removed) {
      collected.errors.push_back(std::move(removed).error());
    }
    // Forgotten either way: a directory that would not go is reported once,
    // not retried at every later boundary.
    cgroups_list_.erase(cgroups_list_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  collected.report = std::move(owned.report);
  collected.allowed_cpus = std::move(owned.allowed_cpus);
  owned = Draft{};
  return collected;
}

wire::CgroupReport& ScenarioState::report_entry(Owner owner, std::string_view cgroup) {
  auto& report = draft(owner).report;
  for (auto& entry : *report.mutable_cgroups()) {
    if (entry.cgroup() == cgroup) {
      return entry;
    }
  }
  auto& entry = *report.add_cgroups();
  entry.set_cgroup(std::string{cgroup});
  if (const auto* tracked = find_cgroup(cgroup)) {
    entry.mutable_cpuset()->Assign(tracked->cpuset.begin(), tracked->cpuset.end());
  }
  return entry;
}

void ScenarioState::refresh_cpusets(Draft& owned) const {
  for (auto& entry : *owned.report.mutable_cgroups()) {
    if (const auto* tracked = find_cgroup(entry.cgroup())) {
      entry.mutable_cpuset()->Assign(tracked->cpuset.begin(), tracked->cpuset.end());
    }
  }
}

void ScenarioState::widen_allowed(WorkerEntry& entry) const {
  const auto cpus = effective_cpuset(entry.cgroup);
  if (cpus.empty()) {
    entry.ever_unrestricted = true;
  } else {
    entry.allowed.insert(cpus.begin(), cpus.end());
  }
}

void ScenarioState::unfreeze(const std::set<std::string>& names) {
  // A frozen task does not run the handler of the workers' cooperative stop
  // signal until it is thawed, so it could not report; and an ancestor's
  // freeze holds its descendants too, hence the walk up.
  std::set<std::string> thaw;
  for (const auto& name : names) {
    for (std::string_view current = name; !current.empty(); current = parent_of(current)) {
      if (find_cgroup(current) != nullptr) {
        thaw.emplace(current);
      }
    }
  }
  for (const auto& name : thaw) {
    if (auto thawed = cgroups_->set_frozen(name, false, freeze_timeout_); !thawed) {
      warn_(fmt::format(
          "unfreezing cgroup '{}' before collection failed ({}): its frozen workers will report as "
          "killed",
          name, thawed.error().message));
    }
  }
}

void ScenarioState::stop_worker(WorkerEntry& entry, Owner report_to, std::chrono::milliseconds grace) {
  auto reports = entry.group->stop(grace);
  auto& cgroup_report = report_entry(report_to, entry.cgroup);
  auto& allowed = draft(report_to).allowed_cpus;
  for (auto& report : reports) {
    if (!entry.ever_unrestricted) {
      allowed[report.pid()] = std::vector<unsigned>(entry.allowed.begin(), entry.allowed.end());
    }
    *cgroup_report.add_workers() = std::move(report);
  }
}

void ScenarioState::kill_payload(PayloadEntry& entry, Owner report_to) {
  auto report = entry.payload->kill();
  if (report.id().empty()) {
    report.set_id(entry.id);
  }
  if (report.cgroup().empty()) {
    report.set_cgroup(entry.cgroup);
  }
  *draft(report_to).report.add_payloads() = std::move(report);
}

}  // namespace kstep::guest
