#include "host/scenario/canned_scenarios.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "host/scenario/scenario_source.hpp"
#include "tests/unit/host/scenario/scenario_test_util.hpp"

namespace kstep::host {
namespace {

using testing::listing;
using testing::two_nodes;

LoadedScenario load_canned(const CannedScenario& canned) {
  auto loaded = load_scenario_text(canned.text, std::string{canned.name});
  EXPECT_TRUE(loaded) << loaded.error().message;
  return loaded ? std::move(loaded).value() : LoadedScenario{};
}

TEST(CannedScenariosTest, EveryOneIsValidOnTwoCpusAndOnTwoNumaNodes) {
  for (const auto& canned : canned_scenarios()) {
    const auto loaded = load_canned(canned);
    const auto on_two = validate_scenario(loaded, flat_topology(2));
    EXPECT_TRUE(on_two.empty()) << canned.name << " on 2 CPUs:\n" << listing(on_two);
    const auto on_eight = validate_scenario(loaded, two_nodes());
    EXPECT_TRUE(on_eight.empty()) << canned.name << " on 8 CPUs, 2 nodes:\n" << listing(on_eight);
    const auto on_many = validate_scenario(loaded, flat_topology(64));
    EXPECT_TRUE(on_many.empty()) << canned.name << " on 64 CPUs:\n" << listing(on_many);
  }
}

// min_cpus is exact: the scenarios that claim one CPU is enough validate
// there, the others do not.
TEST(CannedScenariosTest, MinCpusIsWhatTheCpusetsNeed) {
  for (const auto& canned : canned_scenarios()) {
    const auto errors = validate_scenario(load_canned(canned), flat_topology(1));
    if (canned.min_cpus <= 1) {
      EXPECT_TRUE(errors.empty()) << canned.name << " on 1 CPU:\n" << listing(errors);
    } else {
      EXPECT_FALSE(errors.empty()) << canned.name << " claims to need " << canned.min_cpus << " CPUs";
    }
  }
}

TEST(CannedScenariosTest, SizedForTheDefaultVm) {
  for (const auto& canned : canned_scenarios()) {
    const auto scenario = load_canned(canned).scenario;
    EXPECT_EQ(scenario.name(), canned.name);
    EXPECT_FALSE(scenario.description().empty()) << canned.name;
    EXPECT_GE(scenario.duration_s(), 2.0) << canned.name;
    EXPECT_LE(scenario.duration_s(), 4.0) << canned.name;
    // Thresholds that TCG's jitter would trip are off or lenient.
    EXPECT_TRUE(scenario.checks().max_gap_ms() == 0.0 || scenario.checks().max_gap_ms() >= 2000.0)
        << canned.name;
    EXPECT_EQ(scenario.checks().max_spread(), 0.0) << canned.name;
    auto small = [&](const scenario::Workers& workers) {
      EXPECT_TRUE(workers.has_cpu_pct() || workers.workers() <= 4) << canned.name;
    };
    for (const auto& def : scenario.backdrop().cgroups()) {
      small(def.workers());
    }
    for (const auto& step : scenario.steps()) {
      for (const auto& def : step.setup()) {
        small(def.workers());
      }
      for (const auto& op : step.ops()) {
        small(op.spawn().workers());
        small(op.add_cgroup_def().workers());
      }
    }
  }
}

TEST(CannedScenariosTest, NamesAreUniqueAndSummariesOneLine) {
  std::set<std::string_view> names;
  for (const auto& canned : canned_scenarios()) {
    EXPECT_TRUE(names.insert(canned.name).second) << canned.name;
    EXPECT_FALSE(canned.summary.empty()) << canned.name;
    EXPECT_EQ(canned.summary.find('\n'), std::string_view::npos) << canned.name;
  }
  for (const char* required : {"steady", "cpuset-split", "cpuset-swap", "freeze-thaw", "task-moves", "nested",
                               "loop-churn", "mixed-work", "cpu-max", "affinity"}) {
    EXPECT_TRUE(names.contains(required)) << required;
  }
}

TEST(CannedScenariosTest, FindCanned) {
  const auto* steady = find_canned("steady");
  ASSERT_NE(steady, nullptr);
  EXPECT_EQ(steady->name, "steady");
  EXPECT_NE(find_canned(kDefaultCannedScenario), nullptr);
  EXPECT_EQ(find_canned("Steady"), nullptr);
  EXPECT_EQ(find_canned(""), nullptr);
}

// Each scenario exercises what its name promises.
TEST(CannedScenariosTest, ExerciseTheirFeature) {
  auto ops_of = [](std::string_view name) {
    std::set<int> kinds;
    const auto* canned = find_canned(name);
    EXPECT_NE(canned, nullptr) << name;
    if (canned == nullptr) {
      return kinds;
    }
    auto loaded = load_scenario_text(canned->text, std::string{name});
    EXPECT_TRUE(loaded);
    if (!loaded) {
      return kinds;
    }
    for (const auto& step : loaded->scenario.steps()) {
      for (const auto& op : step.ops()) {
        kinds.insert(op.kind_case());
      }
    }
    return kinds;
  };
  using scenario::Op;
  EXPECT_TRUE(ops_of("cpuset-swap").contains(Op::kSwapCpusets));
  EXPECT_TRUE(ops_of("freeze-thaw").contains(Op::kFreezeCgroup));
  EXPECT_TRUE(ops_of("freeze-thaw").contains(Op::kUnfreezeCgroup));
  EXPECT_TRUE(ops_of("task-moves").contains(Op::kMoveAllTasks));
  EXPECT_TRUE(ops_of("affinity").contains(Op::kSetAffinity));
  EXPECT_TRUE(ops_of("loop-churn").contains(Op::kAddCgroup));
  EXPECT_TRUE(ops_of("loop-churn").contains(Op::kRemoveCgroup));

  const auto mixed = load_scenario_arg("mixed-work");
  ASSERT_TRUE(mixed);
  std::set<int> works;
  for (const auto& step : mixed->scenario.steps()) {
    for (const auto& def : step.setup()) {
      works.insert(def.workers().work());
    }
  }
  for (const auto work : {scenario::SPIN, scenario::YIELD, scenario::FUTEX_PINGPONG, scenario::MIXED,
                          scenario::PAGE_TOUCH, scenario::FORK_EXIT}) {
    EXPECT_TRUE(works.contains(work)) << scenario::WorkType_Name(work);
  }
}

}  // namespace
}  // namespace kstep::host
