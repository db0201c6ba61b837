// GuestSession: runs one VM from spawn to reaped exit and says how it went.
//
// A single-threaded Boost.Asio state machine (booting -> connected ->
// draining -> done). It listens on the control socket before QEMU starts,
// reads the serial console (QEMU's stdout) into console.log and the splat
// scanner, decodes frames from the control port, hands the conversation to a
// GuestDriver, and enforces the timeouts:
//   - inactivity: no frame and no console output for `inactivity_timeout`
//     means a hung guest;
//   - shutdown grace: after Shutdown the guest must power off in time;
//   - splat grace: after an Oops/BUG/lockup the VM may print its trace, then
//     it is stopped (a panic stops it by itself: -no-reboot, panic=-1).
// Whatever happens, QEMU is killed and reaped before run() returns.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "host/session/classify.hpp"
#include "host/session/guest_driver.hpp"
#include "kstep.pb.h"

namespace kstep::host {

struct SessionOptions {
  std::chrono::milliseconds inactivity_timeout{std::chrono::seconds{30}};
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds{15}};
  std::chrono::milliseconds splat_grace{std::chrono::seconds{3}};
  bool echo_console = false;  // copy console lines to stderr as they arrive
};

struct SessionLaunch {
  std::vector<std::string> qemu_argv;    // the control chardev points at control_socket
  std::filesystem::path control_socket;  // inside a private 0700 directory
  std::filesystem::path run_dir;         // console.log, agent.log, qemu.log go here
};

struct SessionResult {
  Classification classification;
  SessionFacts facts;
  std::optional<wire::Hello> hello;
  // From QEMU spawn: to the first console byte, to Hello, to QEMU's exit.
  std::optional<std::chrono::microseconds> first_console_after;
  std::optional<std::chrono::microseconds> hello_after;
  std::chrono::microseconds total{};
  std::string qemu_exit;  // how QEMU ended, in words
  std::vector<std::string> console_tail;
};

// Fails only when the VM could not be started at all (socket, pipe, spawn);
// everything that happens once QEMU runs is in the SessionResult.
[[nodiscard]] Result<SessionResult> run_guest_session(const SessionLaunch& launch,
                                                      const SessionOptions& options, GuestDriver& driver);

// One line describing the guest, from its Hello.
[[nodiscard]] std::string describe_hello(const wire::Hello& hello);

}  // namespace kstep::host
