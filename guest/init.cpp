#include "guest/init.hpp"

#include <unistd.h>

#include <exception>
#include <optional>

#include "common/protocol.hpp"
#include "guest/agent.hpp"
#include "guest/console.hpp"
#include "guest/mounts.hpp"
#include "guest/port.hpp"
#include "guest/port_finder.hpp"
#include "guest/power.hpp"
#include "guest/scenario_child.hpp"
#include "guest/system_info.hpp"

namespace kstep::guest {
namespace {

bool is_pid1() noexcept {
  return ::getpid() == 1;
}

// Serves one run; `port` is filled as soon as the port opens so a failure
// after that can still be reported on it.
Result<AgentStop> serve(const InitOptions& options, PowerControl& power, std::optional<Port>& port) {
  KSTEP_TRY(prepare_machine(options.roots));
  auto fd = open_port(options.roots.sys, options.roots.dev, kControlPortName);
  if (!fd) {
    return Unexpected{std::move(fd).error()};
  }
  port.emplace(std::move(*fd));
  // The scenario process is a fork of this one: `options` outlives it.
  ScenarioEntry run_scenario = [&options](const wire::RunScenario& run, int frames_fd) {
    return run_scenario_child(run, frames_fd, options.roots);
  };
  auto agent = Agent::create(*port, power, AgentOptions{}, std::move(run_scenario));
  if (!agent) {
    return Unexpected{std::move(agent).error()};
  }
  auto hello = build_hello(options.roots, kernel_release(), boot_time_us());
  if (!hello) {
    return Unexpected{std::move(hello).error()};
  }
  if (options.edit_hello) {
    options.edit_hello(*hello);
  }
  KSTEP_TRY(agent->say_hello(*hello));
  return agent->run();
}

// Last words: on the port if it is open (the host shows them as the cause),
// and on the console (in case the port is what failed).
void report_fatal(const std::string& program, std::optional<Port>& port,
                  const std::string& message) noexcept {
  console_line(program, message);
  if (!port) {
    return;
  }
  try {
    wire::GuestMessage fatal;
    fatal.mutable_fatal()->set_message(message);
    if (port->queue(fatal)) {
      (void)port->flush_blocking(std::chrono::seconds{2});
    }
  } catch (...) {
    // Nothing more can be done; the console line is out.
  }
}

// Called inside a catch block. Formatting may itself run out of memory; the
// message is then lost but power-off still follows.
std::string describe_current_exception() noexcept {
  try {
    try {
      throw;
    } catch (const std::exception& e) {
      return fmt::format("uncaught exception: {}", e.what());
    } catch (...) {
      return "uncaught exception of unknown type";
    }
  } catch (...) {
    return {};
  }
}

}  // namespace

Result<void> prepare_machine(const SystemRoots& roots) {
  if (!is_pid1()) {
    return {};
  }
  auto mounted = mount_all("/", essential_mounts(), system_mount());
  if (!mounted) {
    return mounted;
  }
  return ensure_standard_fds(roots.dev);
}

int init_main(const InitOptions& options) noexcept {
  const bool pid1 = is_pid1();
  MachinePower machine;
  ProcessPower process;
  PowerControl& power = pid1 ? static_cast<PowerControl&>(machine) : process;

  std::optional<Port> port;
  std::string fatal;
  try {
    auto stopped = serve(options, power, port);
    if (stopped) {
      // The agent has already stopped everything and powered off; reaching
      // here as PID 1 means reboot(2) failed.
      if (!pid1) {
        return stopped->reason == StopReason::kShutdown ? 0 : 1;
      }
      fatal = fmt::format("power-off failed after {} ({})", to_string(stopped->reason), stopped->detail);
    } else {
      fatal = stopped.error().message;
    }
  } catch (...) {
    fatal = describe_current_exception();
  }
  report_fatal(options.program, port, fatal);
  power.stop_processes(kStopGrace);
  power.power_off();
  return 1;
}

}  // namespace kstep::guest
