// The facts about the running kernel that Hello reports besides topology:
// memory, sched_ext state, cgroup controllers, release and uptime.
//
// File readers take the mount point they read under, so tests point them at
// fake trees; the two syscall wrappers have nothing to fake.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

// MemTotal from <proc_root>/meminfo, in bytes.
[[nodiscard]] Result<std::uint64_t> read_memory_bytes(const std::filesystem::path& proc_root);

// <sys_root>/kernel/sched_ext: supported when the directory exists; `state`
// and `root/ops` verbatim (trimmed). A kernel without sched_ext is not an
// error, it is `supported = false`.
[[nodiscard]] Result<wire::SchedExtState> read_sched_ext(const std::filesystem::path& sys_root);

// The controllers listed in <cgroup_root>/cgroup.controllers. A missing file
// (cgroup2 not mounted there) yields no controllers rather than an error:
// the host decides whether the run needs any.
[[nodiscard]] Result<std::vector<std::string>> read_cgroup_controllers(
    const std::filesystem::path& cgroup_root);

// uname(2)'s release, e.g. "6.12.9-cloud-amd64".
[[nodiscard]] std::string kernel_release();

// CLOCK_BOOTTIME in microseconds: time since the kernel started, including
// any suspend (there is none in a VM, but it is the clock the kernel logs by).
[[nodiscard]] std::uint64_t boot_time_us() noexcept;

}  // namespace kstep::guest
