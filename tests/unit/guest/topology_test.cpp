#include "guest/topology.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using testing::add_cpu;
using testing::add_node;
using testing::FakeCpu;
using testing::set_online;
using testing::TempTree;

// (cpu, package, core, llc, node) of every placement, for one-line asserts.
using Placement = std::tuple<unsigned, unsigned, unsigned, unsigned, unsigned>;

std::vector<Placement> placements(const wire::Topology& topology) {
  std::vector<Placement> out;
  for (const auto& cpu : topology.cpus()) {
    out.emplace_back(cpu.cpu(), cpu.package(), cpu.core(), cpu.llc(), cpu.node());
  }
  return out;
}

TEST(GuestTopology, SinglePackageWithoutSmt) {
  TempTree tree;
  set_online(tree, "0-1");
  add_cpu(tree, {0, 0, 0, "0", "0-1"});
  add_cpu(tree, {1, 0, 1, "1", "0-1"});
  add_node(tree, 0, "0-1");

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->packages(), 1U);
  EXPECT_EQ(topology->cores(), 2U);
  EXPECT_EQ(topology->threads(), 2U);
  EXPECT_EQ(topology->llcs(), 1U);
  EXPECT_EQ(topology->numa_nodes(), 1U);
  EXPECT_EQ(placements(*topology), (std::vector<Placement>{{0, 0, 0, 0, 0}, {1, 0, 1, 0, 0}}));
}

// Two packages of two SMT cores each, one L3 and one NUMA node per package.
// core_id repeats across packages, as on real machines: the cores are still
// four, not two.
TEST(GuestTopology, TwoPackagesWithSmtSiblingsTwoLlcsTwoNodes) {
  TempTree tree;
  set_online(tree, "0-7");
  for (unsigned cpu = 0; cpu < 8; ++cpu) {
    const unsigned package = cpu / 4;
    const unsigned core = (cpu % 4) / 2;
    const unsigned first_sibling = cpu - cpu % 2;
    add_cpu(tree,
            {cpu, package, core, std::to_string(first_sibling) + "-" + std::to_string(first_sibling + 1),
             package == 0 ? "0-3" : "4-7"});
  }
  add_node(tree, 0, "0-3");
  add_node(tree, 1, "4-7");

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->packages(), 2U);
  EXPECT_EQ(topology->cores(), 4U);
  EXPECT_EQ(topology->threads(), 8U);
  EXPECT_EQ(topology->llcs(), 2U);
  EXPECT_EQ(topology->numa_nodes(), 2U);
  EXPECT_EQ(placements(*topology), (std::vector<Placement>{{0, 0, 0, 0, 0},
                                                           {1, 0, 0, 0, 0},
                                                           {2, 0, 1, 0, 0},
                                                           {3, 0, 1, 0, 0},
                                                           {4, 1, 0, 1, 1},
                                                           {5, 1, 0, 1, 1},
                                                           {6, 1, 1, 1, 1},
                                                           {7, 1, 1, 1, 1}}));
}

// Two L3 domains inside one package: LLC indices are dense, in CPU order,
// and come from the highest cache level, not from the (per-core) L2.
TEST(GuestTopology, TwoLlcsInOnePackage) {
  TempTree tree;
  set_online(tree, "0-3");
  add_cpu(tree, {0, 0, 0, "0", "0-1"});
  add_cpu(tree, {1, 0, 1, "1", "0-1"});
  add_cpu(tree, {2, 0, 2, "2", "2-3"});
  add_cpu(tree, {3, 0, 3, "3", "2-3"});

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->packages(), 1U);
  EXPECT_EQ(topology->llcs(), 2U);
  std::vector<unsigned> llc;
  for (const auto& cpu : topology->cpus()) {
    llc.push_back(cpu.llc());
  }
  EXPECT_EQ(llc, (std::vector<unsigned>{0, 0, 1, 1}));
}

TEST(GuestTopology, NoNodeDirectoryMeansEverythingOnNodeZero) {
  TempTree tree;
  set_online(tree, "0-1");
  add_cpu(tree, {0, 0, 0, "0", "0-1"});
  add_cpu(tree, {1, 0, 1, "1", "0-1"});

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->numa_nodes(), 1U);
  for (const auto& cpu : topology->cpus()) {
    EXPECT_EQ(cpu.node(), 0U) << "cpu " << cpu.cpu();
  }
}

TEST(GuestTopology, MemoryOnlyNodeCountsAsANode) {
  TempTree tree;
  set_online(tree, "0-1");
  add_cpu(tree, {0, 0, 0, "0", "0-1"});
  add_cpu(tree, {1, 0, 1, "1", "0-1"});
  add_node(tree, 0, "0-1");
  add_node(tree, 1, "");

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->numa_nodes(), 2U);
  EXPECT_EQ(topology->cpus(1).node(), 0U);
}

TEST(GuestTopology, OfflineCpusAreLeftOut) {
  TempTree tree;
  set_online(tree, "0,2");
  add_cpu(tree, {0, 0, 0, "0", "0-2"});
  add_cpu(tree, {1, 0, 1, "1", "0-2"});
  add_cpu(tree, {2, 0, 2, "2", "0-2"});

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->threads(), 2U);
  EXPECT_EQ(topology->cores(), 2U);
  ASSERT_EQ(topology->cpus_size(), 2);
  EXPECT_EQ(topology->cpus(1).cpu(), 2U);
}

TEST(GuestTopology, WithoutOnlineFileEveryCpuDirectoryCounts) {
  TempTree tree;
  add_cpu(tree, {0, 0, 0, "0", ""});
  add_cpu(tree, {1, 0, 1, "1", ""});
  add_cpu(tree, {10, 0, 2, "10", ""});
  tree.mkdir("sys/devices/system/cpu/cpufreq");  // not a CPU

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->threads(), 3U);
  EXPECT_EQ(topology->cpus(2).cpu(), 10U);
}

TEST(GuestTopology, CpusWithoutCacheInfoShareAnLlcPerPackage) {
  TempTree tree;
  set_online(tree, "0-3");
  for (unsigned cpu = 0; cpu < 4; ++cpu) {
    const std::string dir = "sys/devices/system/cpu/cpu" + std::to_string(cpu);
    tree.write(dir + "/topology/physical_package_id", std::to_string(cpu / 2));
    tree.write(dir + "/topology/core_id", std::to_string(cpu % 2));
  }

  auto topology = read_topology(tree.roots().sys);
  ASSERT_TRUE(topology) << topology.error().message;
  EXPECT_EQ(topology->packages(), 2U);
  EXPECT_EQ(topology->llcs(), 2U);
  EXPECT_EQ(topology->cpus(1).llc(), 0U);
  EXPECT_EQ(topology->cpus(2).llc(), 1U);
}

TEST(GuestTopology, MissingCoreIdIsAnErrorNamingTheFile) {
  TempTree tree;
  set_online(tree, "0");
  tree.write("sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n");

  auto topology = read_topology(tree.roots().sys);
  ASSERT_FALSE(topology);
  EXPECT_NE(topology.error().message.find("cpu0/topology/core_id"), std::string::npos)
      << topology.error().message;
}

TEST(GuestTopology, NoCpusIsAnError) {
  TempTree tree;
  auto topology = read_topology(tree.roots().sys);
  ASSERT_FALSE(topology);
  EXPECT_NE(topology.error().message.find("no online CPUs"), std::string::npos) << topology.error().message;
}

}  // namespace
}  // namespace kstep::guest
