#include "host/vm/vm_topology.hpp"

#include <charconv>

#include <fmt/format.h>

namespace kstep::host {
namespace {

constexpr unsigned kMaxCpus = 256;

unsigned node_of_die(const VmTopology& topology, unsigned global_die) {
  return global_die / (topology.llcs() / topology.nodes);
}

}  // namespace

Result<VmTopology> parse_vm_topology(std::string_view text) {
  std::vector<unsigned> values;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || ptr != item.data() + item.size() || value == 0) {
      return fail(
          "--topology '{}': '{}' is not a positive whole number (expected "
          "PACKAGES,DIES,CORES,THREADS[,NODES])",
          text, item);
    }
    values.push_back(value);
    if (comma == std::string_view::npos) {
      break;
    }
    rest = rest.substr(comma + 1);
  }
  if (values.size() != 4 && values.size() != 5) {
    return fail("--topology '{}': expected 4 or 5 numbers, PACKAGES,DIES,CORES,THREADS[,NODES]", text);
  }
  VmTopology topology{values[0], values[1], values[2], values[3], values.size() == 5 ? values[4] : 1};
  if (topology.cpus() > kMaxCpus) {
    return fail("--topology '{}': {} CPUs is more than {}", text, topology.cpus(), kMaxCpus);
  }
  if (topology.llcs() % topology.nodes != 0) {
    return fail("--topology '{}': {} NUMA nodes cannot split {} dies evenly", text, topology.nodes,
                topology.llcs());
  }
  return topology;
}

VmTopology flat_vm_topology(unsigned cpus) {
  return VmTopology{1, 1, cpus, 1, 1};
}

std::string describe(const VmTopology& topology) {
  return fmt::format("{} CPUs ({} packages, {} cores, {} threads, {} LLCs, {} NUMA nodes)", topology.cpus(),
                     topology.packages, topology.packages * topology.dies * topology.cores, topology.cpus(),
                     topology.llcs(), topology.nodes);
}

std::string describe(const wire::Topology& topology) {
  return fmt::format("{} CPUs ({} packages, {} cores, {} threads, {} LLCs, {} NUMA nodes)",
                     topology.cpus_size(), topology.packages(), topology.cores(), topology.threads(),
                     topology.llcs(), topology.numa_nodes());
}

wire::Topology expected_topology(const VmTopology& topology) {
  wire::Topology out;
  out.set_packages(topology.packages);
  out.set_cores(topology.packages * topology.dies * topology.cores);
  out.set_threads(topology.cpus());
  out.set_llcs(topology.llcs());
  out.set_numa_nodes(topology.nodes);
  const unsigned per_die = topology.cores * topology.threads;
  for (unsigned cpu = 0; cpu < topology.cpus(); ++cpu) {
    const unsigned die = cpu / per_die;  // global die index = LLC index
    auto* placement = out.add_cpus();
    placement->set_cpu(cpu);
    placement->set_package(die / topology.dies);
    placement->set_core(cpu / topology.threads);
    placement->set_llc(die);
    placement->set_node(node_of_die(topology, die));
  }
  return out;
}

std::vector<std::string> qemu_topology_args(const VmTopology& topology, unsigned memory_mib) {
  std::vector<std::string> args{
      "-smp", fmt::format("cpus={0},maxcpus={0},sockets={1},dies={2},cores={3},threads={4}", topology.cpus(),
                          topology.packages, topology.dies, topology.cores, topology.threads)};
  if (topology.nodes <= 1) {
    return args;
  }
  const unsigned cpus_per_node = topology.cpus() / topology.nodes;
  for (unsigned node = 0; node < topology.nodes; ++node) {
    const unsigned size =
        memory_mib / topology.nodes + (node + 1 == topology.nodes ? memory_mib % topology.nodes : 0);
    args.insert(args.end(),
                {"-object", fmt::format("memory-backend-ram,id=numa{},size={}M", node, size), "-numa",
                 fmt::format("node,nodeid={},cpus={}-{},memdev=numa{}", node, node * cpus_per_node,
                             (node + 1) * cpus_per_node - 1, node)});
  }
  return args;
}

}  // namespace kstep::host
