#include "guest/topology.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/cpu_list.hpp"
#include "guest/text_file.hpp"

namespace kstep::guest {
namespace {

namespace fs = std::filesystem;

// The numeric suffix of "cpu12", "node1" or "index3"; nullopt for siblings
// such as "cpufreq" or "online".
std::optional<unsigned> numbered_entry(const std::string& name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  auto value = parse_unsigned(std::string_view{name}.substr(prefix.size()));
  if (!value || *value > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<unsigned>(*value);
}

// Directory entries named prefix<N>, sorted by N. A missing directory is
// an empty list: callers decide whether that is an error.
std::vector<std::pair<unsigned, fs::path>> numbered_entries(const fs::path& dir, std::string_view prefix) {
  std::vector<std::pair<unsigned, fs::path>> entries;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    if (auto n = numbered_entry(it->path().filename().string(), prefix)) {
      entries.emplace_back(*n, it->path());
    }
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

Result<std::vector<unsigned>> online_cpus(const fs::path& cpu_dir) {
  const fs::path online = cpu_dir / "online";
  std::error_code ec;
  if (fs::exists(online, ec)) {
    auto text = read_text_file(online);
    if (!text) {
      return Unexpected{std::move(text).error()};
    }
    auto cpus = parse_cpu_list(*text);
    if (!cpus) {
      return Unexpected{cpus.error().context(online.string())};
    }
    return cpus;
  }
  // Kernels without CPU hotplug may lack the file; every cpuN is online then.
  std::vector<unsigned> cpus;
  for (const auto& [n, path] : numbered_entries(cpu_dir, "cpu")) {
    cpus.push_back(n);
  }
  return cpus;
}

// The shared_cpu_list of the highest-level cache of one CPU, or nullopt when
// the CPU has no cache directory (some virtual CPUs report none).
Result<std::optional<std::vector<unsigned>>> llc_cpus(const fs::path& cpu_path) {
  std::optional<std::uint64_t> best_level;
  fs::path best;
  for (const auto& [n, index] : numbered_entries(cpu_path / "cache", "index")) {
    auto level = read_unsigned(index / "level");
    if (!level) {
      return Unexpected{std::move(level).error()};
    }
    if (!best_level || *level > *best_level) {
      best_level = *level;
      best = index;
    }
  }
  if (!best_level) {
    return std::optional<std::vector<unsigned>>{};
  }
  const fs::path list = best / "shared_cpu_list";
  auto text = read_text_file(list);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  auto cpus = parse_cpu_list(*text);
  if (!cpus) {
    return Unexpected{cpus.error().context(list.string())};
  }
  return std::optional<std::vector<unsigned>>{std::move(*cpus)};
}

// Architectures without the notion report -1; that is one package (core).
Result<std::uint64_t> read_topology_id(const fs::path& path) {
  auto text = read_trimmed(path);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  if (*text == "-1") {
    return std::uint64_t{0};
  }
  auto value = parse_unsigned(*text);
  if (!value || *value > UINT32_MAX) {
    return fail("reading {}: '{}' is not a topology id", path.string(), *text);
  }
  return value;
}

struct NumaMap {
  std::map<unsigned, unsigned> node_of_cpu;
  unsigned nodes = 1;  // a kernel without NUMA still has one node
};

Result<NumaMap> read_numa(const fs::path& sys_root) {
  NumaMap numa;
  const auto nodes = numbered_entries(sys_root / "devices" / "system" / "node", "node");
  if (nodes.empty()) {
    return numa;
  }
  numa.nodes = static_cast<unsigned>(nodes.size());
  for (const auto& [node, path] : nodes) {
    const fs::path list = path / "cpulist";
    auto text = read_text_file(list);
    if (!text) {
      return Unexpected{std::move(text).error()};
    }
    auto cpus = parse_cpu_list(*text);
    if (!cpus) {
      return Unexpected{cpus.error().context(list.string())};
    }
    for (unsigned cpu : *cpus) {
      numa.node_of_cpu.emplace(cpu, node);
    }
  }
  return numa;
}

}  // namespace

Result<wire::Topology> read_topology(const fs::path& sys_root) {
  const fs::path cpu_dir = sys_root / "devices" / "system" / "cpu";
  auto cpus = online_cpus(cpu_dir);
  if (!cpus) {
    return Unexpected{std::move(cpus).error()};
  }
  if (cpus->empty()) {
    return fail("no online CPUs under {}", cpu_dir.string());
  }
  auto numa = read_numa(sys_root);
  if (!numa) {
    return Unexpected{std::move(numa).error()};
  }

  wire::Topology topology;
  std::set<std::uint32_t> packages;
  std::set<std::pair<std::uint32_t, std::uint32_t>> cores;
  // Keyed by the LLC's CPU set, or by {package} with a marker for the
  // no-cache fallback, so the two kinds of key never collide.
  std::map<std::pair<bool, std::vector<unsigned>>, std::uint32_t> llcs;

  for (unsigned cpu : *cpus) {
    const fs::path path = cpu_dir / fmt::format("cpu{}", cpu);
    auto package = read_topology_id(path / "topology" / "physical_package_id");
    if (!package) {
      return Unexpected{std::move(package).error()};
    }
    auto core = read_topology_id(path / "topology" / "core_id");
    if (!core) {
      return Unexpected{std::move(core).error()};
    }
    auto llc = llc_cpus(path);
    if (!llc) {
      return Unexpected{std::move(llc).error()};
    }

    auto* placement = topology.add_cpus();
    placement->set_cpu(cpu);
    placement->set_package(static_cast<std::uint32_t>(*package));
    placement->set_core(static_cast<std::uint32_t>(*core));
    const auto key = llc->has_value() ? std::pair{true, std::move(**llc)}
                                      : std::pair{false, std::vector<unsigned>{placement->package()}};
    const auto llc_index = llcs.emplace(key, static_cast<std::uint32_t>(llcs.size())).first->second;
    placement->set_llc(llc_index);
    const auto node = numa->node_of_cpu.find(cpu);
    placement->set_node(node == numa->node_of_cpu.end() ? 0 : node->second);

    packages.insert(placement->package());
    cores.emplace(placement->package(), placement->core());
  }

  topology.set_packages(static_cast<std::uint32_t>(packages.size()));
  topology.set_cores(static_cast<std::uint32_t>(cores.size()));
  topology.set_threads(static_cast<std::uint32_t>(cpus->size()));
  topology.set_llcs(static_cast<std::uint32_t>(llcs.size()));
  topology.set_numa_nodes(numa->nodes);
  return topology;
}

}  // namespace kstep::guest
