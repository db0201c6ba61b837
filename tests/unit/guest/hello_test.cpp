#include "guest/hello.hpp"

#include <gtest/gtest.h>

#include "common/protocol.hpp"
#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using testing::add_cpu;
using testing::add_node;
using testing::set_online;
using testing::TempTree;

// A small but complete machine: 2 packages x 1 core x 2 threads.
void build_machine(const TempTree& tree) {
  set_online(tree, "0-3");
  add_cpu(tree, {0, 0, 0, "0-1", "0-1"});
  add_cpu(tree, {1, 0, 0, "0-1", "0-1"});
  add_cpu(tree, {2, 1, 0, "2-3", "2-3"});
  add_cpu(tree, {3, 1, 0, "2-3", "2-3"});
  add_node(tree, 0, "0-3");
  tree.write("proc/meminfo", "MemTotal:         524288 kB\n");
  tree.write("sys/kernel/sched_ext/state", "disabled\n");
  tree.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu memory pids\n");
}

TEST(GuestHello, CarriesVersionsAndWhatTheReadersFound) {
  TempTree tree;
  build_machine(tree);

  auto hello = build_hello(tree.roots(), "7.3.4-test", 123456);
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(hello->protocol_version(), kProtocolVersion);
  EXPECT_EQ(hello->agent_version(), agent_version());
  EXPECT_FALSE(hello->agent_version().empty());
  EXPECT_EQ(hello->kernel_release(), "7.3.4-test");
  EXPECT_EQ(hello->uptime_us(), 123456U);
  EXPECT_EQ(hello->cpu_count(), 4U);
  EXPECT_EQ(hello->topology().packages(), 2U);
  EXPECT_EQ(hello->topology().cores(), 2U);
  EXPECT_EQ(hello->topology().threads(), 4U);
  EXPECT_EQ(hello->topology().llcs(), 2U);
  EXPECT_EQ(hello->topology().cpus_size(), 4);
  EXPECT_EQ(hello->memory_bytes(), 512ULL << 20U);
  EXPECT_TRUE(hello->sched_ext().supported());
  EXPECT_EQ(hello->sched_ext().state(), "disabled");
  ASSERT_EQ(hello->cgroup_controllers_size(), 4);
  EXPECT_EQ(hello->cgroup_controllers(2), "memory");
}

TEST(GuestHello, FailureSaysWhichPartFailed) {
  TempTree tree;
  build_machine(tree);
  std::filesystem::remove(tree.root() / "proc/meminfo");

  auto hello = build_hello(tree.roots(), "7.3.4-test", 0);
  ASSERT_FALSE(hello);
  EXPECT_NE(hello.error().message.find("reading memory size"), std::string::npos) << hello.error().message;
}

}  // namespace
}  // namespace kstep::guest
