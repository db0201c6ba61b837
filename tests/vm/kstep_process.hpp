// Runs the real kstep binary for VM tests and captures what it did.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kstep::vmtest {

struct KstepRun {
  int exit_code = -1;                   // -1 if kstep died of a signal
  std::string output;                   // stdout and stderr, interleaved
  std::vector<int> leftover_processes;  // descendants still alive after kstep exited
};

// Runs `kstep args...`; with `interrupt_after`, sends SIGINT to kstep then.
// The calling process is made a child subreaper, so a QEMU that kstep failed
// to reap would be re-parented here and show up in leftover_processes.
KstepRun run_kstep(const std::vector<std::string>& args,
                   std::optional<std::chrono::milliseconds> interrupt_after = std::nullopt);

}  // namespace kstep::vmtest
