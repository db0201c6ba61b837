#include "guest/cgroup/cgroup_knobs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempTree;
using Controllers = std::set<std::string>;

template <class Message>
Message parse(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CgroupKnobsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.create("web")); }
  [[nodiscard]] std::string file(const std::string& name) const { return slurp(tree_.root() / "web" / name); }
  [[nodiscard]] bool has(const std::string& name) const {
    return std::filesystem::exists(tree_.root() / "web" / name);
  }

  TempTree tree_;
  CgroupFs fs_{tree_.root(), CgroupFs::Kind::kPlainDirectory};
};

TEST_F(CgroupKnobsTest, EveryKnobLandsInItsFile) {
  const auto def = parse<scenario::CgroupDef>(R"txt(
    name: "web"
    cpuset { llc: 0 }
    cpuset_mems: "1,0"
    cpu_max { quota_pct: 50 }
    cpu_weight: 200
    memory_max: "64M"
    memory_high: "max"
    memory_low: "1K"
    memory_swap_max: "0"
    io_weight: 300
    pids_max: "128"
  )txt");
  ASSERT_TRUE(apply_cgroup_knobs(fs_, "web", def, {0, 1, 2, 3, 6}));
  EXPECT_EQ(file("cpuset.cpus"), "0-3,6");
  EXPECT_EQ(file("cpuset.mems"), "0-1");
  EXPECT_EQ(file("cpu.max"), "50000 100000");
  EXPECT_EQ(file("cpu.weight"), "200");
  EXPECT_EQ(file("memory.max"), "67108864");
  EXPECT_EQ(file("memory.high"), "max");
  EXPECT_EQ(file("memory.low"), "1024");
  EXPECT_EQ(file("memory.swap.max"), "0");
  EXPECT_EQ(file("io.weight"), "default 300");
  EXPECT_EQ(file("pids.max"), "128");
}

TEST_F(CgroupKnobsTest, WritesComeInAFixedOrderCpusetCpusFirst) {
  const auto def = parse<scenario::CgroupDef>(R"txt(
    pids_max: "max"
    cpuset_mems: "0"
    cpu_max { quota { quota_us: 20000 period_us: 50000 } }
    memory_high: "1G"
  )txt");
  const auto writes = knob_writes("web", def, {2, 3});
  ASSERT_TRUE(writes) << writes.error().message;
  EXPECT_THAT(*writes, ElementsAre(KnobWrite{"cpuset.cpus", "2-3"}, KnobWrite{"cpuset.mems", "0"},
                                   KnobWrite{"cpu.max", "20000 50000"},
                                   KnobWrite{"memory.high", "1073741824"}, KnobWrite{"pids.max", "max"}));
}

TEST_F(CgroupKnobsTest, AnEmptyDefWritesNothing) {
  ASSERT_TRUE(apply_cgroup_knobs(fs_, "web", parse<scenario::CgroupDef>(R"txt(name: "web")txt"), {}));
  EXPECT_TRUE(std::filesystem::is_empty(tree_.root() / "web"));
}

TEST_F(CgroupKnobsTest, ABadValueFailsBeforeAnyWrite) {
  const auto def = parse<scenario::CgroupDef>(R"txt(
    cpu_weight: 100
    memory_max: "12X"
  )txt");
  const auto applied = apply_cgroup_knobs(fs_, "web", def, {0});
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message,
            "cgroup 'web' memory.max: bad memory size '12X': expected bytes with an optional K, M, G or T "
            "suffix, or \"max\"");
  EXPECT_FALSE(has("cpuset.cpus"));
  EXPECT_FALSE(has("cpu.weight"));
}

TEST_F(CgroupKnobsTest, BadValuesNameCgroupKnobAndValue) {
  struct Case {
    const char* def;
    const char* knob;
    const char* value;
  };
  for (const auto& [text, knob, value] : {
           Case{R"txt(cpu_weight: 10001)txt", "cpu.weight", "10001"},
           Case{R"txt(io_weight: 20000)txt", "io.weight", "20000"},
           Case{R"txt(cpu_max { quota_pct: 0.1 })txt", "cpu.max", "0.1"},
           Case{R"txt(cpu_max { quota { quota_us: 5000 period_us: 2000000 } })txt", "cpu.max", "2000000"},
           Case{R"txt(memory_low: "1.5G")txt", "memory.low", "1.5G"},
           Case{R"txt(memory_swap_max: "-1")txt", "memory.swap.max", "-1"},
           Case{R"txt(pids_max: "0")txt", "pids.max", "'0'"},
           Case{R"txt(cpuset_mems: "0-x")txt", "cpuset.mems", "0-x"},
           Case{R"txt(cpuset_mems: " ")txt", "cpuset.mems", "' '"},
       }) {
    const auto writes = knob_writes("web", parse<scenario::CgroupDef>(text), {});
    ASSERT_FALSE(writes) << text;
    EXPECT_THAT(writes.error().message, HasSubstr(std::string{"cgroup 'web' "} + knob + ":")) << text;
    EXPECT_THAT(writes.error().message, HasSubstr(value)) << text;
  }
}

TEST_F(CgroupKnobsTest, WriteFailuresSayWhichKnobOfWhichCgroup) {
  const auto applied =
      apply_cgroup_knobs(fs_, "db", parse<scenario::CgroupDef>(R"txt(cpu_weight: 5)txt"), {});
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message, HasSubstr("setting cpu.weight of cgroup 'db'"));
  EXPECT_THAT(applied.error().message, HasSubstr((tree_.root() / "db" / "cpu.weight").string()));
}

TEST_F(CgroupKnobsTest, ClearCpusetEmptiesCpusetCpus) {
  ASSERT_TRUE(fs_.write("web", "cpuset.cpus", "0-3"));
  ASSERT_TRUE(clear_cpuset(fs_, "web"));
  EXPECT_TRUE(has("cpuset.cpus"));
  EXPECT_EQ(file("cpuset.cpus"), "");
  EXPECT_THAT(clear_cpuset(fs_, "db").error().message, HasSubstr("clearing the cpuset of cgroup 'db'"));
}

TEST_F(CgroupKnobsTest, CreateCgroupEnablesControllersOnParentsNotLeaves) {
  const Controllers controllers{"cpu", "cpuset"};
  ASSERT_TRUE(create_cgroup(fs_, "db", controllers));
  ASSERT_TRUE(create_cgroup(fs_, "db/replica", controllers));
  EXPECT_TRUE(fs_.exists("db/replica"));
  EXPECT_EQ(slurp(tree_.root() / "cgroup.subtree_control"), "+cpu +cpuset\n");
  EXPECT_EQ(slurp(tree_.root() / "db" / "cgroup.subtree_control"), "+cpu +cpuset\n");
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "db" / "replica" / "cgroup.subtree_control"));

  const auto orphan = create_cgroup(fs_, "x/y", controllers);
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().message, "parent cgroup 'x' of 'x/y' does not exist");
}

TEST(CgroupControllersTest, NoKnobsNeedNoControllers) {
  EXPECT_TRUE(controllers_needed(scenario::Scenario{}).empty());
  const auto scenario = parse<scenario::Scenario>(R"txt(
    backdrop {
      cgroups { name: "bg" workers { workers: 2 } }
      ops { freeze_cgroup: "bg" }
    }
    steps {
      setup { name: "a" }
      ops { add_cgroup: "b" }
      ops { spawn { cgroup: "b" workers { workers: 1 } } }
      ops { move_all_tasks { from: "a" to: "b" } }
      ops { set_affinity { cgroup: "a" cpus { cpus: "0" } } }
      ops { unfreeze_cgroup: "bg" }
      ops { remove_cgroup: "a" }
    }
  )txt");
  EXPECT_TRUE(controllers_needed(scenario).empty());
}

TEST(CgroupControllersTest, UnionOverBackdropStepsAndOps) {
  const auto scenario = parse<scenario::Scenario>(R"txt(
    backdrop {
      cgroups { name: "bg" cpu_weight: 50 }
    }
    steps {
      setup { name: "a" memory_high: "1G" }
      ops { freeze_cgroup: "a" }
    }
    steps {
      ops { add_cgroup_def { name: "b" pids_max: "10" } }
      ops { clear_cpuset: "a" }
    }
  )txt");
  EXPECT_EQ(controllers_needed(scenario), (Controllers{"cpu", "cpuset", "memory", "pids"}));
}

TEST(CgroupControllersTest, EachKnobMapsToItsController) {
  struct Case {
    const char* scenario;
    Controllers want;
  };
  for (const auto& [text, want] : {
           Case{R"txt(backdrop { cgroups { cpuset { numa_node: 0 } } })txt", {"cpuset"}},
           Case{R"txt(backdrop { cgroups { cpuset_mems: "0" } })txt", {"cpuset"}},
           Case{R"txt(backdrop { cgroups { cpu_max { quota_pct: 10 } } })txt", {"cpu"}},
           Case{R"txt(backdrop { cgroups { memory_max: "1M" } })txt", {"memory"}},
           Case{R"txt(backdrop { cgroups { memory_low: "1M" } })txt", {"memory"}},
           Case{R"txt(backdrop { cgroups { memory_swap_max: "0" } })txt", {"memory"}},
           Case{R"txt(backdrop { cgroups { io_weight: 10 } })txt", {"io"}},
           Case{R"txt(backdrop { ops { set_cpuset { cgroup: "a" cpuset { cpus: "0" } } } })txt", {"cpuset"}},
           Case{R"txt(steps { ops { swap_cpusets { a: "a" b: "b" } } })txt", {"cpuset"}},
           Case{R"txt(backdrop { ops { add_cgroup_def { io_weight: 5 } } })txt", {"io"}},
       }) {
    EXPECT_EQ(controllers_needed(parse<scenario::Scenario>(text)), want) << text;
  }
}

}  // namespace
}  // namespace kstep::guest
