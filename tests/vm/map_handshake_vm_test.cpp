// VM tests of the BPF map handshakes on the real kernel with kstep-sched: a
// map write that makes the scheduler stall, the BpfWriteDone gate holding
// the workload until the write landed, the failure dump rendering the
// maps' real values, and a write that cannot resolve.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/vm/vm_fixture.hpp"

namespace kstep::vmtest {
namespace {

class MapHandshakeVm : public Vm {};

TEST_F(MapHandshakeVm, AMapWriteMakesTheSchedulerStallAndTheDumpShowsTheMaps) {
  // Without the write kstep-sched would schedule for the whole 20 s hold.
  const auto result =
      run({"--scheduler", "kstep-sched", "--sched-arg", "--watchdog-ms", "--sched-arg", "2000", "--scenario",
           data("scheduler-map-write.textproto"), "--bpf-write", "bss.stall_after_ms=500"});
  EXPECT_EQ(result.exit_code, 5) << result.output;
  EXPECT_TRUE(contains(result.output, "SCHEDULER_STALLED")) << result.output;
  // The catalog was adopted and the write landed, read back by the agent.
  EXPECT_TRUE(contains(result.output, "adopted")) << result.output;
  const auto written = result.output.find("stall_after_ms: 0 -> 500");
  ASSERT_NE(written, std::string::npos) << result.output;
  // The gate: the workload's first step started only after the write.
  const auto first_step = result.output.find("step 1/1");
  ASSERT_NE(first_step, std::string::npos) << result.output;
  EXPECT_LT(written, first_step) << result.output;
  EXPECT_TRUE(contains(file("agent.log"), "await_accessor_ready: AccessorReady after")) << file("agent.log");
  EXPECT_TRUE(contains(file("bpf-writes.txt"), "stall_after_ms: 0 -> 500")) << file("bpf-writes.txt");

  const auto json = file("result.json");
  EXPECT_TRUE(contains(json, R"("after": "500")")) << json;
  EXPECT_TRUE(contains(json, R"("failureDump")")) << json;
  // The dump holds the values the scheduler left behind: the knob it
  // stalled on and the dispatches it skipped.
  const auto dump = file("failure-dump.txt");
  EXPECT_TRUE(contains(dump, "stall_after_ms = 500")) << dump;
  EXPECT_TRUE(contains(dump, "nr_stalled = ")) << dump;
  EXPECT_FALSE(contains(dump, "nr_stalled = 0\n")) << dump;
  EXPECT_TRUE(contains(dump, "== console (tail)")) << dump;
}

TEST_F(MapHandshakeVm, AWriteThatDoesNotResolveFailsTheRunAndSaysWhy) {
  const auto result =
      run({"--scheduler", "kstep-sched", "--bpf-write", "bss.no_such_knob=1", "--map-write-timeout", "1"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_TRUE(contains(result.output, "no_such_knob")) << result.output;
  EXPECT_TRUE(contains(result.output, "stall_after_ms")) << result.output;  // what there is
  EXPECT_TRUE(contains(file("agent.log"), "wait_for_map_write: the host's BPF map writes failed"))
      << file("agent.log");
  EXPECT_TRUE(contains(file("result.json"), R"("mapWrites")")) << file("result.json");
}

}  // namespace
}  // namespace kstep::vmtest
