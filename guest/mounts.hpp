// The filesystems PID 1 mounts before anything else: proc, sysfs, devtmpfs,
// cgroup2, bpffs and two tmpfs.
//
// Mount points are created as needed (the initramfs may ship none of them)
// and a filesystem already mounted at its place is left alone, so running
// the sequence twice, or on a kernel that automounted devtmpfs, is harmless.
// The mount(2) call itself is injected: tests record the calls instead of
// mounting anything on the machine running them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>

#include "common/result.hpp"

namespace kstep::guest {

struct MountSpec {
  const char* source;
  const char* target;  // absolute, interpreted under the root given to mount_all
  const char* fstype;
  unsigned long flags;
  const char* data;
  // statfs f_type of the filesystem: a mount point of this type is taken
  // as already mounted.
  std::int64_t magic;
};

// proc, sysfs, devtmpfs, cgroup2, bpf, tmpfs /tmp and /run, parents first.
[[nodiscard]] std::span<const MountSpec> essential_mounts() noexcept;

// Signature of mount(2); returns 0 or -1 with errno set.
using MountCall = std::function<int(const char* source, const char* target, const char* fstype,
                                    unsigned long flags, const void* data)>;

[[nodiscard]] MountCall system_mount();

// Mounts each spec at root/target, in order. Stops at the first failure
// with an error naming the mount.
[[nodiscard]] Result<void> mount_all(const std::filesystem::path& root, std::span<const MountSpec> specs,
                                     const MountCall& mount);

// True when `target` is the root of a mount whose statfs type is `magic`.
[[nodiscard]] bool is_mounted_as(const std::filesystem::path& target, std::int64_t magic);

}  // namespace kstep::guest
