// The kernel's CPU list format ("0-3,8,10-11"), used by sysfs files such as
// devices/system/cpu/online, node*/cpulist and cache/index*/shared_cpu_list.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::guest {

// Sorted, without duplicates. An empty (or all-whitespace) list is valid and
// yields no CPUs: a memory-only NUMA node has an empty cpulist.
[[nodiscard]] Result<std::vector<unsigned>> parse_cpu_list(std::string_view text);

}  // namespace kstep::guest
