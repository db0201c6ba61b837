// The failure dump of a run and the map handshakes' record, as they go into
// the result document: the scheduler's maps rendered from the guest's dump
// (MapHandshake), the kernel's sched_ext debug dump (from the scheduler's
// stderr), the console's tail and the scheduler's own output. Also kept
// readable in the run directory as failure-dump.txt.
#pragma once

#include <filesystem>
#include <string>

#include "host/session/map_handshake.hpp"
#include "result.pb.h"

namespace kstep::host {

// Bounds of what a failure dump keeps of each log.
inline constexpr std::size_t kConsoleTailLines = 60;
inline constexpr std::size_t kConsoleTailBytes = 16 * 1024;
inline constexpr std::size_t kSchedulerOutputBytes = 16 * 1024;
inline constexpr std::size_t kSchedExtDumpBytes = 64 * 1024;

// Adds the catalog and the map writes; and, when the run failed (`failed`)
// or the handshake saw a failure, the failure dump. `reason` is the run's
// one-line reason, the trigger when the handshake saw none.
void add_map_results(result::RunResult& doc, const MapHandshake& maps, const std::filesystem::path& run_dir,
                     bool failed, const std::string& reason);

// failure-dump.txt: the dump for people.
[[nodiscard]] std::string render_failure_dump(const result::FailureDump& dump);

}  // namespace kstep::host
