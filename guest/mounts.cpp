#include "guest/mounts.hpp"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace kstep::guest {

namespace fs = std::filesystem;

std::span<const MountSpec> essential_mounts() noexcept {
  constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  static constexpr std::array kMounts = {
      MountSpec{"proc", "/proc", "proc", kNoSuidDevExec, nullptr, PROC_SUPER_MAGIC},
      MountSpec{"sysfs", "/sys", "sysfs", kNoSuidDevExec, nullptr, SYSFS_MAGIC},
      // devtmpfs: the kernel creates the nodes itself (there is no udev), the
      // control port's /dev/vportNpM among them.
      MountSpec{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", TMPFS_MAGIC},
      MountSpec{"cgroup2", "/sys/fs/cgroup", "cgroup2", kNoSuidDevExec, nullptr, CGROUP2_SUPER_MAGIC},
      MountSpec{"bpf", "/sys/fs/bpf", "bpf", kNoSuidDevExec, "mode=0700", BPF_FS_MAGIC},
      MountSpec{"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", TMPFS_MAGIC},
      MountSpec{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", TMPFS_MAGIC},
  };
  return kMounts;
}

MountCall system_mount() {
  return [](const char* source, const char* target, const char* fstype, unsigned long flags,
            const void* data) { return ::mount(source, target, fstype, flags, data); };
}

bool is_mounted_as(const fs::path& target, std::int64_t magic) {
  struct statfs info {};
  if (::statfs(target.c_str(), &info) != 0 || static_cast<std::int64_t>(info.f_type) != magic) {
    return false;
  }
  // The type alone is not enough: the initramfs root is itself a tmpfs, so
  // an unmounted /tmp would pass. A mount root sits on a different device
  // than its parent directory.
  struct stat self {};
  struct stat parent {};
  if (::stat(target.c_str(), &self) != 0 || ::stat((target / "..").c_str(), &parent) != 0) {
    return false;
  }
  return self.st_dev != parent.st_dev;
}

Result<void> mount_all(const fs::path& root, std::span<const MountSpec> specs, const MountCall& mount) {
  for (const MountSpec& spec : specs) {
    const fs::path target = root / fs::path{spec.target}.relative_path();
    std::error_code ec;
    fs::create_directories(target, ec);
    if (ec) {
      return fail("creating mount point {}: {}", target.string(), ec.message());
    }
    if (is_mounted_as(target, spec.magic)) {
      continue;
    }
    if (mount(spec.source, target.c_str(), spec.fstype, spec.flags, spec.data) != 0) {
      return fail("mounting {} on {}: {}", spec.fstype, target.string(), std::strerror(errno));
    }
  }
  return {};
}

}  // namespace kstep::guest
