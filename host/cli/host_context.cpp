#include "host/cli/host_context.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <system_error>

#include "host/session/run_directory.hpp"

namespace kstep::host {
namespace {

std::filesystem::path cache_root(const char* xdg_cache_home, const char* home) {
  if (xdg_cache_home != nullptr && xdg_cache_home[0] == '/') {
    return std::filesystem::path{xdg_cache_home} / "kstep";
  }
  return std::filesystem::path{home != nullptr ? home : "/"} / ".cache" / "kstep";
}

}  // namespace

Result<HostContext> host_context_from_environment() {
  HostContext context;
  const char* home = std::getenv("HOME");
  context.cache_dir = cache_root(std::getenv("XDG_CACHE_HOME"), home);
  auto runs = default_runs_root(std::getenv("XDG_STATE_HOME"), home);
  KSTEP_TRY(runs);
  context.runs_root = std::move(runs).value();
  const char* tmpdir = std::getenv("TMPDIR");
  context.temp_dir = tmpdir != nullptr && tmpdir[0] == '/' ? tmpdir : "/tmp";
  const char* path = std::getenv("PATH");
  context.path_env = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return fail("cannot find the kstep binary through /proc/self/exe: {}", ec.message());
  }
  context.self_dir = self.parent_path();
  return context;
}

Result<std::filesystem::path> find_agent(const std::filesystem::path& self_dir) {
  const std::array candidates = {self_dir / "kstep-init", self_dir / ".." / "guest" / "kstep-init",
                                 self_dir / ".." / "libexec" / "kstep" / "kstep-init"};
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) {
      return std::filesystem::weakly_canonical(candidate);
    }
  }
  return fail("cannot find kstep-init beside {} (looked in {}, {} and {}); build it or pass --agent",
              self_dir.string(), candidates[0].string(), candidates[1].string(), candidates[2].string());
}

std::optional<std::filesystem::path> find_bundled_scheduler(const std::filesystem::path& self_dir) {
  const std::array candidates = {self_dir / "kstep-sched",
                                 self_dir / ".." / "images" / "scheduler" / "kstep-sched",
                                 self_dir / ".." / "libexec" / "kstep" / "kstep-sched"};
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) {
      return std::filesystem::weakly_canonical(candidate);
    }
  }
  return std::nullopt;
}

}  // namespace kstep::host
