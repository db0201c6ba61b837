// ScenarioDriver: the host's side of a scenario run.
//
// On Hello it sends RunScenario; then it records every scenario frame
// (ScenarioRecord checks their order), prints progress ("step 2/5 ..."),
// writes payload output to the run directory as it arrives, and on
// ScenarioEnd marks the scenario failed when the guest says so and asks the
// guest to shut down. A frame out of order is a protocol error.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <string>

#include "host/session/guest_driver.hpp"
#include "host/session/scenario_record.hpp"

namespace kstep::host {

class ScenarioDriver final : public GuestDriver {
 public:
  // `progress` receives one line per step; `run_dir` gets payloads/ID.stdout
  // and payloads/ID.stderr.
  ScenarioDriver(wire::RunScenario run, std::filesystem::path run_dir, std::ostream& progress);

  void on_hello(const wire::Hello& hello, SessionControl& control) override;
  void on_message(const wire::GuestMessage& message, SessionControl& control) override;

  [[nodiscard]] const ScenarioRecord& record() const noexcept { return record_; }
  [[nodiscard]] const wire::RunScenario& run() const noexcept { return run_; }

 private:
  void show_progress(const wire::StepStart& start);
  void write_output(const wire::PayloadOutput& output);

  wire::RunScenario run_;
  std::filesystem::path run_dir_;
  std::ostream* progress_;
  ScenarioRecord record_;
  std::map<std::string, std::ofstream> outputs_;
};

// The first failure of an ended scenario, for the verdict line:
// "step 2 (grow): STEP_FAILED: cgroup 'web' already exists".
[[nodiscard]] std::string describe_failure(const wire::ScenarioEnd& end);

// A payload id as a file name: anything but [A-Za-z0-9._-] becomes '_'.
[[nodiscard]] std::string file_name_for(const std::string& id);

}  // namespace kstep::host
