// The whole life of kstep-init, shared with the test agents that behave
// like it (agent-old-protocol).
//
// As PID 1: mount the essential filesystems, open the control port, say
// Hello, serve the host, power off. Started by hand (not PID 1) it mounts
// nothing and powers nothing off; it just exits with a status.
//
// Nothing escapes: every error and exception ends in a FatalError frame (if
// the port is open), a line on the console, and power-off. PID 1 returning
// would panic the kernel and hide the actual error.
#pragma once

#include <functional>
#include <string>

#include "guest/hello.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

struct InitOptions {
  std::string program = "kstep-init";  // prefix of console lines
  SystemRoots roots;
  // Lets a test agent alter Hello (e.g. claim another protocol version).
  std::function<void(wire::Hello&)> edit_hello;
};

// Exit status for a non-PID-1 run: 0 after Shutdown, 1 otherwise. As PID 1
// it returns only if powering off failed.
[[nodiscard]] int init_main(const InitOptions& options) noexcept;

// The PID-1 setup every agent needs before it can talk to the host: mounts
// and standard fds. Skipped (returns success) when not PID 1.
[[nodiscard]] Result<void> prepare_machine(const SystemRoots& roots);

}  // namespace kstep::guest
