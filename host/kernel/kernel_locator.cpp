#include "host/kernel/kernel_locator.hpp"

#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace kstep::host::kernel {
namespace fs = std::filesystem;

namespace {

// Enough for the ELF header and the whole bzImage setup area (at most 64
// setup sectors), where the version string lives.
constexpr std::size_t kHeadBytes = 64 * 1024;

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

Result<std::optional<fs::path>> checked_override(const std::optional<fs::path>& config_override) {
  if (!config_override) {
    return std::optional<fs::path>{};
  }
  if (!is_file(*config_override)) {
    return fail("kernel config {}: no such file", config_override->string());
  }
  return std::optional<fs::path>{*config_override};
}

}  // namespace

std::optional<fs::path> find_config_beside(const fs::path& image, std::string_view release) {
  const auto dir = image.parent_path();
  std::vector<fs::path> candidates{dir / "config", dir / ".config"};
  if (!release.empty()) {
    candidates.push_back(dir / fmt::format("config-{}", release));
  }
  // <tree>/arch/x86/boot/bzImage: the tree's .config is three levels up.
  if (dir.filename() == "boot" && dir.parent_path().filename() == "x86" &&
      dir.parent_path().parent_path().filename() == "arch") {
    candidates.push_back(dir.parent_path().parent_path().parent_path() / ".config");
  }
  for (const auto& candidate : candidates) {
    if (is_file(candidate)) {
      return candidate;
    }
  }
  return std::nullopt;
}

Result<KernelImage> kernel_image_from_cache(const CachedKernel& cached,
                                            const std::optional<fs::path>& config_override) {
  auto config = checked_override(config_override);
  if (!config) {
    return Unexpected{std::move(config).error()};
  }
  KernelImage image;
  image.release = cached.release;
  image.cached = true;
  image.config = *config ? *config : cached.config;
  if (cached.vmlinux) {
    image.image = *cached.vmlinux;
    image.format = ImageFormat::Vmlinux;
    image.bzimage = cached.vmlinuz;
  } else if (cached.vmlinuz) {
    image.image = *cached.vmlinuz;
    image.format = ImageFormat::BzImage;
  } else {
    return fail("cached kernel {} has neither vmlinux nor vmlinuz in {}", cached.release,
                cached.dir.string());
  }
  return image;
}

Result<KernelImage> kernel_image_from_path(const fs::path& path,
                                           const std::optional<fs::path>& config_override) {
  auto config = checked_override(config_override);
  if (!config) {
    return Unexpected{std::move(config).error()};
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return fail("kernel image {}: no such file", path.string());
  }
  if (!is_file(path)) {
    return fail("kernel image {}: not a regular file", path.string());
  }
  auto head = read_file_head(path, kHeadBytes);
  if (!head) {
    return Unexpected{std::move(head).error()};
  }
  auto format = detect_image_format(*head, path.string());
  if (!format) {
    return Unexpected{std::move(format).error()};
  }
  KernelImage image;
  image.image = path;
  image.format = *format;
  auto release = image_release(path, *format);
  if (!release) {
    return Unexpected{std::move(release).error()};
  }
  image.release = release->value_or("");
  image.config = *config ? *config : find_config_beside(path, image.release);
  return image;
}

Result<KernelImage> resolve_kernel(const KernelCache& cache, std::string_view spec,
                                   const std::optional<fs::path>& config_override) {
  if (spec.empty()) {
    return fail("empty kernel spec: give a cached release (see `kstep kernel list`) or an image path");
  }
  if (spec.find('/') == std::string_view::npos) {
    auto cached = cache.find(spec);
    if (!cached) {
      return Unexpected{std::move(cached).error()};
    }
    if (*cached) {
      return kernel_image_from_cache(**cached, config_override);
    }
    std::error_code ec;
    if (!fs::exists(fs::path{spec}, ec)) {
      return fail("kernel '{}': neither a cached release (see `kstep kernel list`) nor an existing file",
                  spec);
    }
  }
  return kernel_image_from_path(fs::path{spec}, config_override);
}

Result<std::optional<KernelImage>> default_kernel(const KernelCache& cache,
                                                  const std::optional<fs::path>& config_override) {
  auto newest = cache.newest();
  if (!newest) {
    return Unexpected{std::move(newest).error()};
  }
  if (!*newest) {
    return std::optional<KernelImage>{};
  }
  auto image = kernel_image_from_cache(**newest, config_override);
  if (!image) {
    return Unexpected{std::move(image).error()};
  }
  return std::optional<KernelImage>{std::move(*image)};
}

}  // namespace kstep::host::kernel
