// Building the Hello frame: everything the host learns about the guest
// before it decides what to run.
//
// Hello goes out as early as possible (the boot-overhead budget is a few
// percent over an init that powers off at once), so building it only reads
// small sysfs/procfs files: no probing, no waiting.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// Where the agent finds the kernel's filesystems. Defaults are the real
// mounts; tests point every path into a temp dir.
struct SystemRoots {
  std::filesystem::path proc = "/proc";
  std::filesystem::path sys = "/sys";
  std::filesystem::path dev = "/dev";
  std::filesystem::path cgroup = "/sys/fs/cgroup";
};

// The agent version compiled in from meson's project version.
[[nodiscard]] std::string_view agent_version() noexcept;

// Hello with kProtocolVersion and the agent version, read from `roots`.
// `kernel_release` and `uptime_us` come from syscalls (kernel_release(),
// boot_time_us()) and are parameters so tests can fix them.
[[nodiscard]] Result<wire::Hello> build_hello(const SystemRoots& roots, std::string kernel_release,
                                              std::uint64_t uptime_us);

}  // namespace kstep::guest
