// The guest's CPU topology, as the user asks for it with --topology and as
// QEMU builds it: packages (sockets), dies per package, cores per die,
// threads per core, and NUMA nodes that each take an equal share of the
// packages (or of the dies) and of the memory.
//
// QEMU gives each die its own L3, so the guest sees one last-level cache
// per die: "1,2,2,1" is one package with two 2-core LLCs. The host uses
// expected_topology() to validate a scenario's cpusets before booting, the
// guest resolves them against what it reads from sysfs; both agree as long
// as QEMU numbers CPUs package-major, then die, core and thread (it does).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "kstep.pb.h"

namespace kstep::host {

struct VmTopology {
  unsigned packages = 1;
  unsigned dies = 1;     // per package
  unsigned cores = 2;    // per die
  unsigned threads = 1;  // per core
  unsigned nodes = 1;    // NUMA nodes

  [[nodiscard]] unsigned cpus() const noexcept { return packages * dies * cores * threads; }
  [[nodiscard]] unsigned llcs() const noexcept { return packages * dies; }
};

// "PACKAGES,DIES,CORES,THREADS[,NODES]", e.g. "2,1,2,1,2". Nodes must
// divide the dies evenly (a die's CPUs share one node).
[[nodiscard]] Result<VmTopology> parse_vm_topology(std::string_view text);

// A topology of `cpus` CPUs in one package, one die, one node.
[[nodiscard]] VmTopology flat_vm_topology(unsigned cpus);

// "4 CPUs (2 packages, 4 cores, 4 threads, 2 LLCs, 2 NUMA nodes)"; the
// same wording describe(wire::Topology) uses for what the guest reported.
[[nodiscard]] std::string describe(const VmTopology& topology);
[[nodiscard]] std::string describe(const wire::Topology& topology);

// What the guest should report for this topology.
[[nodiscard]] wire::Topology expected_topology(const VmTopology& topology);

// QEMU arguments: -smp with the full geometry, and for more than one node a
// memory backend and a -numa node per node, splitting `memory_mib`.
[[nodiscard]] std::vector<std::string> qemu_topology_args(const VmTopology& topology, unsigned memory_mib);

}  // namespace kstep::host
