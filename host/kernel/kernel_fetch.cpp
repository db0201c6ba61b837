#include "host/kernel/kernel_fetch.hpp"

#include <ctime>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "host/kernel/private_apt.hpp"
#include "host/kernel/vmlinux_extract.hpp"

namespace kstep::host::kernel {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_since(Clock::time_point start) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(Clock::now() - start).count());
}

std::string utc_iso8601(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::uintmax_t total_size(const std::vector<fs::path>& files) {
  std::uintmax_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    total += ec ? 0 : size;
  }
  return total;
}

// The first of `candidates` that is a regular file.
std::optional<fs::path> first_file(std::initializer_list<fs::path> candidates) {
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) {
      return c;
    }
  }
  return std::nullopt;
}

Result<void> move_file(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) {
    return fail("cannot move {} to {}: {}", from.string(), to.string(), ec.message());
  }
  return {};
}

// What a suite offers: its private apt and the release it resolves to.
struct Resolved {
  PrivateApt apt;
  std::string release;
  std::string version;  // of the metapackage
};

// Steps 1-2. An error here means "try the next suite".
Result<Resolved> resolve_in_suite(const FetchOptions& options, CommandRunner& runner, const fs::path& dir,
                                  const std::string& suite) {
  auto apt = PrivateApt::create(dir / "apt", options.source, suite, options.architecture);
  if (!apt) {
    return Unexpected{std::move(apt).error()};
  }
  const auto start = Clock::now();
  KSTEP_TRY(apt->update(runner));
  spdlog::info("{}: package lists updated in {}", suite, seconds_since(start));

  auto record = apt->show(runner, options.package);
  if (!record) {
    return Unexpected{std::move(record).error()};
  }
  if (!*record) {
    return fail("{} has no package {}", suite, options.package);
  }
  auto release = release_from_metapackage(**record);
  if (!release) {
    return fail("{} {} depends on no linux-image-<release> package (depends: {})", options.package,
                (*record)->version, fmt::join((*record)->depends, ", "));
  }
  spdlog::info("{}: {} {} -> release {}", suite, options.package, (*record)->version, *release);
  return Resolved{std::move(*apt), std::move(*release), (*record)->version};
}

// Steps 4-5: download, unpack, stage `dir`/<release>, install.
Result<CachedKernel> download_and_install(const KernelCache& cache, const FetchOptions& options,
                                          CommandRunner& runner, const fs::path& dir,
                                          const Resolved& resolved) {
  const auto& release = resolved.release;
  const auto debs_dir = dir / "debs";
  const auto root = dir / "root";
  const auto stage = dir / release;
  for (const auto& d : {debs_dir, root, stage}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) {
      return fail("cannot create {}: {}", d.string(), ec.message());
    }
  }

  auto start = Clock::now();
  auto debs = resolved.apt.download(runner, {"linux-binary-" + release, "linux-base-" + release}, debs_dir);
  if (!debs) {
    return Unexpected{std::move(debs).error()};
  }
  spdlog::info("downloaded {} package(s), {}, in {}", debs->size(), format_size(total_size(*debs)),
               seconds_since(start));

  start = Clock::now();
  for (const auto& deb : *debs) {
    KSTEP_TRY(run_checked(runner, Command{.argv = {"dpkg-deb", "-x", deb.string(), root.string()}}));
  }
  const auto modules = root / "usr" / "lib" / "modules" / release;
  // Older packages kept the image in /boot.
  auto vmlinuz = first_file({modules / "vmlinuz", root / "boot" / ("vmlinuz-" + release)});
  auto config = first_file({modules / "config", root / "boot" / ("config-" + release)});
  if (!vmlinuz) {
    return fail("the packages of {} hold no vmlinuz (looked in {} and {})", release, modules.string(),
                (root / "boot").string());
  }
  KSTEP_TRY(move_file(*vmlinuz, stage / "vmlinuz"));
  if (config) {
    KSTEP_TRY(move_file(*config, stage / "config"));
  } else {
    spdlog::warn("the packages of {} hold no kernel config; kstep cannot check its options", release);
  }
  spdlog::info("unpacked in {}", seconds_since(start));

  start = Clock::now();
  if (auto extracted = extract_vmlinux_file(stage / "vmlinuz", stage / "vmlinux"); extracted) {
    std::error_code ec;
    spdlog::info("extracted vmlinux, {}, in {}", format_size(fs::file_size(stage / "vmlinux", ec)),
                 seconds_since(start));
  } else {
    // The bzImage still boots; only PVH boot and the host-side BTF are lost.
    spdlog::warn("cannot extract vmlinux, caching the bzImage only: {}", extracted.error().message);
  }

  const KernelOrigin origin{resolved.apt.suite(), options.package, resolved.version, options.source.uri,
                            utc_iso8601(options.now)};
  {
    std::ofstream out(stage / "origin", std::ios::binary | std::ios::trunc);
    out << format_origin(origin);
    out.close();
    if (!out) {
      return fail("cannot write {}", (stage / "origin").string());
    }
  }
  return cache.install(stage, release);
}

}  // namespace

std::vector<std::string> default_fetch_suites() {
  return {"trixie-backports", "sid"};
}

FetchOptions fetch_options_from_system(const std::vector<std::string>& suites) {
  FetchOptions options;
  if (!suites.empty()) {
    options.suites = suites;
  }
  options.source = system_debian_source("/etc/apt");
  options.now = std::chrono::system_clock::now();
  return options;
}

std::optional<std::string> release_from_metapackage(const PackageRecord& record) {
  constexpr std::string_view kPrefix = "linux-image-";
  for (const auto& dep : record.depends) {
    if (dep.starts_with(kPrefix) && dep.size() > kPrefix.size() && dep[kPrefix.size()] >= '0' &&
        dep[kPrefix.size()] <= '9') {
      return dep.substr(kPrefix.size());
    }
  }
  return std::nullopt;
}

Result<FetchResult> fetch_kernel(const KernelCache& cache, const FetchOptions& options,
                                 CommandRunner& runner) {
  if (options.suites.empty()) {
    return fail("kernel fetch: no suites to look in");
  }
  const auto start = Clock::now();
  auto workspace = cache.make_staging_dir();
  if (!workspace) {
    return Unexpected{std::move(workspace).error()};
  }
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < options.suites.size(); ++i) {
    const auto& suite = options.suites[i];
    spdlog::info("looking for {} in {} ({})", options.package, suite, options.source.uri);
    // Index, not suite name, in the path: a suite name may contain '/'.
    const auto dir = workspace->path() / fmt::format("suite-{}", i);
    auto resolved = resolve_in_suite(options, runner, dir, suite);
    if (!resolved) {
      spdlog::info("{}: {}", suite, resolved.error().message);
      problems.push_back(fmt::format("{}: {}", suite, resolved.error().message));
      continue;
    }
    auto cached = cache.find(resolved->release);
    if (!cached) {
      return Unexpected{std::move(cached).error()};
    }
    if (*cached) {
      spdlog::info("{} is cached already in {}", resolved->release, (*cached)->dir.string());
      return FetchResult{std::move(**cached), suite, true};
    }
    // From here a failure is not the suite's fault: report it, do not
    // quietly fetch an older kernel from the next suite.
    auto installed = download_and_install(cache, options, runner, dir, *resolved);
    if (!installed) {
      return Unexpected{std::move(installed).error().context(fmt::format("fetching {}", resolved->release))};
    }
    spdlog::info("cached {} in {} ({}, {} in all)", installed->release, installed->dir.string(),
                 format_size(installed->size_bytes), seconds_since(start));
    return FetchResult{std::move(*installed), suite, false};
  }
  return fail("no kernel fetched; {}", fmt::join(problems, "; "));
}

}  // namespace kstep::host::kernel
