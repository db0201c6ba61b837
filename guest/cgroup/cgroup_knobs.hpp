// From a scenario's CgroupDef to cgroup v2 files: which knob files it sets,
// with which values, in which order, and which controllers must be enabled
// in cgroup.subtree_control for those files to exist.
//
// Only the controllers a scenario needs are enabled: every enabled
// controller has a cost in the kernel (and a scenario may want to run
// without one), and a cgroup with controllers in its subtree_control may
// not hold processes of its own. Freezing and moving tasks are cgroup core
// (cgroup.freeze, cgroup.procs) and need none.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "guest/cgroup/cgroup_fs.hpp"
#include "scenario.pb.h"

namespace kstep::guest {

// One write into a cgroup: `value` into the file `file`.
struct KnobWrite {
  std::string file;
  std::string value;

  friend bool operator==(const KnobWrite&, const KnobWrite&) = default;
};

// The writes `def` implies, in a fixed order: cpuset.cpus, cpuset.mems
// (the order cpuset has always been configured in), then cpu, memory, io
// and pids knobs, so every run writes the same sequence.
// Every value is checked first, so a bad def fails before anything is
// written. `cpus`: the resolved cpuset (empty: def sets no cpuset). Errors
// name the cgroup, the knob and the value.
[[nodiscard]] Result<std::vector<KnobWrite>> knob_writes(std::string_view name,
                                                         const scenario::CgroupDef& def,
                                                         const std::vector<unsigned>& cpus);

// Writes every knob `def` sets; `cpus`: the resolved cpuset (empty: def
// sets no cpuset). Nothing is written when a value is bad.
[[nodiscard]] Result<void> apply_cgroup_knobs(CgroupFs& fs, std::string_view name,
                                              const scenario::CgroupDef& def,
                                              const std::vector<unsigned>& cpus);

// Empties cpuset.cpus: the cgroup falls back to its parent's CPUs.
[[nodiscard]] Result<void> clear_cpuset(CgroupFs& fs, std::string_view name);

// The union of controllers the whole scenario needs: the knobs of every
// CgroupDef (backdrop, step setups, add_cgroup_def ops) and cpuset for the
// set_cpuset, clear_cpuset and swap_cpusets ops. Freezing, moving tasks and
// workers need none.
[[nodiscard]] std::set<std::string> controllers_needed(const scenario::Scenario& scenario);

// Creates `name` after writing "+c" for each of `controllers` into its
// parent's cgroup.subtree_control (the CgroupFs root for a top-level
// cgroup), so the new cgroup has the knob files. Called for every cgroup as
// it is created, this enables the controllers on the root and on every
// intermediate parent of nested cgroups, and never on a leaf, which may then
// hold processes. Enabling twice is a no-op for the kernel.
[[nodiscard]] Result<void> create_cgroup(CgroupFs& fs, std::string_view name,
                                         const std::set<std::string>& controllers);

}  // namespace kstep::guest
