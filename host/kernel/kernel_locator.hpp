// Kernel locator: turns `--kernel SPEC [--kernel-config PATH]` into the image
// QEMU boots and the config to check.
//
// SPEC is a cached release ("7.3.4+deb13-cloud-amd64", see `kstep kernel
// list`) or a path to a bzImage or vmlinux. A SPEC containing '/' is always a
// path; otherwise a cached release wins over a file of that name in the
// current directory. The format comes from the file's bytes. For a cached
// release the vmlinux is preferred (PVH boot is ~0.8 s faster) and the
// bzImage is kept beside it.
//
// The config is --kernel-config if given, else the first of these beside the
// image: config, .config, config-<release> (Debian's /boot layout), and for
// <tree>/arch/x86/boot/bzImage the tree's .config. No config found is not an
// error here: the caller decides whether an unchecked kernel may run.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "host/kernel/image_format.hpp"
#include "host/kernel/kernel_cache.hpp"

namespace kstep::host::kernel {

struct KernelImage {
  std::filesystem::path image;  // what QEMU boots
  ImageFormat format = ImageFormat::BzImage;
  // The bzImage of a cached release whose vmlinux is `image` (a fallback
  // for boot paths without PVH); nullopt otherwise.
  std::optional<std::filesystem::path> bzimage;
  std::optional<std::filesystem::path> config;
  std::string release;  // empty when a path image does not say
  bool cached = false;  // from the kernel cache
};

// `config_override` must be an existing file when given.
[[nodiscard]] Result<KernelImage> resolve_kernel(const KernelCache& cache, std::string_view spec,
                                                 const std::optional<std::filesystem::path>& config_override);

// The default kernel: the newest cached release. nullopt when the cache is
// empty (the caller may fetch one).
[[nodiscard]] Result<std::optional<KernelImage>> default_kernel(
    const KernelCache& cache, const std::optional<std::filesystem::path>& config_override);

[[nodiscard]] Result<KernelImage> kernel_image_from_cache(
    const CachedKernel& cached, const std::optional<std::filesystem::path>& config_override);

// An image file given by path: format from its bytes, release from its
// header or banner, config per the rules above.
[[nodiscard]] Result<KernelImage> kernel_image_from_path(
    const std::filesystem::path& path, const std::optional<std::filesystem::path>& config_override);

// The config beside `image` (rules above); `release` may be empty.
[[nodiscard]] std::optional<std::filesystem::path> find_config_beside(const std::filesystem::path& image,
                                                                      std::string_view release);

}  // namespace kstep::host::kernel
