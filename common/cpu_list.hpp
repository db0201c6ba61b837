// The kernel's CPU list format ("0-3,8,10-11"), used by sysfs files such as
// devices/system/cpu/online, node*/cpulist and cache/index*/shared_cpu_list,
// by cpuset.cpus, and by scenario files for exact cpusets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep {

// Sorted, without duplicates. An empty (or all-whitespace) list is valid and
// yields no CPUs: a memory-only NUMA node has an empty cpulist.
[[nodiscard]] Result<std::vector<unsigned>> parse_cpu_list(std::string_view text);

// The inverse: sorted `cpus` (duplicates allowed) as "0-3,8,10-11"; "" for none.
[[nodiscard]] std::string format_cpu_list(const std::vector<unsigned>& cpus);

}  // namespace kstep
