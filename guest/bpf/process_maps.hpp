// Which BPF maps a process holds, read from procfs.
//
// A loaded scheduler keeps an fd per map; /proc/PID/fd/N links to
// "anon_inode:bpf-map" and /proc/PID/fdinfo/N carries the kernel's map id.
// Ids, not fds, are the result: the caller reopens them by id
// (BpfMapSet::open), which needs no access to the other process's fd table.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/result.hpp"

namespace kstep::guest {

// The ids of the BPF maps `pid` holds fds to, sorted and unique. `proc_root`
// is /proc (a temp tree in tests). Fds that close while we look, and BPF
// objects that are not maps, are skipped; a pid without a readable fd
// directory is an error naming it.
[[nodiscard]] Result<std::vector<std::uint32_t>> process_map_ids(const std::filesystem::path& proc_root,
                                                                 pid_t pid);

}  // namespace kstep::guest
