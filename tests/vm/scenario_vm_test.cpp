// VM tests of scenarios: the step executor runs in the real guest, on the
// real kernel's cgroups, with real workers and real payload binaries.
#include <gtest/gtest.h>

#include <string>

#include "tests/vm/vm_fixture.hpp"

namespace kstep::vmtest {
namespace {

TEST_F(Vm, DefaultRunIsTheSteadyScenario) {
  const auto result = run({});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "scenario steady")) << result.output;
  EXPECT_TRUE(contains(result.output, "step 1/")) << result.output;
  EXPECT_TRUE(contains(result.output, "iter/s")) << result.output;
  // Every step completed and the iterations of the hold were counted.
  const auto steps = file("steps.txt");
  EXPECT_FALSE(contains(steps, "not run")) << steps;
  const auto reports = file("reports.txt");
  EXPECT_TRUE(contains(reports, "passed: true")) << reports;
  EXPECT_TRUE(contains(reports, "iterations: ")) << reports;
  EXPECT_TRUE(contains(reports, "cpus_used: ")) << reports;
  EXPECT_FALSE(file("scenario.textproto").empty());
}

// Every built-in scenario (kstep scenarios lists the same names; the unit
// test CannedScenarios.VmTestsCoverEveryBuiltin keeps the lists in step).
class CannedScenario : public Vm, public ::testing::WithParamInterface<const char*> {};

TEST_P(CannedScenario, Passes) {
  const auto result = run({"--scenario", GetParam()});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const auto reports = file("reports.txt");
  EXPECT_TRUE(contains(reports, "passed: true")) << reports;
}

INSTANTIATE_TEST_SUITE_P(Builtin, CannedScenario,
                         ::testing::Values("steady", "cpuset-split", "cpuset-swap", "freeze-thaw",
                                           "task-moves", "nested", "loop-churn", "mixed-work", "cpu-max",
                                           "affinity", "policies", "spawn-stop", "mem-policy"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') {
                               c = '_';
                             }
                           }
                           return name;
                         });

TEST_F(Vm, HackbenchRunsAsAPayload) {
  const auto result = run({"--scenario", data("hackbench.textproto")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(file("payloads/hackbench.stdout"), "Time:")) << file("payloads/hackbench.stdout");
  EXPECT_TRUE(contains(file("reports.txt"), "exit_code: 0") || !contains(file("reports.txt"), "exit_code:"))
      << file("reports.txt");
}

TEST_F(Vm, StressNgRunsWithItsSharedLibrariesUnderCpuMax) {
  const auto result = run({"--scenario", data("stress-ng.textproto")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const auto out = file("payloads/stress-ng.stdout") + file("payloads/stress-ng.stderr");
  EXPECT_TRUE(contains(out, "successful run completed")) << out;
}

TEST_F(Vm, JsonMetricsOfAPayloadReachTheReport) {
  const auto result = run({"--scenario", data("json-metrics.textproto")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const auto reports = file("reports.txt");
  EXPECT_TRUE(contains(reports, "key: \"ops_per_s\"")) << reports;
  EXPECT_TRUE(contains(reports, "value: 1234.5")) << reports;
  EXPECT_TRUE(contains(reports, "key: \"latency.p99_us\"")) << reports;
}

TEST_F(Vm, AFailingPayloadFailsItsStepWithItsExitCode) {
  const auto result = run({"--scenario", data("failing-payload.textproto")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "scenario-failure")) << result.output;
  EXPECT_TRUE(contains(result.output, "PAYLOAD_FAILED")) << result.output;
}

TEST_F(Vm, AFailedCheckFailsTheScenario) {
  const auto result = run({"--scenario", data("overcommitted-gap.textproto")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "GAP")) << result.output;
  // The results of the run are kept.
  EXPECT_TRUE(contains(file("reports.txt"), "max_gap_us")) << file("reports.txt");
}

TEST_F(Vm, ABadScenarioFileIsRefusedBeforeBootNamingEachError) {
  const auto result = run({"--scenario", data("invalid.textproto")});
  EXPECT_EQ(result.exit_code, 64) << result.output;
  EXPECT_TRUE(contains(result.output, "invalid.textproto:")) << result.output;
  EXPECT_FALSE(contains(result.output, "booting")) << result.output;
}

TEST_F(Vm, TopologyReachesTheGuestAndItsCpusetsHold) {
  const auto result =
      run({"--topology", "2,1,2,1,2", "--memory", "512M", "--scenario", data("numa-isolation.textproto")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "guest: 4 CPUs (2 packages, 4 cores, 4 threads, 2 LLCs, 2 NUMA nodes)"))
      << result.output;
}

TEST_F(Vm, ACpusetTheTopologyCannotSatisfyIsRefused) {
  const auto result = run({"--scenario", data("numa-isolation.textproto")});  // 2 flat CPUs: no node 1
  EXPECT_EQ(result.exit_code, 64) << result.output;
  EXPECT_TRUE(contains(result.output, "NUMA node 1 has no CPUs")) << result.output;
}

TEST_F(Vm, ScenarioNoneOnlyShakesHands) {
  const auto result = run({"--scenario", "none"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_FALSE(contains(result.output, "step 1/")) << result.output;
}

}  // namespace
}  // namespace kstep::vmtest
