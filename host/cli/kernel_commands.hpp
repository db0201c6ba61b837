// `kstep kernel fetch` and `kstep kernel list`.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "host/cli/cli_args.hpp"
#include "host/cli/host_context.hpp"
#include "host/kernel/kernel_cache.hpp"
#include "host/session/outcome.hpp"

namespace kstep::host {

// Fetches (or finds already cached) the newest sched_ext kernel from the
// given suites (empty: the default order) and logs what happened.
[[nodiscard]] Result<kernel::CachedKernel> fetch_default_kernel(const HostContext& context,
                                                                const std::vector<std::string>& suites);

[[nodiscard]] Outcome kernel_fetch_command(const KernelFetchOptions& options, const HostContext& context);

// Prints the table on stdout; prints nothing there when the cache is empty
// (scripts/setup relies on that) and says so on stderr.
[[nodiscard]] Outcome kernel_list_command(const HostContext& context);

}  // namespace kstep::host
