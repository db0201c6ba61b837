// The kernel console (stderr, which the kernel opened on /dev/console for
// PID 1) is scanned by the host for kernel splats, so the agent writes there
// only what a human must see when the port cannot carry it: fatal errors.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.hpp"

namespace kstep::guest {

// Makes sure fds 0, 1 and 2 are open, on <dev_root>/console or else
// <dev_root>/null. When the kernel could not open an initial console, PID 1
// starts without them; the next open() would then return 0, 1 or 2 and the
// control port would receive whatever is later written to stderr.
[[nodiscard]] Result<void> ensure_standard_fds(const std::filesystem::path& dev_root);

// Writes "<program>: <line>\n" to stderr, ignoring failures (there is
// nowhere left to report them).
void console_line(std::string_view program, std::string_view line) noexcept;

}  // namespace kstep::guest
