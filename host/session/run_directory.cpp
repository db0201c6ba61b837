#include "host/session/run_directory.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace kstep::host {

Result<std::filesystem::path> default_runs_root(const char* xdg_state_home, const char* home) {
  // XDG: a relative value is invalid and must be ignored.
  if (xdg_state_home != nullptr && xdg_state_home[0] == '/') {
    return std::filesystem::path{xdg_state_home} / "kstep" / "runs";
  }
  if (home != nullptr && home[0] == '/') {
    return std::filesystem::path{home} / ".local" / "state" / "kstep" / "runs";
  }
  return fail("cannot place the run directory: neither XDG_STATE_HOME nor HOME is set; use --run-dir");
}

Result<std::filesystem::path> create_run_directory(const std::optional<std::filesystem::path>& requested,
                                                   const std::filesystem::path& runs_root,
                                                   std::chrono::system_clock::time_point now, int pid) {
  std::error_code ec;
  if (requested) {
    std::filesystem::create_directories(*requested, ec);
    if (ec) {
      return fail("cannot create run directory {}: {}", requested->string(), ec.message());
    }
    return std::filesystem::absolute(*requested);
  }
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "%Y%m%d-%H%M%S", &utc);
  const auto dir = runs_root / fmt::format("{}-{}", stamp.data(), pid);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail("cannot create run directory {}: {}", dir.string(), ec.message());
  }
  // `latest` is a convenience; failing to update it must not fail the run.
  const auto latest = runs_root / "latest";
  const auto temp_link = runs_root / fmt::format(".latest-{}", pid);
  std::filesystem::remove(temp_link, ec);
  std::filesystem::create_directory_symlink(dir.filename(), temp_link, ec);
  if (!ec) {
    std::filesystem::rename(temp_link, latest, ec);
  }
  return dir;
}

Result<void> write_key_values(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string text;
  for (const auto& [key, value] : entries) {
    std::string flat = value;
    std::replace(flat.begin(), flat.end(), '\n', ' ');
    text += key + '=' + flat + '\n';
  }
  return write_file_atomically(path, text);
}

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  const auto temp = std::filesystem::path{path.string() + ".tmp"};
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out.flush()) {
      return fail("cannot write {}", temp.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    return fail("cannot write {}: {}", path.string(), ec.message());
  }
  return {};
}

}  // namespace kstep::host
