#include "host/scenario/scenario_names.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "host/scenario/validation_context.hpp"

namespace kstep::host {
namespace {

// NAME_MAX: each component becomes a directory under /sys/fs/cgroup.
constexpr std::size_t kMaxComponent = 255;

std::string_view parent_of(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
}

bool allowed_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

template <class Member>
std::vector<unsigned> effective(const std::map<std::string, CgroupState, std::less<>>& cgroups,
                                std::string_view name, Member member, const std::vector<unsigned>& root) {
  const auto parent = parent_of(name);
  auto inherited = parent.empty() ? root : effective(cgroups, parent, member, root);
  const auto it = cgroups.find(name);
  if (it == cgroups.end() || !(it->second.*member)) {
    return inherited;
  }
  const auto& own = *(it->second.*member);
  std::vector<unsigned> both;
  std::set_intersection(own.begin(), own.end(), inherited.begin(), inherited.end(), std::back_inserter(both));
  return both.empty() ? inherited : both;
}

}  // namespace

Result<void> check_cgroup_name(std::string_view name) {
  if (name.empty()) {
    return fail("a cgroup needs a name");
  }
  if (name.front() == '/') {
    return fail("cgroup '{}': names are relative to the scenario's cgroup root, drop the leading '/'", name);
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('/', start), name.size());
    const auto component = name.substr(start, end - start);
    if (component.empty()) {
      return fail("cgroup '{}' has an empty path component (a doubled or trailing '/')", name);
    }
    if (component == "." || component == "..") {
      return fail("cgroup '{}': '{}' cannot be a path component", name, component);
    }
    if (component.size() > kMaxComponent) {
      return fail("cgroup '{}': a path component may have at most {} characters", name, kMaxComponent);
    }
    if (const auto bad = std::find_if_not(component.begin(), component.end(), allowed_char);
        bad != component.end()) {
      return fail("cgroup '{}': character '{}' is not allowed (letters, digits, '_', '-', '.' and '/')", name,
                  *bad);
    }
    start = end + 1;
  }
  return {};
}

ScenarioNames::ScenarioNames(std::vector<unsigned> online_cpus, std::vector<unsigned> numa_nodes)
    : online_cpus_(std::move(online_cpus)), numa_nodes_(std::move(numa_nodes)) {}

std::vector<std::string> ScenarioNames::live_cgroup_names() const {
  std::vector<std::string> names;
  names.reserve(cgroups_.size());
  for (const auto& [name, state] : cgroups_) {
    names.push_back(name);
  }
  return names;
}

Result<void> ScenarioNames::define_cgroup(const std::string& name, CgroupState state) {
  if (const auto it = cgroups_.find(name); it != cgroups_.end()) {
    if (it->second.scope == Scope::backdrop && state.scope == Scope::step) {
      return fail(
          "cgroup '{}' is a backdrop cgroup (defined by {}) that lives for the whole scenario: "
          "a step cgroup needs another name",
          name, it->second.defined_at);
    }
    return fail("cgroup '{}' is already defined by {} and still live", name, it->second.defined_at);
  }
  if (const auto parent = parent_of(name); !parent.empty() && !cgroups_.contains(parent)) {
    const auto gone = gone_cgroups_.find(parent);
    return fail("cgroup '{}' needs its parent '{}' defined first{}", name, parent,
                gone == gone_cgroups_.end() ? "" : fmt::format(" (it no longer exists: {})", gone->second));
  }
  gone_cgroups_.erase(name);
  cgroups_.emplace(name, std::move(state));
  return {};
}

Result<CgroupState*> ScenarioNames::find_cgroup(std::string_view name) {
  if (name.empty()) {
    return fail("names no cgroup");
  }
  if (const auto it = cgroups_.find(name); it != cgroups_.end()) {
    return &it->second;
  }
  if (const auto gone = gone_cgroups_.find(name); gone != gone_cgroups_.end()) {
    return fail("cgroup '{}' no longer exists: {}", name, gone->second);
  }
  return fail("unknown cgroup '{}': live cgroups here are {}", name, join_or(live_cgroup_names(), "none"));
}

Result<void> ScenarioNames::remove_cgroup(std::string_view name, std::string_view where) {
  auto found = find_cgroup(name);
  if (!found) {
    return Unexpected{std::move(found).error()};
  }
  const std::string prefix = fmt::format("{}/", name);
  std::vector<std::string> children;
  for (const auto& [other, state] : cgroups_) {
    if (other.starts_with(prefix)) {
      children.push_back(other);
    }
  }
  if (!children.empty()) {
    return fail("cgroup '{}' still has child cgroups ({}): remove them first", name, join_or(children, ""));
  }
  const std::string why = fmt::format("removed by {}", where);
  stop_payloads_in(name, fmt::format("its cgroup '{}' was {}", name, why));
  cgroups_.erase(cgroups_.find(name));
  gone_cgroups_.insert_or_assign(std::string{name}, why);
  return {};
}

Result<void> ScenarioNames::stop_cgroup(std::string_view name, std::string_view where) {
  auto found = find_cgroup(name);
  if (!found) {
    return Unexpected{std::move(found).error()};
  }
  (*found)->backdrop_tasks = false;
  (*found)->step_tasks = false;
  stop_payloads_in(name, fmt::format("its cgroup '{}' was stopped by {}", name, where));
  return {};
}

void ScenarioNames::add_tasks(std::string_view name, Scope owner) {
  if (const auto it = cgroups_.find(name); it != cgroups_.end()) {
    (owner == Scope::backdrop ? it->second.backdrop_tasks : it->second.step_tasks) = true;
  }
}

Result<void> ScenarioNames::move_tasks(std::string_view from, std::string_view to) {
  const auto source = cgroups_.find(from);
  const auto target = cgroups_.find(to);
  if (source == cgroups_.end() || target == cgroups_.end()) {
    return fail("moves tasks between cgroups that are not both live");
  }
  const bool into_backdrop = target->second.scope == Scope::backdrop;
  if (source->second.backdrop_tasks && !into_backdrop) {
    return fail(
        "cgroup '{}' holds backdrop workers and '{}' is a step cgroup: they would die with the step, so "
        "the move is refused",
        from, to);
  }
  if (into_backdrop) {
    target->second.backdrop_tasks |= source->second.backdrop_tasks || source->second.step_tasks;
  } else {
    target->second.step_tasks |= source->second.step_tasks;
  }
  source->second.backdrop_tasks = false;
  source->second.step_tasks = false;
  // Payloads move too, and a backdrop cgroup adopts them.
  for (auto& [id, run] : payloads_) {
    if (run.cgroup == from) {
      run.cgroup = std::string{to};
      run.scope = into_backdrop ? Scope::backdrop : run.scope;
    }
  }
  return {};
}

std::vector<unsigned> ScenarioNames::effective_cpus(std::string_view name) const {
  return effective(cgroups_, name, &CgroupState::cpus, online_cpus_);
}

std::vector<unsigned> ScenarioNames::effective_mems(std::string_view name) const {
  return effective(cgroups_, name, &CgroupState::mems, numa_nodes_);
}

Result<void> ScenarioNames::start_payload(const std::string& id, std::string cgroup, Scope scope,
                                          std::string where) {
  if (const auto it = payloads_.find(id); it != payloads_.end()) {
    return fail("payload run '{}' is still running (started by {}): give this run its own id", id,
                it->second.started_at);
  }
  gone_payloads_.erase(id);
  payloads_.emplace(id, PayloadRunState{std::move(cgroup), scope, std::move(where)});
  return {};
}

Result<void> ScenarioNames::end_payload(std::string_view id, std::string_view where) {
  if (id.empty()) {
    return fail("names no payload run id");
  }
  if (const auto it = payloads_.find(id); it != payloads_.end()) {
    payloads_.erase(it);
    gone_payloads_.insert_or_assign(std::string{id}, fmt::format("it was ended by {}", where));
    return {};
  }
  if (const auto gone = gone_payloads_.find(id); gone != gone_payloads_.end()) {
    return fail("payload run '{}' is no longer running: {}", id, gone->second);
  }
  std::vector<std::string> running;
  for (const auto& [name, run] : payloads_) {
    running.push_back(name);
  }
  return fail("unknown payload run '{}': running here are {}", id, join_or(running, "none"));
}

void ScenarioNames::stop_payloads_in(std::string_view cgroup, std::string_view why) {
  for (auto it = payloads_.begin(); it != payloads_.end();) {
    if (it->second.cgroup == cgroup) {
      gone_payloads_.insert_or_assign(it->first, std::string{why});
      it = payloads_.erase(it);
    } else {
      ++it;
    }
  }
}

void ScenarioNames::end_step(std::string_view step) {
  for (auto it = cgroups_.begin(); it != cgroups_.end();) {
    if (it->second.scope == Scope::backdrop) {
      it->second.step_tasks = false;
      ++it;
      continue;
    }
    gone_cgroups_.insert_or_assign(it->first,
                                   fmt::format("it belonged to {} and was removed at its end", step));
    it = cgroups_.erase(it);
  }
  for (auto it = payloads_.begin(); it != payloads_.end();) {
    if (it->second.scope == Scope::step) {
      gone_payloads_.insert_or_assign(it->first,
                                      fmt::format("it belonged to {} and was killed at its end", step));
      it = payloads_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace kstep::host
