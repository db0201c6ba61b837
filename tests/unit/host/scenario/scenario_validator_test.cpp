// The validator's checks of values: durations and holds, cpusets against
// the topology, knobs, workers, memory policies and payloads.
#include "host/scenario/scenario_validator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/host/scenario/scenario_test_util.hpp"

namespace kstep::host {
namespace {

using testing::errors_of;
using testing::has_error;
using testing::line_with;
using testing::no_errors;
using testing::two_nodes;

TEST(ScenarioValidatorTest, AValidScenarioHasNoErrors) {
  EXPECT_TRUE(no_errors(errors_of(R"txt(
duration_s: 2
steps { hold { fraction: 1 } }
)txt")));
}

TEST(ScenarioValidatorTest, DescribeNamesOriginLineFieldAndMessage) {
  EXPECT_EQ((ScenarioError{"a.textproto", 7, "steps[1].hold", "bad"}).describe(),
            "a.textproto:7: steps[1].hold: bad");
  EXPECT_EQ((ScenarioError{"a.textproto", 0, "steps", "none"}).describe(), "a.textproto: steps: none");
  EXPECT_EQ((ScenarioError{"a.textproto", 3, "", "whole"}).describe(), "a.textproto:3: whole");
}

TEST(ScenarioValidatorTest, DurationMustBePositive) {
  for (const char* duration : {"0", "-1", "nan", "inf"}) {
    const std::string text = fmt::format("\nduration_s: {}\nsteps {{ hold {{ seconds: 1 }} }}\n", duration);
    EXPECT_TRUE(has_error(errors_of(text), "duration_s", 2, "duration_s must be above 0")) << duration;
  }
  // Never written: proto3's 0.
  EXPECT_TRUE(has_error(errors_of("steps { hold { seconds: 1 } }"), "duration_s", 0, "got 0"));
}

TEST(ScenarioValidatorTest, AtLeastOneStep) {
  EXPECT_TRUE(has_error(errors_of("duration_s: 2"), "steps", 0, "a scenario needs at least one step"));
}

TEST(ScenarioValidatorTest, EveryStepNeedsAHold) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps { hold { fraction: 0.5 } }
steps {
  name: "forgot"
}
)txt";
  EXPECT_TRUE(has_error(errors_of(text), "steps[1].hold", line_with(text, "steps {\n  name"),
                        "a step needs a hold: fraction, seconds or loop"));
}

TEST(ScenarioValidatorTest, HoldValuesOutOfRange) {
  constexpr std::string_view text = R"txt(
duration_s: 100
steps { hold { fraction: 0 } }
steps { hold { fraction: 1.5 } }
steps { hold { fraction: nan } }
steps { hold { fraction: -0.25 } }
steps { hold { seconds: 0 } }
steps { hold { seconds: -2 } }
steps { hold { seconds: nan } }
steps {
  ops { add_cgroup: "x" }
  ops { remove_cgroup: "x" }
  hold { loop { interval_s: 0 } }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 8U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].hold.fraction", line_with(text, "fraction: 0 "), "got 0"));
  EXPECT_TRUE(has_error(errors, "steps[1].hold.fraction", line_with(text, "1.5"), "at most 1, got 1.5"));
  EXPECT_TRUE(has_error(errors, "steps[2].hold.fraction", line_with(text, "fraction: nan"), "got nan"));
  EXPECT_TRUE(has_error(errors, "steps[3].hold.fraction", line_with(text, "-0.25"), "got -0.25"));
  EXPECT_TRUE(has_error(errors, "steps[4].hold.seconds", line_with(text, "seconds: 0"), "above 0"));
  EXPECT_TRUE(has_error(errors, "steps[5].hold.seconds", line_with(text, "seconds: -2"), "got -2"));
  EXPECT_TRUE(has_error(errors, "steps[6].hold.seconds", line_with(text, "seconds: nan"), "got nan"));
  EXPECT_TRUE(has_error(errors, "steps[7].hold.loop.interval_s", line_with(text, "interval_s"), "got 0"));
}

TEST(ScenarioValidatorTest, LoopHoldsComeLastAndHaveOps) {
  constexpr std::string_view text = R"txt(
duration_s: 3
steps { hold { loop { interval_s: 0.5 } } }
steps { hold { fraction: 0.5 } }
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].hold.loop", line_with(text, "loop"), "this step has none"));
  EXPECT_TRUE(has_error(errors, "steps[1]", line_with(text, "fraction"),
                        "never runs: the loop hold of steps[0] lasts until the scenario ends"));
}

TEST(ScenarioValidatorTest, StepsAfterTheDurationIsUsedUp) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps { hold { fraction: 0.6 } }
steps { hold { seconds: 0.8 } }
steps { hold { fraction: 0.1 } }  # starts at 2 s
)txt";
  EXPECT_TRUE(has_error(errors_of(text), "steps[2]", line_with(text, "# starts"),
                        "never holds: the steps before it use up all of duration_s (2 s)"));
}

TEST(ScenarioValidatorTest, CpusetsTheTopologyCannotSatisfy) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "base" } }
steps {
  setup { name: "quarters" cpuset { partition { index: 3 count: 4 } } }
  setup { name: "wide" cpuset { cpus: "0-7" } }
  setup { name: "llc" cpuset { llc: 1 } }
  setup { name: "backwards" cpuset { range { from: 0.6 to: 0.4 } } }
  setup { name: "overlap" cpuset { overlapping { index: 0 count: 2 overlap: 1.5 } } }
  ops { set_cpuset { cgroup: "base" cpuset { numa_node: 1 } } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 6U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].cpuset", line_with(text, "quarters"), "4 partitions"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[1].cpuset", line_with(text, "0-7"), "CPU 2 is not online"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[2].cpuset", line_with(text, "llc: 1"), "LLC 1 has no CPUs"));
  EXPECT_TRUE(
      has_error(errors, "steps[0].setup[3].cpuset", line_with(text, "backwards"), "0 <= from < to <= 1"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[4].cpuset", line_with(text, "overlap: 1.5"), "overlap 1.5"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].set_cpuset.cpuset", line_with(text, "set_cpuset"),
                        "NUMA node 1 has no CPUs"));
  // The same scenario fits 8 CPUs on 2 nodes but for the bad fractions.
  EXPECT_EQ(errors_of(text, two_nodes()).size(), 2U);
}

TEST(ScenarioValidatorTest, CpusetMemsNodesMustExist) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup { name: "far" cpuset_mems: "1" }
  setup { name: "garbled" cpuset_mems: "0-x" }
  setup { name: "both" cpuset_mems: "0-1" }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].cpuset_mems", line_with(text, "far"),
                        "NUMA node 1 does not exist: the topology has nodes 0"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[1].cpuset_mems", line_with(text, "garbled"), "0-x"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[2].cpuset_mems", line_with(text, "both"), "NUMA node 1"));
  EXPECT_EQ(errors_of(text, two_nodes()).size(), 1U);
}

TEST(ScenarioValidatorTest, AffinityOutsideTheCgroupsCpus) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "left" cpuset { cpus: "0" } } }
steps {
  ops { set_affinity { cgroup: "left" cpus { cpus: "1" } } }
  ops { set_affinity { cgroup: "left" cpus { cpus: "0-1" } } }
  ops { set_affinity { cgroup: "left" } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].set_affinity.cpus", line_with(text, "cpus { cpus: \"1\""),
                        "CPUs 1 are all outside cgroup 'left''s CPUs (0)"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[2].set_affinity.cpus",
                        line_with(text, "{ cgroup: \"left\" } }"), "set_affinity needs CPUs"));
}

TEST(ScenarioValidatorTest, SchedulerPayloadsNeverRunInTheBackdrop) {
  constexpr std::string_view text = R"txt(
duration_s: 2
payloads { name: "scx" path: "/opt/scx_simple" kind: SCHEDULER }
payloads { name: "bench" path: "/usr/bin/true" }
backdrop {
  cgroups { name: "a" payload { payload: "scx" } }
  cgroups { name: "b" payload { payload: "bench" } }
  ops { run_payload { cgroup: "b" run { payload: "scx" id: "again" } } }
}
steps {
  ops { run_payload { run { payload: "scx" id: "in-step" } } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(
      has_error(errors, "backdrop.cgroups[0].payload.payload", line_with(text, "name: \"a\""),
                "payload 'scx' is a SCHEDULER: a scheduler may run in a step, never in the backdrop"));
  EXPECT_TRUE(has_error(errors, "backdrop.ops[0].run_payload.run.payload", line_with(text, "again"),
                        "is a SCHEDULER"));
}

TEST(ScenarioValidatorTest, PayloadFlagsMustBeAllowed) {
  constexpr std::string_view text = R"txt(
duration_s: 2
payloads { name: "strict" path: "bench" allowed_flags: ["--cpu", "-t"] }
payloads { name: "open" path: "bench" }
steps {
  ops {
    run_payload {
      run {
        payload: "strict"
        args: "--cpu=2"
        args: "-t"
        args: "-5"
        args: "positional"
        args: "-"
        args: "--bogus"
        args: "-x=3"
      }
    }
  }
  ops { run_payload { run { payload: "open" args: ["--anything", "-z"] } } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].run_payload.run.args[5]", line_with(text, "--bogus"),
                        "flag '--bogus' is not among payload 'strict''s allowed_flags (--cpu, -t)"));
  EXPECT_TRUE(
      has_error(errors, "steps[0].ops[0].run_payload.run.args[6]", line_with(text, "-x=3"), "flag '-x'"));
}

TEST(ScenarioValidatorTest, PayloadDeclarations) {
  constexpr std::string_view text = R"txt(
duration_s: 2
payloads { name: "bench" path: "a" }
payloads { name: "bench" path: "b" }
payloads { path: "c" allowed_flags: "cpu" }
steps { hold { fraction: 1 } }
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 3U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "payloads[1].name", line_with(text, "path: \"b\""),
                        "payload 'bench' is declared twice: payloads[0] declares it first"));
  EXPECT_TRUE(
      has_error(errors, "payloads[2].name", line_with(text, "path: \"c\""), "a payload needs a name"));
  EXPECT_TRUE(has_error(errors, "payloads[2].allowed_flags[0]", line_with(text, "path: \"c\""),
                        "'cpu' is not a flag"));
}

TEST(ScenarioValidatorTest, MemPolicyNodesMustBeNearTheCgroupsCpus) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup {
    name: "node0"
    cpuset { numa_node: 0 }
    workers { workers: 1 mem_policy { mode: MPOL_BIND nodes: [0, 1] } }  # far
  }
  setup {
    name: "static"
    cpuset { numa_node: 0 }
    workers { workers: 1 mem_policy { mode: MPOL_BIND nodes: 1 static_nodes: true } }
  }
  setup {
    name: "anywhere"
    workers { workers: 1 mem_policy { mode: MPOL_INTERLEAVE nodes: [0, 1] } }
  }
  setup {
    name: "missing"
    workers { workers: 1 mem_policy { mode: MPOL_PREFERRED nodes: 5 static_nodes: true } }
  }
  setup {
    name: "mems"
    cpuset_mems: "0"
    workers { workers: 1 mem_policy { mode: MPOL_BIND nodes: 1 } }  # not in mems
  }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text, two_nodes());
  ASSERT_EQ(errors.size(), 3U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].workers.mem_policy.nodes[1]", line_with(text, "# far"),
                        "NUMA node 1 is outside the nodes of the cgroup's CPUs (0): set static_nodes"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[3].workers.mem_policy.nodes[0]", line_with(text, "nodes: 5"),
                        "NUMA node 5 does not exist: the topology has nodes 0-1"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[4].workers.mem_policy.nodes[0]",
                        line_with(text, "# not in mems"), "outside the cgroup's cpuset_mems (0)"));
}

TEST(ScenarioValidatorTest, MemPolicyCoverageFollowsOpsAndParents) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop {
  cgroups { name: "p" cpuset { numa_node: 1 } }
  cgroups { name: "p/child" }
}
steps {
  ops { spawn { cgroup: "p/child" workers { workers: 1 mem_policy { mode: MPOL_BIND nodes: 0 } } } }
  ops { set_cpuset { cgroup: "p" cpuset { cpus: "0-7" } } }
  ops { spawn { cgroup: "p/child" workers { workers: 1 mem_policy { mode: MPOL_BIND nodes: 0 } } } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text, two_nodes());
  ASSERT_EQ(errors.size(), 1U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].spawn.workers.mem_policy.nodes[0]", line_with(text, "spawn"),
                        "NUMA node 0 is outside the nodes of the cgroup's CPUs (1)"));
}

TEST(ScenarioValidatorTest, MemPolicyFlagsAndModes) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup {
    name: "a"
    workers {
      workers: 1
      mem_policy { mode: MPOL_BIND nodes: 0 static_nodes: true relative_nodes: true }
    }
  }
  setup { name: "b" workers { workers: 1 mem_policy { mode: MPOL_INTERLEAVE nodes: 0 numa_balancing: true } } }
  setup { name: "c" workers { workers: 1 mem_policy { mode: MPOL_BIND nodes: 0 numa_balancing: true } } }
  setup { name: "d" workers { workers: 1 mem_policy { mode: MPOL_LOCAL nodes: 0 } } }
  setup { name: "e" workers { workers: 1 mem_policy { mode: MPOL_BIND } } }
  setup { name: "f" workers { workers: 1 mem_policy { nodes: 0 } } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 5U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].workers.mem_policy.relative_nodes",
                        line_with(text, "relative_nodes"),
                        "static_nodes and relative_nodes exclude each other"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[1].workers.mem_policy.numa_balancing",
                        line_with(text, "MPOL_INTERLEAVE"),
                        "numa_balancing works with MPOL_BIND only, not MPOL_INTERLEAVE"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[3].workers.mem_policy.nodes", line_with(text, "\"d\""),
                        "MPOL_LOCAL takes no nodes"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[4].workers.mem_policy.nodes", line_with(text, "\"e\""),
                        "MPOL_BIND needs at least one node"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[5].workers.mem_policy.mode", line_with(text, "\"f\""),
                        "nodes or flags but no mode"));
}

TEST(ScenarioValidatorTest, KnobValues) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup {
    name: "bad"
    memory_max: "12X"
    memory_high: "max"
    memory_low: "64M"
    memory_swap_max: "lots"
    pids_max: "0"
    cpu_max { quota_pct: 0.5 }
    cpu_weight: 20000
    io_weight: 0
  }
  setup { name: "fine" cpu_weight: 1 io_weight: 10000 pids_max: "max" cpu_max { quota_pct: 150 } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 5U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].memory_max", line_with(text, "12X"), "'12X'"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].memory_swap_max", line_with(text, "lots"), "'lots'"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].pids_max", line_with(text, "pids_max: \"0\""), "'0'"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].cpu_max", line_with(text, "0.5"), "quota_pct"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].cpu_weight", line_with(text, "20000"), "20000"));
}

TEST(ScenarioValidatorTest, WorkerValues) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup { name: "none" workers { workers: 0 } }
  setup { name: "many" workers { workers: 5000 } }
  setup { name: "pct0" workers { cpu_pct: 0 } }
  setup { name: "pct150" workers { cpu_pct: 150 } }
  setup { name: "uncounted" workers { work: YIELD } }
  setup { name: "nice25" workers { workers: 1 nice: 25 } }
  setup { name: "fifo-nice" workers { workers: 1 policy: FIFO rt_priority: 10 nice: 3 } }
  setup { name: "rr-100" workers { workers: 1 policy: RR rt_priority: 100 } }
  setup { name: "rr-unset" workers { workers: 1 policy: RR } }
  setup { name: "normal-rt" workers { workers: 1 rt_priority: 5 } }
  setup { name: "odd-pairs" workers { workers: 3 work: FUTEX_PINGPONG } }  # one runs solo
  setup { name: "pages" workers { workers: 1 page_touch_bytes: 4096 } }
  setup { name: "enum" workers { workers: 1 work: 42 } }
  setup { name: "fine" workers { workers: 2 policy: BATCH nice: -20 work: FUTEX_PINGPONG } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 11U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].workers.workers", line_with(text, "none"), "at least 1"));
  EXPECT_TRUE(
      has_error(errors, "steps[0].setup[1].workers.workers", line_with(text, "many"), "at most 1024"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[2].workers.cpu_pct", line_with(text, "pct0"), "got 0"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[3].workers.cpu_pct", line_with(text, "pct150"), "got 150"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[4].workers", line_with(text, "uncounted"), "need a count"));
  EXPECT_TRUE(
      has_error(errors, "steps[0].setup[5].workers.nice", line_with(text, "nice25"), "-20..19, got 25"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[6].workers.nice", line_with(text, "fifo-nice"),
                        "nice applies to NORMAL and BATCH workers, not FIFO"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[7].workers.rt_priority", line_with(text, "rr-100"),
                        "RR workers need an rt_priority within 1..99, got 100"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[9].workers.rt_priority", line_with(text, "normal-rt"),
                        "rt_priority applies to FIFO and RR workers, not NORMAL"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[11].workers.page_touch_bytes", line_with(text, "4096"),
                        "PAGE_TOUCH workers only"));
  EXPECT_TRUE(
      has_error(errors, "steps[0].setup[12].workers.work", line_with(text, "42"), "unknown work type 42"));
}

TEST(ScenarioValidatorTest, ChecksThresholds) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps { hold { fraction: 1 } }
checks { max_gap_ms: -1 max_spread: 1.5 }
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "checks.max_gap_ms", line_with(text, "checks"), "got -1"));
  EXPECT_TRUE(has_error(errors, "checks.max_spread", line_with(text, "checks"), "within 0..1"));
}

TEST(ScenarioValidatorTest, ReportsEveryErrorNotJustTheFirst) {
  constexpr std::string_view text = R"txt(
duration_s: -3
backdrop { cgroups { name: "a" workers { workers: 0 } } }
steps {
  setup { name: "a" }
  ops { freeze_cgroup: "b" }
}
)txt";
  const auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 5U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "duration_s", 2, "got -3"));
  EXPECT_TRUE(has_error(errors, "backdrop.cgroups[0].workers.workers", 3, "at least 1"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].name", 5, "backdrop cgroup"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].freeze_cgroup", 6, "unknown cgroup 'b'"));
  EXPECT_TRUE(has_error(errors, "steps[0].hold", 4, "needs a hold"));
}

TEST(ScenarioValidatorTest, InvalidDataFileLoadedByPath) {
  const std::string path = std::string{KSTEP_TEST_DATA_DIR} + "/scenarios/invalid.textproto";
  const auto loaded = load_scenario_file(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  const auto errors = validate_scenario(*loaded, flat_topology(2));
  std::vector<std::string> described;
  for (const auto& error : errors) {
    described.push_back(error.describe());
  }
  using ::testing::HasSubstr;
  EXPECT_THAT(described, ::testing::Contains(HasSubstr(path + ":4: duration_s: duration_s must be above 0")));
  EXPECT_THAT(described,
              ::testing::Contains(HasSubstr(path + ":15: backdrop.cgroups[0].payload.payload: payload "
                                                   "'scx' is a SCHEDULER")));
  EXPECT_THAT(described,
              ::testing::Contains(HasSubstr(path + ":25: steps[0].setup[1].cpuset: 3 partitions")));
  EXPECT_THAT(described,
              ::testing::Contains(HasSubstr(path + ":31: steps[1].ops[0].freeze_cgroup: unknown cgroup "
                                                   "'typo'")));
  EXPECT_THAT(described,
              ::testing::Contains(HasSubstr(path + ":36: steps[2].hold.fraction: a hold fraction")));
  EXPECT_THAT(described,
              ::testing::Contains(HasSubstr(path + ":39: steps[3].ops[0].wait_payload: unknown payload "
                                                   "run 'bench'")));
  EXPECT_EQ(errors.size(), 6U) << describe_errors(errors);
}

}  // namespace
}  // namespace kstep::host
