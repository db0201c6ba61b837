// The StepExecutor tests' fixture: an executor wired to fakes, a plain
// directory for cgroups, a 4-CPU flat topology and one declared payload.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/cpuset_spec.hpp"
#include "guest/executor/step_executor.hpp"
#include "tests/unit/guest/executor/executor_fakes.hpp"
#include "tests/unit/guest/executor/scheduler_fakes.hpp"

namespace kstep::guest::testing {

class ExecutorFixture : public ::testing::Test {
 protected:
  static constexpr std::chrono::milliseconds kGrace{150};

  wire::ScenarioEnd run(const std::string& text) { return run(parse_scenario(text)); }

  wire::ScenarioEnd run(const scenario::Scenario& scenario) {
    ExecutorEnv env{cgroups,
                    workers,
                    payloads,
                    clock,
                    sink,
                    topology,
                    payload_paths,
                    kGrace,
                    &schedulers,
                    scenario_scheduler,
                    std::chrono::milliseconds{20000}};
    env.handshake = handshake;
    env.await_map_write = await_map_write;
    env.map_write_gate = map_write_gate;
    StepExecutor executor{std::move(env)};
    return executor.run(scenario);
  }

  // ms since the run started (the clock does not move before ScenarioStart).
  [[nodiscard]] std::int64_t ms_since_start(ExecutorClock::TimePoint at) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(at - clock.origin()).count();
  }

  [[nodiscard]] std::string file(const std::filesystem::path& relative) const {
    std::ifstream in{dir.path() / relative};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  [[nodiscard]] bool exists(const std::filesystem::path& relative) const {
    return std::filesystem::exists(dir.path() / relative);
  }

  TempDir dir;
  CgroupFs cgroups{dir.path(), CgroupFs::Kind::kPlainDirectory};
  FakeClock clock;
  RecordingSink sink;
  FakeWorkerLauncher workers{clock, cgroups};
  FakePayloadLauncher payloads{clock, cgroups};
  FakeSchedulerLauncher schedulers{clock};
  std::optional<SchedulerRequest> scenario_scheduler;  // kstep run --scheduler
  HostHandshake* handshake = nullptr;                  // the host's map handshakes
  bool await_map_write = false;                        // the host queued map writes
  std::chrono::milliseconds map_write_gate{kDefaultGateBudget};
  wire::Topology topology = flat_topology(4);
  std::map<std::string, std::string> payload_paths{{"bench", "/kstep/payloads/bench"},
                                                   {"tool", "/kstep/payloads/tool"}};
};

// Details of `kind` in `end`.
inline std::vector<wire::Detail> details_of(const wire::ScenarioEnd& end, wire::Detail::Kind kind) {
  std::vector<wire::Detail> found;
  for (const auto& detail : end.details()) {
    if (detail.kind() == kind) {
      found.push_back(detail);
    }
  }
  return found;
}

// The report of `cgroup` in `report`, or nullptr.
inline const wire::CgroupReport* cgroup_report(const wire::StepReport& report, const std::string& cgroup) {
  for (const auto& entry : report.cgroups()) {
    if (entry.cgroup() == cgroup) {
      return &entry;
    }
  }
  return nullptr;
}

}  // namespace kstep::guest::testing
