// Turns what a session observed into exactly one Outcome.
//
// Pure, so every combination is unit-tested: the session only records facts
// (what arrived, what fired, how QEMU ended) and asks classify() at the end.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/session/console_scanner.hpp"
#include "host/session/outcome.hpp"

namespace kstep::host {

struct SessionFacts {
  bool interrupted = false;                   // SIGINT/SIGTERM reached kstep
  std::vector<Splat> splats;                  // kernel splats seen on the console
  std::optional<std::string> protocol_error;  // framing, version or sequence error
  bool inactivity_timeout = false;            // no frame and no console output for --timeout
  bool ignored_shutdown = false;              // still running after Shutdown + grace
  bool hello_received = false;
  std::optional<std::string> guest_fatal;  // FatalError frame from the agent
  bool shutdown_sent = false;
  std::optional<std::string> scenario_failure;    // the guest reported a failed scenario: why
  std::optional<std::string> scheduler_failure;   // the sched_ext scheduler failed: how
  std::optional<std::string> kernel_unsupported;  // the kernel lacks what the run needs
  std::optional<std::string> qemu_failure;        // QEMU ended abnormally without booting a guest
  bool console_output_seen = false;
};

struct Classification {
  Outcome outcome;
  std::string reason;  // one line for the terminal and the report
};

[[nodiscard]] Classification classify(const SessionFacts& facts);

}  // namespace kstep::host
