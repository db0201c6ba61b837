// se.nr_migrations from /proc/<pid>/sched.
//
// A worker reads its own count just before it exits (the agent could not read
// it afterwards: the file goes away with the task), so reading must be
// async-signal-safe: open/read into a stack buffer, no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kstep::guest::workers {

// The value of the "se.nr_migrations" line of a /proc/<pid>/sched text.
[[nodiscard]] std::optional<std::uint64_t> parse_nr_migrations(std::string_view sched_text) noexcept;

// Reads `path` (e.g. "/proc/self/sched"); 0 when it is unreadable or has no
// such line (kernels without CONFIG_SCHED_DEBUG).
[[nodiscard]] std::uint64_t read_nr_migrations(const char* path) noexcept;

}  // namespace kstep::guest::workers
