// Agent: the guest side of the conversation, after the port is open.
//
// It says Hello, then runs one poll loop over its fds until the run ends:
//   port     frames from the host (RunScenario, Shutdown), EOF when the host goes away
//   signalfd SIGCHLD, to reap children and orphans
//   timerfd  a Heartbeat every `heartbeat_interval`
//   scenario the frames of the running scenario process, relayed to the host
// A RunScenario forks a scenario process (scenario_process.hpp); one that
// arrives while another runs waits for it.
// Every way out of the loop ends the same way: send what there is to say
// (a Log, a FatalError), stop all processes, power off, through the injected
// PowerControl. run() therefore returns only in tests and outside PID 1.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "common/protocol.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "guest/child_reaper.hpp"
#include "guest/port.hpp"
#include "guest/power.hpp"
#include "guest/scenario_process.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

struct AgentOptions {
  std::chrono::milliseconds heartbeat_interval{kHeartbeatIntervalMs};
  // Hello and the last frames before power-off may wait this long for the
  // host to take them.
  std::chrono::milliseconds send_timeout{5000};
  // Output pending this long without any byte going out means the host has
  // stopped reading: it is treated as gone.
  std::chrono::milliseconds write_stall_timeout{10000};
  std::chrono::milliseconds stop_grace{kStopGrace};
};

enum class StopReason {
  kShutdown,       // the host sent Shutdown
  kHostGone,       // the port closed or stopped taking data
  kProtocolError,  // the host sent bytes that do not decode
  kInternalError,  // a syscall in the loop failed
};

[[nodiscard]] std::string_view to_string(StopReason reason) noexcept;

struct AgentStop {
  StopReason reason;
  std::string detail;
};

class Agent {
 public:
  // `port` and `power` must outlive the agent. Without a `scenario_entry`
  // the agent refuses RunScenario (test agents that only shake hands).
  [[nodiscard]] static Result<Agent> create(Port& port, PowerControl& power, AgentOptions options = {},
                                            ScenarioEntry scenario_entry = {});

  // Sends Hello and waits until it is written (the host may still be
  // connecting). Call once, before run().
  [[nodiscard]] Result<void> say_hello(const wire::Hello& hello);

  // Serves the host until the run ends, then powers off through the
  // PowerControl and returns why.
  AgentStop run();

 private:
  Agent(Port& port, PowerControl& power, AgentOptions options, UniqueFd timer, ChildReaper reaper,
        ScenarioEntry scenario_entry) noexcept
      : port_(&port),
        power_(&power),
        options_(options),
        timer_(std::move(timer)),
        reaper_(std::move(reaper)),
        scenario_entry_(std::move(scenario_entry)) {}

  // One pass of the loop; a value means the run is over.
  std::optional<AgentStop> step();
  std::optional<AgentStop> on_port_ready(short revents);
  std::optional<AgentStop> on_timer();
  std::optional<AgentStop> on_run_scenario(const wire::RunScenario& run);
  std::optional<AgentStop> start_next_scenario();
  // AccessorReady, BpfMapWrite, BpfWriteDone, DumpRequest: the scenario
  // process holds the maps and the latches.
  std::optional<AgentStop> forward_to_scenario(const wire::HostMessage& message);
  std::optional<AgentStop> on_scenario_readable();
  std::optional<AgentStop> on_children_exited();
  std::optional<AgentStop> relay(Result<std::vector<wire::GuestMessage>> messages);
  std::optional<AgentStop> flush_output();
  std::optional<AgentStop> queue(const wire::GuestMessage& message);
  std::optional<AgentStop> queue_log(wire::Log::Level level, std::string text);
  void finish(const AgentStop& stop) noexcept;

  Port* port_;
  PowerControl* power_;
  AgentOptions options_;
  UniqueFd timer_;
  ChildReaper reaper_;
  std::chrono::steady_clock::time_point last_write_progress_;
  ScenarioEntry scenario_entry_;
  std::unique_ptr<ScenarioProcess> scenario_;
  std::deque<wire::RunScenario> waiting_runs_;
};

}  // namespace kstep::guest
