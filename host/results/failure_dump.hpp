// Text gathered for a FailureDump (proto/result.proto): the kernel's
// sched_ext debug dump out of a scheduler's stderr, and bounded tails of
// the console log and the scheduler's output files.
//
// The debug dump is framed the way the kernel's tools/sched_ext loaders
// print it (UEI_REPORT in scx/user_exit_info.h), which kstep-sched copies:
//
//   DEBUG DUMP
//   ================================================================================
//   <blank line>
//   <the dump: "kstep-sched[123] triggered exit kind 1025:", backtrace,
//    CPU and task states, blank lines between its sections>
//   ================================================================================
//
// so one extractor serves kstep-sched and the kernel's example schedulers.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace kstep::host {

// The last debug dump in `scheduler_stderr` (a file may hold the output of
// several schedulers), without its framing and surrounding blank lines; it
// ends at the closing line of '=' or, when the output was cut short, at the
// end of the text. At most `max_bytes`: a longer dump keeps its head (the
// exit reason and backtrace come first) and ends with a "[... N more bytes]"
// note. Empty when there is no dump.
[[nodiscard]] std::string sched_ext_debug_dump(std::string_view scheduler_stderr, std::size_t max_bytes);

// The last `max_lines` lines of the file, and at most its last `max_bytes`
// bytes (a line cut by that bound loses its head, unless it is the only
// one). Empty for a missing or unreadable file.
[[nodiscard]] std::string tail_of_file(const std::filesystem::path& path, std::size_t max_lines,
                                       std::size_t max_bytes);

}  // namespace kstep::host
