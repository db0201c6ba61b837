#include "host/cli/run_kernel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "host/cli/kernel_commands.hpp"
#include "host/kernel/config_check.hpp"
#include "host/kernel/kernel_locator.hpp"

namespace kstep::host {
namespace {

Unexpected<SetupFailure> setup_failure(Outcome outcome, std::string message) {
  return Unexpected{SetupFailure{outcome, std::move(message)}};
}

Result<kernel::KernelImage, SetupFailure> locate(const RunOptions& options, const HostContext& context) {
  const kernel::KernelCache cache{context.cache_dir};
  if (options.kernel) {
    auto image = kernel::resolve_kernel(cache, *options.kernel, options.kernel_config);
    if (!image) {
      return setup_failure(Outcome::kUsageError, image.error().message);
    }
    return std::move(image).value();
  }
  auto cached = kernel::default_kernel(cache, options.kernel_config);
  if (!cached) {
    return setup_failure(Outcome::kInfrastructureError, cached.error().message);
  }
  if (*cached) {
    return std::move(**cached);
  }
  spdlog::info("no kernel cached yet: fetching the default one");
  auto fetched = fetch_default_kernel(context, {});
  if (!fetched) {
    return setup_failure(Outcome::kInfrastructureError, fetched.error().message);
  }
  auto image = kernel::kernel_image_from_cache(*fetched, options.kernel_config);
  if (!image) {
    return setup_failure(Outcome::kInfrastructureError, image.error().message);
  }
  return std::move(image).value();
}

}  // namespace

Result<RunKernel, SetupFailure> prepare_run_kernel(const RunOptions& options, const HostContext& context) {
  auto located = locate(options, context);
  if (!located) {
    return Unexpected{std::move(located).error()};
  }
  const kernel::KernelImage& image = *located;
  RunKernel run;
  run.image = image.image;
  run.format = image.format == kernel::ImageFormat::Vmlinux ? KernelFormat::Vmlinux : KernelFormat::BzImage;
  run.config = image.config;
  run.release = image.release;

  if (!image.config) {
    // Without a config nothing can be checked; gzip is the one initramfs
    // compression every kernel with BLK_DEV_INITRD can be assumed to have.
    spdlog::warn("no config found for {}: its options cannot be checked (give --kernel-config)",
                 image.image.string());
    run.compression = Compression::Gzip;
    run.sched_ext = false;
    return run;
  }
  auto check = kernel::check_kernel_config_file(*image.config);
  if (!check) {
    return setup_failure(Outcome::kUsageError, check.error().message);
  }
  if (!check->missing_for_boot.empty()) {
    std::string message = fmt::format("kernel config {} lacks what kstep needs to boot:", check->source);
    for (const auto& missing : check->missing_for_boot) {
      message += "\n  " + missing.describe();
    }
    return setup_failure(Outcome::kUsageError, message);
  }
  run.sched_ext = check->missing_for_sched_ext.empty();
  if (!run.sched_ext) {
    std::string names;
    for (const auto& missing : check->missing_for_sched_ext) {
      names += fmt::format(" CONFIG_{}", missing.requirement.option);
    }
    spdlog::warn("kernel lacks sched_ext (missing{}): running under the default scheduler", names);
  }
  for (const auto& missing : check->missing_recommended) {
    spdlog::debug("recommended but missing: {}", missing.describe());
  }
  if (check->initrd.zstd) {
    run.compression = Compression::Zstd;
  } else if (check->initrd.gzip) {
    run.compression = Compression::Gzip;
  } else {
    return setup_failure(
        Outcome::kUsageError,
        fmt::format("kernel config {} has neither CONFIG_RD_ZSTD nor CONFIG_RD_GZIP: it cannot "
                    "unpack kstep's initramfs",
                    check->source));
  }
  return run;
}

}  // namespace kstep::host
