// Checks a kernel config against kstep's requirements (images/kernel_requirements).
//
// The result names every missing option with its reason, grouped by what it
// costs: missing-for-boot means no run can work (the caller reports a usage
// error), missing-for-sched_ext means runs work under the kernel's default
// scheduler only (the caller says so), recommended ones are a note. It also
// says which initramfs compressions the kernel can unpack, so the initramfs
// builder picks one the kernel understands.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/kernel/kernel_config.hpp"
#include "images/kernel_requirements.hpp"

namespace kstep::host::kernel {

struct MissingOption {
  KernelRequirement requirement;
  KernelConfig::State found;  // NotSet, Absent, Module or Value: anything but BuiltIn

  // "CONFIG_VIRTIO_CONSOLE=m (a module; the guest loads none): the virtio-serial port ..."
  [[nodiscard]] std::string describe() const;
};

// Compressed-initramfs formats the kernel can unpack (CONFIG_RD_*=y).
// The kstep initramfs writer produces zstd or gzip.
struct InitrdSupport {
  bool zstd = false;
  bool gzip = false;
};

struct ConfigCheck {
  std::string source;  // the config's path, for messages
  std::vector<MissingOption> missing_for_boot;
  std::vector<MissingOption> missing_for_sched_ext;
  std::vector<MissingOption> missing_recommended;
  InitrdSupport initrd;

  [[nodiscard]] bool can_boot() const noexcept { return missing_for_boot.empty(); }
  [[nodiscard]] bool has_sched_ext() const noexcept { return missing_for_sched_ext.empty(); }
  // Every missing option, one per line under a heading per group; empty
  // when nothing is missing.
  [[nodiscard]] std::string describe() const;
};

// Neither RD_ZSTD nor RD_GZIP built in is reported as missing-for-boot: kstep
// has no initramfs format such a kernel could unpack.
[[nodiscard]] ConfigCheck check_kernel_config(const KernelConfig& config);

// load_kernel_config + check_kernel_config.
[[nodiscard]] Result<ConfigCheck> check_kernel_config_file(const std::filesystem::path& path);

}  // namespace kstep::host::kernel
