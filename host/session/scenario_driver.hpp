// ScenarioDriver: the host's side of a scenario run.
//
// On Hello it sends RunScenario; then it records every scenario frame
// (ScenarioRecord checks their order), prints progress ("step 2/5 ..."),
// writes payload output to the run directory as it arrives, and on
// ScenarioEnd marks the scenario failed when the guest says so and asks the
// guest to shut down. A frame out of order is a protocol error.
//
// With a sched_ext scheduler it also checks at Hello that the kernel has
// sched_ext, shows the scheduler's events and output live, writes them to
// scheduler-events.txt and scheduler.stdout|stderr, and reports a scenario
// that failed because of the scheduler as a scheduler failure.
//
// The BPF map handshakes (catalog, AccessorReady, map writes, the failure
// dump) are MapHandshake's; the driver feeds it frames and time, and asks
// for the dump on the first failure it sees.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "host/session/guest_driver.hpp"
#include "host/session/map_handshake.hpp"
#include "host/session/scenario_record.hpp"

namespace kstep::host {

// A scheduler event as the host received it.
struct ReceivedSchedulerEvent {
  wire::SchedulerEvent event;
  // When this host received it, on the guest's CLOCK_MONOTONIC: the host's
  // receive time mapped through Hello (the guest's uptime then against the
  // host's receive time; the two clocks tick together, QEMU's clock devices
  // follow the host's). Comparable with detected_us and with a scheduler's
  // own bpf_ktime_get_ns(). nullopt before Hello.
  std::optional<std::uint64_t> received_guest_us;
};

class ScenarioDriver final : public GuestDriver {
 public:
  // `progress` receives one line per step; `run_dir` gets payloads/ID.stdout
  // and payloads/ID.stderr.
  // `maps` configures the BPF map handshakes (map_handshake.hpp); its
  // writes must also be in `run` (await_map_write set).
  ScenarioDriver(wire::RunScenario run, std::filesystem::path run_dir, std::ostream& progress,
                 MapHandshakeOptions maps = {});

  void on_hello(const wire::Hello& hello, SessionControl& control) override;
  void on_message(const wire::GuestMessage& message, SessionControl& control) override;
  void on_tick(SessionControl& control) override;

  [[nodiscard]] const ScenarioRecord& record() const noexcept { return record_; }
  [[nodiscard]] const wire::RunScenario& run() const noexcept { return run_; }
  [[nodiscard]] const MapHandshake& maps() const noexcept { return maps_; }
  [[nodiscard]] const std::vector<ReceivedSchedulerEvent>& scheduler_events() const noexcept {
    return scheduler_events_;
  }

 private:
  void show_progress(const wire::StepStart& start);
  void write_output(const wire::PayloadOutput& output);
  void echo_scheduler_output(const wire::PayloadOutput& output);
  void on_scheduler_event(const wire::SchedulerEvent& event, SessionControl& control);
  void on_scenario_end(const wire::ScenarioEnd& end, SessionControl& control);
  void shut_down(SessionControl& control);
  [[nodiscard]] bool needs_sched_ext() const;

  wire::RunScenario run_;
  std::filesystem::path run_dir_;
  std::ostream* progress_;
  ScenarioRecord record_;
  std::map<std::string, std::ofstream> outputs_;
  std::map<std::string, std::string> partial_lines_;  // scheduler output not yet ended by '\n'
  std::vector<ReceivedSchedulerEvent> scheduler_events_;
  std::ofstream events_file_;
  // The guest's uptime in Hello and this host's clock when Hello came.
  std::optional<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> hello_at_;
  MapHandshake maps_;
  // ScenarioEnd came while the failure dump was still on its way: the
  // shutdown waits for it until this deadline.
  std::optional<std::chrono::steady_clock::time_point> shutdown_after_dump_;
};

// The Detail kinds that say the scheduler failed (not the workload).
[[nodiscard]] bool is_scheduler_detail(wire::Detail::Kind kind) noexcept;

// "scheduler 'kstep-sched' attached (ops kstep) in 0.42 s", one line per event.
[[nodiscard]] std::string describe_scheduler_event(const wire::SchedulerEvent& event);

// The first failure of an ended scenario, for the verdict line:
// "step 2 (grow): STEP_FAILED: cgroup 'web' already exists".
[[nodiscard]] std::string describe_failure(const wire::ScenarioEnd& end);

// A payload id as a file name: anything but [A-Za-z0-9._-] becomes '_'.
[[nodiscard]] std::string file_name_for(const std::string& id);

}  // namespace kstep::host
