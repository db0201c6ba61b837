// Resolving a scenario's CpusetSpec to concrete CPUs against a topology.
//
// One function for both sides: the host validates scenarios against the
// topology it will boot (so "LLC 3 of a 2-LLC machine" fails before any VM
// starts), the guest resolves them against the topology it reads from sysfs.
// Same code, same answer.
#pragma once

#include <vector>

#include "common/result.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep {

// The CPUs `spec` selects among `topology.cpus`, sorted. Errors say why the
// topology cannot satisfy the spec ("LLC 2 does not exist: 2 LLCs (0-1)").
// An unset spec is an error: callers decide what "no cpuset" means.
[[nodiscard]] Result<std::vector<unsigned>> resolve_cpuset(const scenario::CpusetSpec& spec,
                                                           const wire::Topology& topology);

// The NUMA nodes the given CPUs sit on, sorted.
[[nodiscard]] std::vector<unsigned> numa_nodes_of(const std::vector<unsigned>& cpus,
                                                  const wire::Topology& topology);

// A topology of `cpus` CPUs in one package, one LLC and one NUMA node: what
// a plain `-smp N` guest looks like.
[[nodiscard]] wire::Topology flat_topology(unsigned cpus);

}  // namespace kstep
