#include "guest/workers/worker_settings.hpp"

#include <sched.h>

#include <gtest/gtest.h>

#include <string>

#include "guest/workers/work_loops.hpp"

namespace kstep::guest::workers {
namespace {

std::string error_of(const scenario::Workers& config) {
  auto plan = plan_settings(config);
  return plan ? std::string{} : plan.error().message;
}

bool node_set(const SettingsPlan& plan, unsigned node) {
  constexpr unsigned kBits = 8 * sizeof(unsigned long);
  return (plan.nodemask[node / kBits] >> (node % kBits) & 1UL) != 0;
}

TEST(WorkerSettingsTest, DefaultsToNormalWithoutMemoryPolicy) {
  auto plan = plan_settings(scenario::Workers{});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->policy, scenario::NORMAL);
  EXPECT_EQ(plan->kernel_policy, SCHED_OTHER);
  EXPECT_EQ(plan->rt_priority, 0);
  EXPECT_TRUE(plan->apply_nice);
  EXPECT_EQ(plan->nice, 0);
  EXPECT_FALSE(plan->apply_mempolicy);
}

TEST(WorkerSettingsTest, MapsEveryPolicy) {
  scenario::Workers config;
  const std::pair<scenario::SchedPolicy, int> cases[] = {
      {scenario::NORMAL, SCHED_OTHER}, {scenario::BATCH, SCHED_BATCH}, {scenario::IDLE, SCHED_IDLE},
      {scenario::FIFO, SCHED_FIFO},    {scenario::RR, SCHED_RR},
  };
  for (const auto& [policy, kernel_policy] : cases) {
    config.set_policy(policy);
    auto plan = plan_settings(config);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(plan->kernel_policy, kernel_policy) << scenario::SchedPolicy_Name(policy);
  }
}

TEST(WorkerSettingsTest, RealTimePriorityDefaultsToOne) {
  scenario::Workers config;
  config.set_policy(scenario::RR);
  auto plan = plan_settings(config);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->rt_priority, 1);
  EXPECT_FALSE(plan->apply_nice);
  config.set_rt_priority(50);
  plan = plan_settings(config);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->rt_priority, 50);
}

TEST(WorkerSettingsTest, RejectsOutOfRangeOrMisplacedValues) {
  scenario::Workers config;
  config.set_nice(20);
  EXPECT_NE(error_of(config).find("nice 20 outside -20..19"), std::string::npos);
  config.set_nice(-5);
  config.set_policy(scenario::FIFO);
  EXPECT_NE(error_of(config).find("only NORMAL and BATCH"), std::string::npos);
  config.set_nice(0);
  config.set_rt_priority(100);
  EXPECT_NE(error_of(config).find("rt_priority 100 outside 1..99"), std::string::npos);
  config.set_policy(scenario::BATCH);
  config.set_rt_priority(10);
  EXPECT_NE(error_of(config).find("needs policy FIFO or RR"), std::string::npos);
}

TEST(WorkerSettingsTest, BuildsTheNodemaskAndFlags) {
  scenario::Workers config;
  auto* policy = config.mutable_mem_policy();
  policy->set_mode(scenario::MPOL_INTERLEAVE);
  policy->add_nodes(0);
  policy->add_nodes(2);
  policy->add_nodes(130);
  policy->set_static_nodes(true);
  auto plan = plan_settings(config);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->apply_mempolicy);
  EXPECT_EQ(plan->mempolicy_mode, mpol::kInterleave);
  EXPECT_EQ(plan->mempolicy_flags, mpol::kFlagStaticNodes);
  EXPECT_EQ(plan->maxnode, kMaxNodes + 1);
  EXPECT_TRUE(node_set(*plan, 0));
  EXPECT_FALSE(node_set(*plan, 1));
  EXPECT_TRUE(node_set(*plan, 2));
  EXPECT_TRUE(node_set(*plan, 130));
  EXPECT_EQ(describe_setup_failure(*plan, SetupFailure{SetupStep::kMemPolicy, EINVAL}),
            "set_mempolicy(MPOL_INTERLEAVE|MPOL_F_STATIC_NODES, nodes \"0,2,130\"): Invalid argument");
}

TEST(WorkerSettingsTest, LocalAndPreferredNeedNoNodes) {
  scenario::Workers config;
  config.mutable_mem_policy()->set_mode(scenario::MPOL_LOCAL);
  auto plan = plan_settings(config);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->mempolicy_mode, mpol::kLocal);
  EXPECT_EQ(plan->maxnode, 0U);
  config.mutable_mem_policy()->set_mode(scenario::MPOL_PREFERRED);
  plan = plan_settings(config);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->mempolicy_mode, mpol::kPreferred);
}

TEST(WorkerSettingsTest, RejectsInconsistentMemoryPolicies) {
  scenario::Workers config;
  auto* policy = config.mutable_mem_policy();
  policy->set_mode(scenario::MPOL_BIND);
  EXPECT_NE(error_of(config).find("MPOL_BIND needs at least one node"), std::string::npos);
  policy->add_nodes(kMaxNodes);
  EXPECT_NE(error_of(config).find("node 1024"), std::string::npos);
  policy->clear_nodes();
  policy->add_nodes(0);
  policy->set_static_nodes(true);
  policy->set_relative_nodes(true);
  EXPECT_NE(error_of(config).find("exclude each other"), std::string::npos);
  policy->set_relative_nodes(false);
  policy->set_mode(scenario::MPOL_DEFAULT);
  EXPECT_NE(error_of(config).find("MPOL_DEFAULT takes no nodes"), std::string::npos);
  policy->set_mode(scenario::MPOL_UNSPECIFIED);
  EXPECT_NE(error_of(config).find("no mode"), std::string::npos);
}

TEST(WorkerSettingsTest, DescribesSchedulerFailures) {
  scenario::Workers config;
  config.set_policy(scenario::FIFO);
  config.set_rt_priority(7);
  auto plan = plan_settings(config);
  ASSERT_TRUE(plan);
  EXPECT_EQ(describe_setup_failure(*plan, SetupFailure{SetupStep::kScheduler, EPERM}),
            "sched_setscheduler(SCHED_FIFO, priority 7): Operation not permitted");
}

TEST(WorkerSettingsTest, WorkPlanDefaultsAndRounding) {
  scenario::Workers config;
  auto work = plan_work(config);
  ASSERT_TRUE(work);
  EXPECT_EQ(work->work, scenario::SPIN);
  config.set_work(scenario::PAGE_TOUCH);
  work = plan_work(config);
  ASSERT_TRUE(work);
  EXPECT_EQ(work->page_touch_bytes, kDefaultPageTouchBytes);
  config.set_page_touch_bytes(work->page_size + 1);
  work = plan_work(config);
  ASSERT_TRUE(work);
  EXPECT_EQ(work->page_touch_bytes, 2 * work->page_size);
}

}  // namespace
}  // namespace kstep::guest::workers
