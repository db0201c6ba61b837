// CPU topology of the running machine, read from sysfs.
//
// For every online CPU: its package (topology/physical_package_id), core
// (topology/core_id), last-level cache domain and NUMA node. LLC domains are
// the distinct shared_cpu_list values of each CPU's highest-level cache,
// numbered densely in CPU order; a CPU without cache information falls back
// to one LLC per package. A CPU listed under no devices/system/node/node*
// (a kernel without NUMA) is on node 0.
//
// `sys_root` is the sysfs mount ("/sys" in the guest, a fake tree in tests).
#pragma once

#include <filesystem>

#include "common/result.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

[[nodiscard]] Result<wire::Topology> read_topology(const std::filesystem::path& sys_root);

}  // namespace kstep::guest
