#include "host/cli/host_context.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string_view>
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

namespace {

// `name` beside kstep (installed or copied), in the build tree
// (build/host/kstep -> build/<build_subdir>/name), or under libexec.
std::array<std::filesystem::path, 3> candidates_for(const std::filesystem::path& self_dir,
                                                    std::string_view name,
                                                    const std::filesystem::path& build_subdir) {
  return {self_dir / name, self_dir / ".." / build_subdir / name,
          self_dir / ".." / "libexec" / "kstep" / name};
}

std::optional<std::filesystem::path> first_executable(
    const std::array<std::filesystem::path, 3>& candidates) {
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) {
      return std::filesystem::weakly_canonical(candidate);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::filesystem::path> find_agent(const std::filesystem::path& self_dir) {
  const auto candidates = candidates_for(self_dir, "kstep-init", "guest");
  if (auto found = first_executable(candidates)) {
    return *found;
  }
  return fail("cannot find kstep-init beside {} (looked in {}, {} and {}); build it or pass --agent",
              self_dir.string(), candidates[0].string(), candidates[1].string(), candidates[2].string());
}

std::optional<std::filesystem::path> find_bundled_scheduler(const std::filesystem::path& self_dir) {
  return first_executable(
      candidates_for(self_dir, "kstep-sched", std::filesystem::path{"images"} / "scheduler"));
}

}  // namespace kstep::host
