#include "host/kernel/config_check.hpp"

#include <fmt/format.h>

namespace kstep::host::kernel {
namespace {

constexpr KernelRequirement kInitrdCompression{
    "RD_ZSTD", RequirementLevel::Boot,
    "kstep's initramfs is zstd- or gzip-compressed: the kernel needs CONFIG_RD_ZSTD or CONFIG_RD_GZIP"};

void describe_group(std::string& out, const std::vector<MissingOption>& missing, std::string_view heading) {
  if (missing.empty()) {
    return;
  }
  out += fmt::format("{}:\n", heading);
  for (const auto& m : missing) {
    out += fmt::format("  {}\n", m.describe());
  }
}

}  // namespace

std::string MissingOption::describe() const {
  std::string state;
  switch (found) {
    case KernelConfig::State::Module: state = "=m (a module; the guest loads none)"; break;
    case KernelConfig::State::NotSet: state = " is not set"; break;
    case KernelConfig::State::Absent: state = " is absent"; break;
    case KernelConfig::State::Value: state = " has a non-boolean value"; break;
    case KernelConfig::State::BuiltIn: state = "=y"; break;
  }
  return fmt::format("CONFIG_{}{}: {}", requirement.option, state, requirement.reason);
}

std::string ConfigCheck::describe() const {
  std::string out;
  describe_group(out, missing_for_boot,
                 fmt::format("{}: missing for boot (kstep cannot run this kernel)", source));
  describe_group(out, missing_for_sched_ext,
                 fmt::format("{}: missing for sched_ext (runs use the kernel's default scheduler)", source));
  describe_group(out, missing_recommended, fmt::format("{}: recommended, not set", source));
  return out;
}

ConfigCheck check_kernel_config(const KernelConfig& config) {
  ConfigCheck check;
  check.source = config.source();
  for (const auto& requirement : kernel_requirements()) {
    const auto state = config.state(requirement.option);
    if (state == KernelConfig::State::BuiltIn) {
      continue;
    }
    const MissingOption missing{requirement, state};
    switch (requirement.level) {
      case RequirementLevel::Boot: check.missing_for_boot.push_back(missing); break;
      case RequirementLevel::SchedExt: check.missing_for_sched_ext.push_back(missing); break;
      case RequirementLevel::Recommended: check.missing_recommended.push_back(missing); break;
    }
  }
  check.initrd.zstd = config.built_in("RD_ZSTD");
  check.initrd.gzip = config.built_in("RD_GZIP");
  if (!check.initrd.zstd && !check.initrd.gzip) {
    check.missing_for_boot.push_back(MissingOption{kInitrdCompression, config.state("RD_ZSTD")});
  }
  return check;
}

Result<ConfigCheck> check_kernel_config_file(const std::filesystem::path& path) {
  auto config = load_kernel_config(path);
  if (!config) {
    return Unexpected{std::move(config).error()};
  }
  return check_kernel_config(*config);
}

}  // namespace kstep::host::kernel
