// `kstep kernel fetch`: download the current sched_ext-enabled Debian cloud
// kernel into the kernel cache.
//
// Debian's own stable kernels lack CONFIG_SCHED_CLASS_EXT; the cloud kernels
// in trixie-backports (and sid) have it. For each suite in order, through a
// PrivateApt (the machine's apt setup is never touched):
//   1. apt-get update
//   2. apt-cache show linux-image-cloud-amd64: the metapackage's dependency
//      linux-image-<ABI> names the release (ABI "7.3.4+deb13-cloud-amd64");
//      a suite without the metapackage falls through to the next suite
//   3. if the release is cached already: done, nothing downloaded
//   4. apt-get download linux-binary-<ABI> (holds vmlinuz) and
//      linux-base-<ABI> (holds config); dpkg-deb -x both
//   5. extract vmlinux from vmlinuz, write origin, install atomically
// Progress (suite, release, sizes, times) is logged at info level.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "host/kernel/apt_sources.hpp"
#include "host/kernel/kernel_cache.hpp"
#include "host/kernel/private_apt.hpp"
#include "host/util/run_command.hpp"

namespace kstep::host::kernel {

// trixie-backports, then sid.
[[nodiscard]] std::vector<std::string> default_fetch_suites();

struct FetchOptions {
  std::vector<std::string> suites = default_fetch_suites();  // tried in order
  AptSource source;                                          // mirror and keyring
  std::string package = "linux-image-cloud-amd64";           // the metapackage that tracks the newest ABI
  std::string architecture = "amd64";
  std::chrono::system_clock::time_point now;  // recorded as the fetch date
};

// Options from the machine: the mirror of /etc/apt's Debian entry, the
// clock; `suites` replaces the default order unless empty.
[[nodiscard]] FetchOptions fetch_options_from_system(const std::vector<std::string>& suites);

struct FetchResult {
  CachedKernel kernel;
  std::string suite;            // where the release was found
  bool already_cached = false;  // nothing was downloaded
};

// Fails with each suite's reason when no suite yields a kernel.
[[nodiscard]] Result<FetchResult> fetch_kernel(const KernelCache& cache, const FetchOptions& options,
                                               CommandRunner& runner);

// The release a metapackage record points at: its linux-image-<release>
// dependency (the one starting with a digit). nullopt if it has none.
[[nodiscard]] std::optional<std::string> release_from_metapackage(const PackageRecord& record);

}  // namespace kstep::host::kernel
