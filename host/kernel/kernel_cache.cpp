#include "host/kernel/kernel_cache.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "host/kernel/kernel_config.hpp"
#include "host/kernel/version_compare.hpp"

namespace kstep::host::kernel {
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> regular_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? std::optional{path} : std::nullopt;
}

Result<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read {}: {}", path.string(), std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string format_origin(const KernelOrigin& origin) {
  return fmt::format("suite={}\npackage={}\nversion={}\nmirror={}\nfetched={}\n", origin.suite,
                     origin.package, origin.version, origin.mirror, origin.fetched);
}

Result<KernelOrigin> parse_origin(std::string_view text, std::string_view source) {
  KernelOrigin origin;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto newline = text.find('\n');
    const auto line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) {
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      return fail("{}:{}: expected key=value, got '{}'", source, line_number, line);
    }
    const auto key = line.substr(0, eq);
    std::string value{line.substr(eq + 1)};
    if (key == "suite") {
      origin.suite = std::move(value);
    } else if (key == "package") {
      origin.package = std::move(value);
    } else if (key == "version") {
      origin.version = std::move(value);
    } else if (key == "mirror") {
      origin.mirror = std::move(value);
    } else if (key == "fetched") {
      origin.fetched = std::move(value);
    }
  }
  return origin;
}

bool is_valid_release_name(std::string_view release) noexcept {
  return !release.empty() && !release.starts_with('.') && release.find('/') == std::string_view::npos &&
         release.find('\0') == std::string_view::npos;
}

Result<std::optional<CachedKernel>> KernelCache::load(const fs::path& dir) const {
  CachedKernel kernel;
  kernel.release = dir.filename().string();
  kernel.dir = dir;
  kernel.vmlinuz = regular_file(dir / "vmlinuz");
  kernel.vmlinux = regular_file(dir / "vmlinux");
  if (!kernel.vmlinuz && !kernel.vmlinux) {
    return std::optional<CachedKernel>{};  // not a release directory
  }
  kernel.config = regular_file(dir / "config");
  if (kernel.config) {
    // A config that does not parse leaves sched_ext unknown; the run's
    // config check reports the parse error where it matters.
    if (auto config = load_kernel_config(*kernel.config)) {
      kernel.sched_ext = config->built_in("SCHED_CLASS_EXT");
    }
  }
  if (auto origin_path = regular_file(dir / "origin")) {
    if (auto text = read_text(*origin_path)) {
      if (auto origin = parse_origin(*text, origin_path->string())) {
        kernel.origin = std::move(*origin);
      }
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec)) {
      const auto size = entry.file_size(size_ec);
      kernel.size_bytes += size_ec ? 0 : size;
    }
  }
  return std::optional<CachedKernel>{std::move(kernel)};
}

Result<std::vector<CachedKernel>> KernelCache::list() const {
  std::vector<CachedKernel> kernels;
  std::error_code ec;
  if (!fs::exists(kernels_dir_, ec)) {
    return kernels;
  }
  fs::directory_iterator it(kernels_dir_, ec);
  if (ec) {
    return fail("cannot list the kernel cache {}: {}", kernels_dir_.string(), ec.message());
  }
  for (const auto& entry : it) {
    const auto name = entry.path().filename().string();
    std::error_code dir_ec;
    if (!is_valid_release_name(name) || !entry.is_directory(dir_ec)) {
      continue;
    }
    auto kernel = load(entry.path());
    if (!kernel) {
      return Unexpected{std::move(kernel).error()};
    }
    if (*kernel) {
      kernels.push_back(std::move(**kernel));
    }
  }
  std::sort(kernels.begin(), kernels.end(), [](const CachedKernel& a, const CachedKernel& b) {
    const int order = compare_versions(a.release, b.release);
    return order != 0 ? order > 0 : a.release < b.release;
  });
  return kernels;
}

Result<std::optional<CachedKernel>> KernelCache::newest() const {
  auto kernels = list();
  if (!kernels) {
    return Unexpected{std::move(kernels).error()};
  }
  if (kernels->empty()) {
    return std::optional<CachedKernel>{};
  }
  return std::optional<CachedKernel>{std::move(kernels->front())};
}

Result<std::optional<CachedKernel>> KernelCache::find(std::string_view release) const {
  if (!is_valid_release_name(release)) {
    return std::optional<CachedKernel>{};
  }
  const auto dir = kernels_dir_ / release;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return std::optional<CachedKernel>{};
  }
  return load(dir);
}

Result<PrivateDir> KernelCache::make_staging_dir() const {
  std::error_code ec;
  fs::create_directories(kernels_dir_, ec);
  if (ec) {
    return fail("cannot create the kernel cache {}: {}", kernels_dir_.string(), ec.message());
  }
  return PrivateDir::create(kernels_dir_, ".staging-");
}

Result<CachedKernel> KernelCache::install(const fs::path& staged, std::string_view release) const {
  if (!is_valid_release_name(release)) {
    return fail("cannot cache kernel release '{}': not a valid directory name", release);
  }
  const auto target = kernels_dir_ / release;
  // The staging directory was made 0700 by mkdtemp; a cache entry is as
  // readable as any other file the user caches.
  std::error_code ec;
  fs::permissions(staged,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                      fs::perms::others_read | fs::perms::others_exec,
                  ec);
  if (std::rename(staged.c_str(), target.c_str()) != 0) {
    const int error = errno;
    // rename(2) replaces only an empty directory: anything else means
    // another fetch installed this release first, and theirs is as good.
    if (error != EEXIST && error != ENOTEMPTY) {
      return fail("cannot install {} into the kernel cache as {}: {}", staged.string(), target.string(),
                  std::strerror(error));
    }
  }
  auto kernel = load(target);
  if (!kernel) {
    return Unexpected{std::move(kernel).error()};
  }
  if (!*kernel) {
    return fail("{}: installed, but holds no vmlinuz or vmlinux", target.string());
  }
  return std::move(**kernel);
}

std::string format_size(std::uintmax_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

std::string format_kernel_table(const std::vector<CachedKernel>& kernels) {
  if (kernels.empty()) {
    return "no cached kernels (`kstep kernel fetch` downloads one)\n";
  }
  std::vector<std::array<std::string, 4>> rows;
  rows.push_back({"RELEASE", "SOURCE", "SCHED_EXT", "SIZE"});
  for (const auto& k : kernels) {
    const std::string source = k.origin ? fmt::format("{} {}", k.origin->suite, k.origin->version) : "-";
    const std::string sched_ext = k.sched_ext ? (*k.sched_ext ? "yes" : "no") : "unknown";
    rows.push_back({k.release, source, sched_ext, format_size(k.size_bytes)});
  }
  std::array<std::size_t, 4> width{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}{}\n", row[0], width[0], row[1], width[1], row[2],
                       width[2], row[3], width[3], r == 1 ? "  (default)" : "");
  }
  return out;
}

}  // namespace kstep::host::kernel
