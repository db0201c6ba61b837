// KernelCache: fetched kernels under <cache>/kernels/<release>/.
//
//   <cache>/kernels/7.3.4+deb13-cloud-amd64/
//     vmlinuz   the bzImage as Debian ships it
//     vmlinux   the ELF extracted from it (PVH boot, BTF); absent if extraction failed
//     config    the kernel's .config
//     origin    key=value lines: suite, package, version, mirror, fetched
//
// <cache> is $XDG_CACHE_HOME/kstep (HostContext::cache_dir). A release is
// installed by building it in a staging directory inside kernels/ and
// renaming that into place, so a release directory is whole or absent, and
// readers need no lock. Names starting with '.' are staging directories and
// never listed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "host/vm/private_dir.hpp"

namespace kstep::host::kernel {

// Where a cached kernel came from.
struct KernelOrigin {
  std::string suite;    // "trixie-backports"
  std::string package;  // "linux-image-cloud-amd64"
  std::string version;  // its Debian version, "7.3.4-1~bpo13+1"
  std::string mirror;   // "http://deb.debian.org/debian"
  std::string fetched;  // UTC, ISO 8601: "2025-11-25T07:03:00Z"

  friend bool operator==(const KernelOrigin&, const KernelOrigin&) = default;
};

[[nodiscard]] std::string format_origin(const KernelOrigin& origin);
// Unknown keys are ignored (newer kstep versions may add some).
[[nodiscard]] Result<KernelOrigin> parse_origin(std::string_view text, std::string_view source);

struct CachedKernel {
  std::string release;
  std::filesystem::path dir;
  std::optional<std::filesystem::path> vmlinuz;
  std::optional<std::filesystem::path> vmlinux;
  std::optional<std::filesystem::path> config;
  std::optional<KernelOrigin> origin;
  // CONFIG_SCHED_CLASS_EXT=y; nullopt without a readable config.
  std::optional<bool> sched_ext;
  std::uintmax_t size_bytes = 0;  // all files of the release
};

class KernelCache {
 public:
  // `cache_dir`: kstep's cache root ($XDG_CACHE_HOME/kstep).
  explicit KernelCache(const std::filesystem::path& cache_dir) : kernels_dir_(cache_dir / "kernels") {}

  [[nodiscard]] const std::filesystem::path& kernels_dir() const noexcept { return kernels_dir_; }

  // Every cached release, newest first (dpkg version order). An absent cache
  // is an empty list.
  [[nodiscard]] Result<std::vector<CachedKernel>> list() const;
  // The newest cached release: the default kernel. nullopt when none is cached.
  [[nodiscard]] Result<std::optional<CachedKernel>> newest() const;
  // nullopt when `release` is not cached (or is not a valid release name).
  [[nodiscard]] Result<std::optional<CachedKernel>> find(std::string_view release) const;

  // A fresh private directory inside kernels_dir() (created if missing) to
  // stage a release in: same filesystem, so install() is a rename.
  [[nodiscard]] Result<PrivateDir> make_staging_dir() const;
  // Renames `staged` (a directory in kernels_dir() holding vmlinuz or
  // vmlinux, and optionally config and origin) to kernels/<release>. If the
  // release appeared meanwhile (a concurrent fetch), keeps that one.
  [[nodiscard]] Result<CachedKernel> install(const std::filesystem::path& staged,
                                             std::string_view release) const;

 private:
  [[nodiscard]] Result<std::optional<CachedKernel>> load(const std::filesystem::path& dir) const;

  std::filesystem::path kernels_dir_;
};

// A release name is one path component: not empty, no '/', not starting with '.'.
[[nodiscard]] bool is_valid_release_name(std::string_view release) noexcept;

// The `kstep kernel list` table, newest (the default) first.
[[nodiscard]] std::string format_kernel_table(const std::vector<CachedKernel>& kernels);

// "13.3 MiB".
[[nodiscard]] std::string format_size(std::uintmax_t bytes);

}  // namespace kstep::host::kernel
