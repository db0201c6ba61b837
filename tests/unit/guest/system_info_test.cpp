#include "guest/system_info.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using testing::TempTree;

TEST(GuestSystemInfo, MemTotalIsReportedInBytes) {
  TempTree tree;
  tree.write("proc/meminfo",
             "MemFree:          400000 kB\n"
             "MemTotal:         503424 kB\n"
             "MemAvailable:     450000 kB\n");
  auto bytes = read_memory_bytes(tree.roots().proc);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(*bytes, 503424ULL * 1024);
}

TEST(GuestSystemInfo, MeminfoWithoutMemTotalIsAnError) {
  TempTree tree;
  tree.write("proc/meminfo", "MemFree: 1 kB\n");
  auto bytes = read_memory_bytes(tree.roots().proc);
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().message.find("no MemTotal"), std::string::npos) << bytes.error().message;
}

TEST(GuestSystemInfo, MissingMeminfoIsAnErrorNamingTheFile) {
  TempTree tree;
  auto bytes = read_memory_bytes(tree.roots().proc);
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().message.find("meminfo"), std::string::npos) << bytes.error().message;
}

TEST(GuestSystemInfo, SchedExtWithAnAttachedScheduler) {
  TempTree tree;
  tree.write("sys/kernel/sched_ext/state", "enabled\n");
  tree.write("sys/kernel/sched_ext/root/ops", "simple\n");
  auto state = read_sched_ext(tree.roots().sys);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(state->supported());
  EXPECT_EQ(state->state(), "enabled");
  EXPECT_EQ(state->ops(), "simple");
}

TEST(GuestSystemInfo, SchedExtDisabledHasNoOps) {
  TempTree tree;
  tree.write("sys/kernel/sched_ext/state", "disabled\n");
  auto state = read_sched_ext(tree.roots().sys);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(state->supported());
  EXPECT_EQ(state->state(), "disabled");
  EXPECT_EQ(state->ops(), "");
}

TEST(GuestSystemInfo, KernelWithoutSchedExtIsUnsupportedNotAnError) {
  TempTree tree;
  tree.mkdir("sys/kernel");
  auto state = read_sched_ext(tree.roots().sys);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_FALSE(state->supported());
  EXPECT_EQ(state->state(), "");
}

TEST(GuestSystemInfo, CgroupControllersAreSplitOnWhitespace) {
  TempTree tree;
  tree.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  auto controllers = read_cgroup_controllers(tree.roots().cgroup);
  ASSERT_TRUE(controllers) << controllers.error().message;
  EXPECT_EQ(*controllers,
            (std::vector<std::string>{"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"}));
}

TEST(GuestSystemInfo, NoCgroup2MountMeansNoControllers) {
  TempTree tree;
  auto controllers = read_cgroup_controllers(tree.roots().cgroup);
  ASSERT_TRUE(controllers) << controllers.error().message;
  EXPECT_TRUE(controllers->empty());
}

TEST(GuestSystemInfo, BootTimeAdvances) {
  const auto first = boot_time_us();
  EXPECT_GT(first, 0U);
  EXPECT_GE(boot_time_us(), first);
}

}  // namespace
}  // namespace kstep::guest
