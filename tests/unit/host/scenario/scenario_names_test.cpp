// The validator's tracking of which cgroups and payload runs exist at each
// point of a scenario.
#include <gtest/gtest.h>

#include "host/scenario/scenario_names.hpp"
#include "tests/unit/host/scenario/scenario_test_util.hpp"

namespace kstep::host {
namespace {

using testing::errors_of;
using testing::has_error;
using testing::line_with;
using testing::no_errors;

TEST(ScenarioNamesTest, UnknownCgroupInAnOp) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "real" } }
steps {
  ops { freeze_cgroup: "ghost" }
  hold { fraction: 1 }
}
)txt";
  EXPECT_TRUE(has_error(errors_of(text), "steps[0].ops[0].freeze_cgroup", line_with(text, "ghost"),
                        "unknown cgroup 'ghost': live cgroups here are real"));
}

TEST(ScenarioNamesTest, OpsSeeTheBackdropAndEarlierOps) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "base" workers { workers: 1 } } }
steps {
  ops { add_cgroup_def { name: "a" workers { workers: 1 } } }
  ops { add_cgroup: "b" }
  ops { move_all_tasks { from: "a" to: "b" } }
  ops { swap_cpusets { a: "base" b: "b" } }
  ops { unfreeze_cgroup: "c" }
  ops { add_cgroup: "c" }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1U) << testing::listing(errors);
  // "c" is used one op before the op that adds it.
  EXPECT_TRUE(has_error(errors, "steps[0].ops[4].unfreeze_cgroup", line_with(text, "unfreeze_cgroup"),
                        "unknown cgroup 'c'"));
}

// The executor applies a step's ops before its setup (the ops may create
// the parents the setup nests in), except in a loop step.
TEST(ScenarioNamesTest, SetupComesAfterTheOpsExceptInLoops) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup { name: "web/front" }
  setup { name: "late" }
  ops { add_cgroup: "web" }
  ops { freeze_cgroup: "late" }
  hold { fraction: 0.5 }
}
steps {
  setup { name: "early" }
  ops { freeze_cgroup: "early" }
  ops { unfreeze_cgroup: "early" }
  hold { loop { interval_s: 0.5 } }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[1].freeze_cgroup", line_with(text, "freeze_cgroup: \"late\""),
                        "unknown cgroup 'late': live cgroups here are web"));
}

TEST(ScenarioNamesTest, StepCgroupsEndWithTheirStep) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup { name: "mine" }
  hold { fraction: 0.5 }
}
steps {
  ops { capture_cgroup_procs: "mine" }
  hold { fraction: 0.5 }
}
)txt";
  EXPECT_TRUE(
      has_error(errors_of(text), "steps[1].ops[0].capture_cgroup_procs", line_with(text, "capture"),
                "cgroup 'mine' no longer exists: it belonged to steps[0] and was removed at its end"));
}

TEST(ScenarioNamesTest, RemovedCgroupsStayRemoved) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "base" } }
steps {
  ops { remove_cgroup: "base" }
  hold { fraction: 0.5 }
}
steps {
  ops { stop_cgroup: "base" }
  hold { fraction: 0.5 }
}
)txt";
  EXPECT_TRUE(has_error(errors_of(text), "steps[1].ops[0].stop_cgroup", line_with(text, "stop_cgroup"),
                        "cgroup 'base' no longer exists: removed by steps[0].ops[0]"));
}

TEST(ScenarioNamesTest, NestedNamesNeedTheirParentFirst) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup { name: "web/front" }
  setup { name: "web" }
  setup { name: "web/back" }
  ops { add_cgroup: "db/replica" }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].name", line_with(text, "web/front"),
                        "cgroup 'web/front' needs its parent 'web' defined first"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].add_cgroup", line_with(text, "db/replica"),
                        "needs its parent 'db' defined first"));
}

TEST(ScenarioNamesTest, ParentsWithLiveChildrenCannotBeRemoved) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "p" } cgroups { name: "p/c" } }
steps {
  ops { remove_cgroup: "p" }
  ops { remove_cgroup: "p/c" }
  ops { remove_cgroup: "p" }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].remove_cgroup", line_with(text, "remove_cgroup: \"p\""),
                        "still has child cgroups (p/c)"));
}

TEST(ScenarioNamesTest, StepCgroupsMayNotReuseALiveBackdropName) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "shared" } }
steps {
  setup { name: "shared" }
  hold { fraction: 1 }
}
)txt";
  EXPECT_TRUE(has_error(errors_of(text), "steps[0].setup[0].name", line_with(text, "setup"),
                        "cgroup 'shared' is a backdrop cgroup (defined by backdrop.cgroups[0])"));
}

TEST(ScenarioNamesTest, TwoDefinitionsOfOneName) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop {
  cgroups { name: "x" }
  ops { add_cgroup: "x" }
}
steps {
  setup { name: "twice" }
  ops { add_cgroup_def { name: "twice" } }
  hold { fraction: 0.5 }
}
steps {
  setup { name: "twice" }
  hold { fraction: 0.5 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "backdrop.ops[0].add_cgroup", line_with(text, "add_cgroup: \"x\""),
                        "cgroup 'x' is already defined by backdrop.cgroups[0] and still live"));
  // The second step's "twice" is fine: the first step's ended with it. The
  // op comes first, so the setup is the duplicate.
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].name", line_with(text, "setup { name: \"twice\" }"),
                        "cgroup 'twice' is already defined by steps[0].ops[0].add_cgroup_def"));
}

TEST(ScenarioNamesTest, CgroupNameSyntax) {
  constexpr std::string_view text = R"txt(
duration_s: 2
steps {
  setup { name: "/abs" }
  setup { name: "a//b" }
  setup { name: "../up" }
  setup { name: "sp ace" }
  setup { workers { workers: 1 } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  EXPECT_TRUE(has_error(errors, "steps[0].setup[0].name", line_with(text, "/abs"), "drop the leading '/'"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[1].name", line_with(text, "a//b"), "empty path component"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[2].name", line_with(text, "../up"), "'..' cannot be"));
  EXPECT_TRUE(has_error(errors, "steps[0].setup[3].name", line_with(text, "sp ace"), "character ' '"));
  // No name written: the error points at the definition.
  EXPECT_TRUE(has_error(errors, "steps[0].setup[4].name", line_with(text, "setup { workers"),
                        "a cgroup needs a name"));
}

TEST(ScenarioNamesTest, LoopOpsMustSurviveASecondRound) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "base" workers { workers: 1 } } }
steps {
  ops { add_cgroup: "leak" }
  ops { add_cgroup: "tidy" }
  ops { remove_cgroup: "tidy" }
  hold { loop { interval_s: 0.2 } }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[0].add_cgroup", line_with(text, "leak"),
                        "already defined by steps[0].ops[0] and still live (when the loop applies the ops a "
                        "second time)"));
}

TEST(ScenarioNamesTest, BackdropTasksNeverMoveIntoAStepCgroup) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop {
  cgroups { name: "pool" workers { workers: 2 } }
  ops { add_cgroup: "empty" }
}
steps {
  ops { add_cgroup: "visit" }
  ops { move_all_tasks { from: "empty" to: "visit" } }  # nothing to move
  ops { move_all_tasks { from: "pool" to: "visit" } }  # refused
  ops { add_cgroup_def { name: "burst" workers { workers: 1 } } }
  ops { move_all_tasks { from: "burst" to: "visit" } }  # step tasks
  ops { move_all_tasks { from: "visit" to: "empty" } }  # now the backdrop's
  ops { move_all_tasks { from: "empty" to: "visit" } }  # refused again
  hold { fraction: 0.5 }
}
steps {
  ops { add_cgroup: "later" }
  ops { spawn { cgroup: "pool" workers { workers: 1 } } }
  ops { move_all_tasks { from: "pool" to: "later" } }  # refused: pool's own
  hold { fraction: 0.5 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 3U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[2].move_all_tasks.to", line_with(text, "# refused"),
                        "cgroup 'pool' holds backdrop workers and 'visit' is a step cgroup"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[6].move_all_tasks.to", line_with(text, "# refused again"),
                        "cgroup 'empty' holds backdrop workers"));
  EXPECT_TRUE(has_error(errors, "steps[1].ops[2].move_all_tasks.to", line_with(text, "pool's own"),
                        "cgroup 'pool' holds backdrop workers"));
}

TEST(ScenarioNamesTest, MovesAndSwapsNeedTwoDifferentCgroups) {
  constexpr std::string_view text = R"txt(
duration_s: 2
backdrop { cgroups { name: "a" } }
steps {
  ops { move_all_tasks { from: "a" to: "a" } }
  ops { swap_cpusets { a: "a" b: "a" } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  EXPECT_TRUE(
      has_error(errors, "steps[0].ops[0].move_all_tasks.to", line_with(text, "move_all_tasks"), "to itself"));
  EXPECT_TRUE(
      has_error(errors, "steps[0].ops[1].swap_cpusets.b", line_with(text, "swap_cpusets"), "with itself"));
}

constexpr std::string_view kPayloadDecls = R"txt(
duration_s: 2
payloads { name: "bench" path: "/usr/bin/true" }
)txt";

TEST(ScenarioNamesTest, PayloadRunsAndTheirIds) {
  const std::string text = std::string{kPayloadDecls} + R"txt(
backdrop { cgroups { name: "base" } }
steps {
  ops { run_payload { cgroup: "base" run { payload: "bench" } } }
  ops { run_payload { cgroup: "base" run { payload: "bench" } } }  # again
  ops { run_payload { run { payload: "bench" id: "second" } } }
  ops { wait_payload: "bench" }
  ops { kill_payload: "second" }
  ops { kill_payload: "second" }  # twice
  ops { wait_payload: "never" }
  ops { run_payload { run { payload: "nope" } } }
  hold { fraction: 1 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 4U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[1].run_payload.run.payload", line_with(text, "# again"),
                        "payload run 'bench' is still running (started by steps[0].ops[0].run_payload.run)"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[5].kill_payload", line_with(text, "# twice"),
                        "payload run 'second' is no longer running: it was ended by steps[0].ops[4]"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[6].wait_payload", line_with(text, "never"),
                        "unknown payload run 'never': running here are none"));
  EXPECT_TRUE(has_error(errors, "steps[0].ops[7].run_payload.run.payload", line_with(text, "nope"),
                        "payload 'nope' is not declared: declared payloads are bench"));
}

TEST(ScenarioNamesTest, PayloadRunsEndWithTheirStepOrTheirCgroup) {
  const std::string text = std::string{kPayloadDecls} + R"txt(
steps {
  ops { add_cgroup_def { name: "host" payload { payload: "bench" id: "in-setup" } } }
  ops { run_payload { run { payload: "bench" id: "loose" } } }
  ops { remove_cgroup: "host" }
  ops { wait_payload: "in-setup" }
  hold { fraction: 0.5 }
}
steps {
  ops { kill_payload: "loose" }
  hold { fraction: 0.5 }
}
)txt";
  const auto errors = errors_of(text);
  ASSERT_EQ(errors.size(), 2U) << testing::listing(errors);
  EXPECT_TRUE(has_error(errors, "steps[0].ops[3].wait_payload", line_with(text, "wait_payload"),
                        "its cgroup 'host' was removed by steps[0].ops[2]"));
  EXPECT_TRUE(has_error(errors, "steps[1].ops[0].kill_payload", line_with(text, "kill_payload"),
                        "it belonged to steps[0] and was killed at its end"));
}

}  // namespace
}  // namespace kstep::host
