// The run directory: where one run's logs and results are kept.
//
// Default location: $XDG_STATE_HOME/kstep/runs/<YYYYmmdd-HHMMSS>-<pid>
// (~/.local/state when XDG_STATE_HOME is unset), with a `latest` symlink
// beside it. A directory given with --run-dir is used as it is (created if
// missing), so scripts know where to look.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace kstep::host {

// $XDG_STATE_HOME/kstep/runs, falling back to $HOME/.local/state/kstep/runs.
[[nodiscard]] Result<std::filesystem::path> default_runs_root(const char* xdg_state_home, const char* home);

[[nodiscard]] Result<std::filesystem::path> create_run_directory(
    const std::optional<std::filesystem::path>& requested, const std::filesystem::path& runs_root,
    std::chrono::system_clock::time_point now, int pid);

// Writes `text` to `path` through a temporary file and a rename, so a reader
// never sees half a file.
[[nodiscard]] Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text);

// Writes `key=value` lines (values on one line each) to `path`, atomically.
Result<void> write_key_values(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace kstep::host
