#include "guest/cgroup/cgroup_knobs.hpp"

#include <fmt/format.h>

#include "common/cgroup_values.hpp"
#include "common/cpu_list.hpp"

namespace kstep::guest {
namespace {

constexpr std::string_view kCpuset = "cpuset";
constexpr std::string_view kCpu = "cpu";
constexpr std::string_view kMemory = "memory";
constexpr std::string_view kIo = "io";
constexpr std::string_view kPids = "pids";

// A memory knob: the CgroupDef field and the file it lands in.
struct MemoryKnob {
  const std::string& (scenario::CgroupDef::*field)() const;
  std::string_view file;
};

const MemoryKnob kMemoryKnobs[] = {
    {&scenario::CgroupDef::memory_max, "memory.max"},
    {&scenario::CgroupDef::memory_high, "memory.high"},
    {&scenario::CgroupDef::memory_low, "memory.low"},
    {&scenario::CgroupDef::memory_swap_max, "memory.swap.max"},
};

Unexpected<Error> knob_error(std::string_view name, std::string_view file, const Error& error) {
  return Unexpected{error.context(fmt::format("cgroup '{}' {}", name, file))};
}

void add_def(std::set<std::string>& controllers, const scenario::CgroupDef& def) {
  if (def.has_cpuset() || !def.cpuset_mems().empty()) {
    controllers.emplace(kCpuset);
  }
  if (def.has_cpu_max() || def.cpu_weight() != 0) {
    controllers.emplace(kCpu);
  }
  for (const auto& knob : kMemoryKnobs) {
    if (!(def.*knob.field)().empty()) {
      controllers.emplace(kMemory);
    }
  }
  if (def.io_weight() != 0) {
    controllers.emplace(kIo);
  }
  if (!def.pids_max().empty()) {
    controllers.emplace(kPids);
  }
}

void add_op(std::set<std::string>& controllers, const scenario::Op& op) {
  switch (op.kind_case()) {
    case scenario::Op::kSetCpuset:
    case scenario::Op::kClearCpuset:
    case scenario::Op::kSwapCpusets: controllers.emplace(kCpuset); break;
    case scenario::Op::kAddCgroupDef: add_def(controllers, op.add_cgroup_def()); break;
    // Everything else is cgroup core (mkdir, rmdir, cgroup.procs,
    // cgroup.freeze) or not a cgroup file at all (affinity, payloads).
    default: break;
  }
}

std::string_view parent_of(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
}

}  // namespace

Result<std::vector<KnobWrite>> knob_writes(std::string_view name, const scenario::CgroupDef& def,
                                           const std::vector<unsigned>& cpus) {
  std::vector<KnobWrite> writes;
  if (!cpus.empty()) {
    writes.push_back({"cpuset.cpus", format_cpu_list(cpus)});
  }
  if (!def.cpuset_mems().empty()) {
    // Node lists share the CPU list syntax.
    auto nodes = parse_cpu_list(def.cpuset_mems());
    if (!nodes) {
      return fail("cgroup '{}' cpuset.mems: cpuset_mems '{}' is not a NUMA node list like \"0-1,3\"", name,
                  def.cpuset_mems());
    }
    if (nodes->empty()) {
      return fail("cgroup '{}' cpuset.mems: cpuset_mems '{}' names no NUMA node", name, def.cpuset_mems());
    }
    writes.push_back({"cpuset.mems", format_cpu_list(*nodes)});
  }
  if (def.has_cpu_max()) {
    auto value = cpu_max_knob_value(def.cpu_max());
    if (!value) {
      return knob_error(name, "cpu.max", value.error());
    }
    writes.push_back({"cpu.max", std::move(*value)});
  }
  if (def.cpu_weight() != 0) {
    if (auto ok = check_weight(def.cpu_weight(), "cpu_weight"); !ok) {
      return knob_error(name, "cpu.weight", ok.error());
    }
    writes.push_back({"cpu.weight", std::to_string(def.cpu_weight())});
  }
  for (const auto& knob : kMemoryKnobs) {
    const std::string& text = (def.*knob.field)();
    if (text.empty()) {
      continue;
    }
    auto value = memory_knob_value(text);
    if (!value) {
      return knob_error(name, knob.file, value.error());
    }
    writes.push_back({std::string{knob.file}, std::move(*value)});
  }
  if (def.io_weight() != 0) {
    if (auto ok = check_weight(def.io_weight(), "io_weight"); !ok) {
      return knob_error(name, "io.weight", ok.error());
    }
    // io.weight is keyed: "default N" sets the weight of every device
    // without its own "MAJ:MIN N" line.
    writes.push_back({"io.weight", fmt::format("default {}", def.io_weight())});
  }
  if (!def.pids_max().empty()) {
    auto value = pids_knob_value(def.pids_max());
    if (!value) {
      return knob_error(name, "pids.max", value.error());
    }
    writes.push_back({"pids.max", std::move(*value)});
  }
  return writes;
}

Result<void> apply_cgroup_knobs(CgroupFs& fs, std::string_view name, const scenario::CgroupDef& def,
                                const std::vector<unsigned>& cpus) {
  auto writes = knob_writes(name, def, cpus);
  if (!writes) {
    return Unexpected{std::move(writes).error()};
  }
  for (const auto& write : *writes) {
    if (auto written = fs.write(name, write.file, write.value); !written) {
      return Unexpected{written.error().context(fmt::format("setting {} of cgroup '{}'", write.file, name))};
    }
  }
  return {};
}

Result<void> clear_cpuset(CgroupFs& fs, std::string_view name) {
  if (auto written = fs.write(name, "cpuset.cpus", ""); !written) {
    return Unexpected{written.error().context(fmt::format("clearing the cpuset of cgroup '{}'", name))};
  }
  return {};
}

std::set<std::string> controllers_needed(const scenario::Scenario& scenario) {
  std::set<std::string> controllers;
  for (const auto& def : scenario.backdrop().cgroups()) {
    add_def(controllers, def);
  }
  for (const auto& op : scenario.backdrop().ops()) {
    add_op(controllers, op);
  }
  for (const auto& step : scenario.steps()) {
    for (const auto& def : step.setup()) {
      add_def(controllers, def);
    }
    for (const auto& op : step.ops()) {
      add_op(controllers, op);
    }
  }
  return controllers;
}

Result<void> create_cgroup(CgroupFs& fs, std::string_view name, const std::set<std::string>& controllers) {
  // A missing parent is create()'s error to report, in its words.
  if (const std::string_view parent = parent_of(name); fs.exists(parent)) {
    if (auto enabled = fs.enable_controllers(parent, controllers); !enabled) {
      return Unexpected{enabled.error().context(fmt::format("creating cgroup '{}'", name))};
    }
  }
  return fs.create(name);
}

}  // namespace kstep::guest
