#include "common/cpuset_spec.hpp"

#include <algorithm>
#include <cmath>

#include "common/cpu_list.hpp"

namespace kstep {
namespace {

std::vector<unsigned> online_cpus(const wire::Topology& topology) {
  std::vector<unsigned> cpus;
  cpus.reserve(static_cast<std::size_t>(topology.cpus_size()));
  for (const auto& placement : topology.cpus()) {
    cpus.push_back(placement.cpu());
  }
  std::sort(cpus.begin(), cpus.end());
  return cpus;
}

template <class Member>
Result<std::vector<unsigned>> cpus_where(const wire::Topology& topology, unsigned wanted, Member member,
                                         const char* what) {
  std::vector<unsigned> cpus;
  std::vector<unsigned> present;
  for (const auto& placement : topology.cpus()) {
    const unsigned value = (placement.*member)();
    present.push_back(value);
    if (value == wanted) {
      cpus.push_back(placement.cpu());
    }
  }
  if (cpus.empty()) {
    std::sort(present.begin(), present.end());
    return fail("{} {} has no CPUs: the topology has {} {}", what, wanted, what,
                present.empty() ? std::string{"none"} : format_cpu_list(present));
  }
  std::sort(cpus.begin(), cpus.end());
  return cpus;
}

// CPUs [first, last) of the sorted online list.
std::vector<unsigned> slice(const std::vector<unsigned>& online, std::size_t first, std::size_t last) {
  last = std::min(last, online.size());
  if (first >= last) {
    return {};
  }
  return {online.begin() + static_cast<std::ptrdiff_t>(first),
          online.begin() + static_cast<std::ptrdiff_t>(last)};
}

Result<std::vector<unsigned>> exact(const std::string& text, const std::vector<unsigned>& online) {
  auto cpus = parse_cpu_list(text);
  if (!cpus) {
    return Unexpected{std::move(cpus).error()};
  }
  if (cpus->empty()) {
    return fail("the CPU list '{}' names no CPU", text);
  }
  for (const unsigned cpu : *cpus) {
    if (!std::binary_search(online.begin(), online.end(), cpu)) {
      return fail("CPU {} is not online: the topology has CPUs {}", cpu, format_cpu_list(online));
    }
  }
  return cpus;
}

Result<std::vector<unsigned>> range(const scenario::FractionRange& spec,
                                    const std::vector<unsigned>& online) {
  if (!(spec.from() >= 0.0 && spec.from() < spec.to() && spec.to() <= 1.0)) {
    return fail("range from {} to {} is not within 0 <= from < to <= 1", spec.from(), spec.to());
  }
  const double n = static_cast<double>(online.size());
  auto cpus = slice(online, static_cast<std::size_t>(std::floor(spec.from() * n)),
                    static_cast<std::size_t>(std::ceil(spec.to() * n)));
  if (cpus.empty()) {
    return fail("range from {} to {} selects no CPU of {}", spec.from(), spec.to(), online.size());
  }
  return cpus;
}

Result<void> check_partition(const scenario::Partition& spec, std::size_t online) {
  if (spec.count() == 0) {
    return fail("partition count must be at least 1");
  }
  if (spec.index() >= spec.count()) {
    return fail("partition index {} is not below the count {}", spec.index(), spec.count());
  }
  if (spec.count() > online) {
    return fail("{} partitions cannot be disjoint on {} CPUs", spec.count(), online);
  }
  return {};
}

Result<std::vector<unsigned>> partition(const scenario::Partition& spec,
                                        const std::vector<unsigned>& online) {
  KSTEP_TRY(check_partition(spec, online.size()));
  const std::size_t n = online.size();
  return slice(online, spec.index() * n / spec.count(), (spec.index() + 1) * n / spec.count());
}

Result<std::vector<unsigned>> overlapping(const scenario::Partition& spec,
                                          const std::vector<unsigned>& online) {
  KSTEP_TRY(check_partition(spec, online.size()));
  if (!(spec.overlap() >= 0.0 && spec.overlap() <= 1.0)) {
    return fail("overlap {} is not within 0..1", spec.overlap());
  }
  const double width = static_cast<double>(online.size()) / spec.count();
  const double from = std::max(0.0, (spec.index() - spec.overlap()) * width);
  const double to = (spec.index() + 1 + spec.overlap()) * width;
  return slice(online, static_cast<std::size_t>(std::floor(from)), static_cast<std::size_t>(std::ceil(to)));
}

}  // namespace

Result<std::vector<unsigned>> resolve_cpuset(const scenario::CpusetSpec& spec,
                                             const wire::Topology& topology) {
  const auto online = online_cpus(topology);
  switch (spec.kind_case()) {
    case scenario::CpusetSpec::kCpus: return exact(spec.cpus(), online);
    case scenario::CpusetSpec::kLlc: return cpus_where(topology, spec.llc(), &wire::CpuPlacement::llc, "LLC");
    case scenario::CpusetSpec::kNumaNode:
      return cpus_where(topology, spec.numa_node(), &wire::CpuPlacement::node, "NUMA node");
    case scenario::CpusetSpec::kRange: return range(spec.range(), online);
    case scenario::CpusetSpec::kPartition: return partition(spec.partition(), online);
    case scenario::CpusetSpec::kOverlapping: return overlapping(spec.overlapping(), online);
    case scenario::CpusetSpec::KIND_NOT_SET: break;
  }
  return fail("the cpuset names no kind (cpus, llc, numa_node, range, partition or overlapping)");
}

std::vector<unsigned> numa_nodes_of(const std::vector<unsigned>& cpus, const wire::Topology& topology) {
  std::vector<unsigned> nodes;
  for (const auto& placement : topology.cpus()) {
    if (std::find(cpus.begin(), cpus.end(), placement.cpu()) != cpus.end()) {
      nodes.push_back(placement.node());
    }
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

wire::Topology flat_topology(unsigned cpus) {
  wire::Topology topology;
  topology.set_packages(1);
  topology.set_cores(cpus);
  topology.set_threads(cpus);
  topology.set_llcs(1);
  topology.set_numa_nodes(1);
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    auto* placement = topology.add_cpus();
    placement->set_cpu(cpu);
    placement->set_core(cpu);
  }
  return topology;
}

}  // namespace kstep
