// Real forks: every test spawns a few workers for well under a second. The
// only waits are bounded polls for progress; no assertion depends on how
// fast the machine is, except lower bounds that hold by construction.
#include "guest/workers/fork_worker_launcher.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "guest/workers/fork_worker_group.hpp"

namespace kstep::guest {
namespace {

using namespace std::chrono_literals;

constexpr auto kPollLimit = 5s;  // against hangs only

WorkerRequest make_request(scenario::WorkType work, unsigned count, std::string cgroup = "grp") {
  WorkerRequest request;
  request.config.set_workers(count);
  request.config.set_work(work);
  request.count = count;
  request.cgroup = std::move(cgroup);
  return request;
}

// A launcher whose placement only records the pids it was given.
struct Recorder {
  std::vector<pid_t> pids;
  std::vector<std::string> cgroups;
  ForkWorkerLauncher launcher() {
    return ForkWorkerLauncher{[this](pid_t pid, const std::string& cgroup) -> Result<void> {
      pids.push_back(pid);
      cgroups.push_back(cgroup);
      return {};
    }};
  }
};

std::unique_ptr<WorkerGroup> spawn_ok(ForkWorkerLauncher& launcher, const WorkerRequest& request) {
  auto group = launcher.spawn(request);
  if (!group) {
    ADD_FAILURE() << group.error().message;
    return nullptr;
  }
  return std::move(group).value();
}

// Waits until every worker has counted at least `minimum` iterations.
bool wait_for_progress(WorkerGroup& group, std::uint64_t minimum) {
  auto& fork_group = dynamic_cast<workers::ForkWorkerGroup&>(group);
  const auto deadline = std::chrono::steady_clock::now() + kPollLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (unsigned i = 0; i < group.size(); ++i) {
      all = all && fork_group.iterations_of(i) >= minimum;
    }
    if (all) {
      return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Reaped: no longer a child of this process, neither running nor a zombie.
bool reaped(pid_t pid) {
  return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

char process_state(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{stat}, {}};
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

bool wait_for_state(pid_t pid, char state) {
  const auto deadline = std::chrono::steady_clock::now() + kPollLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_state(pid) == state) {
      return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

std::vector<unsigned> affinity_of(pid_t pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> cpus;
  if (::sched_getaffinity(pid, sizeof set, &set) == 0) {
    for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) {
        cpus.push_back(cpu);
      }
    }
  }
  return cpus;
}

// Pins the calling thread (and so the workers it forks) to CPU 0 for a scope.
class PinnedToCpuZero {
 public:
  PinnedToCpuZero() {
    ok_ = ::sched_getaffinity(0, sizeof saved_, &saved_) == 0;
    cpu_set_t only_zero;
    CPU_ZERO(&only_zero);
    CPU_SET(0, &only_zero);
    ok_ = ok_ && ::sched_setaffinity(0, sizeof only_zero, &only_zero) == 0;
  }
  PinnedToCpuZero(const PinnedToCpuZero&) = delete;
  PinnedToCpuZero& operator=(const PinnedToCpuZero&) = delete;
  ~PinnedToCpuZero() { ::sched_setaffinity(0, sizeof saved_, &saved_); }
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  cpu_set_t saved_{};
  bool ok_ = false;
};

TEST(WorkerLauncherTest, PlacesEveryWorkerBeforeAnyWorkerRuns) {
  std::vector<pid_t> placed;
  bool all_blocked = true;
  ForkWorkerLauncher launcher{[&](pid_t pid, const std::string& cgroup) -> Result<void> {
    EXPECT_EQ(cgroup, "web/frontend");
    placed.push_back(pid);
    // A SPIN worker never sleeps once it works: asleep means it waits at
    // the gate, and every worker placed so far must still be waiting.
    for (const pid_t earlier : placed) {
      all_blocked = all_blocked && wait_for_state(earlier, 'S');
    }
    return {};
  }};
  auto group = spawn_ok(launcher, make_request(scenario::SPIN, 3, "web/frontend"));
  ASSERT_TRUE(group);
  EXPECT_TRUE(all_blocked);
  EXPECT_EQ(placed, group->pids());
  ASSERT_TRUE(wait_for_progress(*group, 1));
  EXPECT_GT(group->iterations(), 0U);
  EXPECT_EQ(group->stop(1s).size(), 3U);
}

class WorkerWorkTypeTest : public ::testing::TestWithParam<scenario::WorkType> {};

TEST_P(WorkerWorkTypeTest, MakesProgressAndReports) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto request = make_request(GetParam(), 2);
  request.config.set_page_touch_bytes(1 << 20);
  auto group = spawn_ok(launcher, request);
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 3));
  const auto reports = group->stop(2s);
  ASSERT_EQ(reports.size(), 2U);
  for (unsigned i = 0; i < reports.size(); ++i) {
    const auto& report = reports[i];
    SCOPED_TRACE(report.DebugString());
    EXPECT_EQ(report.pid(), recorder.pids[i]);
    EXPECT_EQ(report.work(), GetParam());
    EXPECT_GE(report.iterations(), 3U);
    EXPECT_FALSE(report.killed());
    EXPECT_FALSE(report.cpus_used().empty());
    EXPECT_GT(report.cpu_time_us(), 0U);
    EXPECT_GT(report.wall_time_us(), 0U);
    EXPECT_GT(report.max_gap_us(), 0U);
    EXPECT_TRUE(reaped(report.pid()));
  }
}

INSTANTIATE_TEST_SUITE_P(WorkerAllTypes, WorkerWorkTypeTest,
                         ::testing::Values(scenario::SPIN, scenario::YIELD, scenario::FUTEX_PINGPONG,
                                           scenario::MIXED, scenario::PAGE_TOUCH, scenario::FORK_EXIT),
                         [](const auto& info) { return scenario::WorkType_Name(info.param); });

TEST(WorkerLauncherTest, UnspecifiedWorkIsSpin) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::WORK_TYPE_UNSPECIFIED, 1));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 1));
  const auto reports = group->stop(1s);
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0].work(), scenario::SPIN);
}

class WorkerPingPongTest : public ::testing::TestWithParam<unsigned> {};

// With 3 workers, worker 2 has no partner and wakes from timed waits.
TEST_P(WorkerPingPongTest, EveryWorkerMeasuresWakeLatency) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::FUTEX_PINGPONG, GetParam()));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 20));
  const auto reports = group->stop(2s);
  ASSERT_EQ(reports.size(), GetParam());
  for (const auto& report : reports) {
    SCOPED_TRACE(report.DebugString());
    EXPECT_FALSE(report.killed());
    EXPECT_GT(report.wake_p50_us(), 0U);
    EXPECT_LE(report.wake_p50_us(), report.wake_p99_us());
    EXPECT_LE(report.wake_p99_us(), report.wake_max_us());
  }
}

// On one CPU the woken partner usually preempts the waker, which then finds
// its own turn without sleeping: it must still measure how long that took.
TEST(WorkerLauncherTest, PingPongPartnersOnOneCpuBothMeasure) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  std::unique_ptr<WorkerGroup> group;
  {
    const PinnedToCpuZero pinned;
    ASSERT_TRUE(pinned.ok());
    group = spawn_ok(launcher, make_request(scenario::FUTEX_PINGPONG, 2));
  }
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 20));
  for (const auto& report : group->stop(1s)) {
    EXPECT_GT(report.wake_p50_us(), 0U) << report.DebugString();
  }
}

INSTANTIATE_TEST_SUITE_P(WorkerPairsAndOddOneOut, WorkerPingPongTest, ::testing::Values(2U, 3U));

TEST(WorkerLauncherTest, OtherWorkTypesReportNoWakeLatency) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::YIELD, 1));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 1));
  const auto reports = group->stop(1s);
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0].wake_max_us(), 0U);
}

TEST(WorkerLauncherTest, ZeroGraceKillsEveryWorker) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::SPIN, 2));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 5));
  const auto reports = group->stop(0ms);
  ASSERT_EQ(reports.size(), 2U);
  for (const auto& report : reports) {
    SCOPED_TRACE(report.DebugString());
    EXPECT_TRUE(report.killed());
    // Counted before the kill, read from shared memory.
    EXPECT_GE(report.iterations(), 5U);
    EXPECT_FALSE(report.cpus_used().empty());
    EXPECT_TRUE(reaped(report.pid()));
  }
}

TEST(WorkerLauncherTest, WorkerThatDoesNotStopIsKilledAfterGrace) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::SPIN, 2));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 1));
  // A stopped process cannot act on the stop flag.
  ASSERT_EQ(::kill(group->pids()[0], SIGSTOP), 0);
  const auto reports = group->stop(200ms);
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_TRUE(reports[0].killed());
  EXPECT_FALSE(reports[1].killed());
  // Its last checkpoint came before the stop request, its death after the
  // whole grace: the stall shows as its longest gap.
  EXPECT_GE(reports[0].max_gap_us(), 200'000U);
  EXPECT_TRUE(reaped(reports[0].pid()));
  EXPECT_TRUE(reaped(reports[1].pid()));
}

TEST(WorkerLauncherTest, KillThenStopStillReports) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::FUTEX_PINGPONG, 2));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 2));
  group->kill();
  const auto reports = group->stop(1s);
  ASSERT_EQ(reports.size(), 2U);
  for (const auto& report : reports) {
    EXPECT_TRUE(report.killed());
    EXPECT_GE(report.iterations(), 2U);
  }
}

TEST(WorkerLauncherTest, SecondStopReturnsNothing) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::YIELD, 2));
  ASSERT_TRUE(group);
  EXPECT_EQ(group->stop(1s).size(), 2U);
  EXPECT_TRUE(group->stop(1s).empty());
}

TEST(WorkerLauncherTest, DestructorKillsAndReapsEveryWorker) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::FORK_EXIT, 3));
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 1));
  const auto pids = group->pids();
  group.reset();
  for (const pid_t pid : pids) {
    EXPECT_TRUE(reaped(pid)) << pid;
  }
}

TEST(WorkerLauncherTest, PlacementFailureTearsDownTheGroup) {
  std::vector<pid_t> placed;
  ForkWorkerLauncher launcher{[&](pid_t pid, const std::string&) -> Result<void> {
    placed.push_back(pid);
    if (placed.size() == 2) {
      return fail("cgroup.procs: No space left on device");
    }
    return {};
  }};
  auto group = launcher.spawn(make_request(scenario::SPIN, 3, "batch"));
  ASSERT_FALSE(group);
  EXPECT_NE(group.error().message.find("cgroup 'batch'"), std::string::npos) << group.error().message;
  EXPECT_NE(group.error().message.find("No space left on device"), std::string::npos)
      << group.error().message;
  ASSERT_EQ(placed.size(), 2U);
  for (const pid_t pid : placed) {
    EXPECT_TRUE(reaped(pid)) << pid;
  }
}

TEST(WorkerLauncherTest, SettingsFailureInTheWorkerIsReported) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto request = make_request(scenario::SPIN, 2, "numa");
  // No machine has memory on node 1000: the kernel refuses the policy.
  request.config.mutable_mem_policy()->set_mode(scenario::MPOL_BIND);
  request.config.mutable_mem_policy()->add_nodes(1000);
  auto group = launcher.spawn(request);
  ASSERT_FALSE(group);
  const std::string& message = group.error().message;
  EXPECT_NE(message.find("cgroup 'numa'"), std::string::npos) << message;
  EXPECT_NE(message.find("set_mempolicy(MPOL_BIND"), std::string::npos) << message;
  ASSERT_EQ(recorder.pids.size(), 2U);
  for (const pid_t pid : recorder.pids) {
    EXPECT_TRUE(reaped(pid)) << pid;
  }
}

TEST(WorkerLauncherTest, InvalidSettingsFailBeforeForking) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto request = make_request(scenario::SPIN, 2);
  request.config.set_nice(40);
  auto group = launcher.spawn(request);
  ASSERT_FALSE(group);
  EXPECT_NE(group.error().message.find("nice 40"), std::string::npos) << group.error().message;
  EXPECT_TRUE(recorder.pids.empty());
}

TEST(WorkerLauncherTest, ZeroWorkersIsAnError) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  EXPECT_FALSE(launcher.spawn(make_request(scenario::SPIN, 0)));
  EXPECT_TRUE(recorder.pids.empty());
}

TEST(WorkerLauncherTest, WorkersApplyPolicyAndNice) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto request = make_request(scenario::YIELD, 2);
  request.config.set_policy(scenario::BATCH);
  request.config.set_nice(5);
  auto group = spawn_ok(launcher, request);
  ASSERT_TRUE(group);
  for (const pid_t pid : group->pids()) {
    EXPECT_EQ(::sched_getscheduler(pid), SCHED_BATCH);
    errno = 0;
    EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(pid)), 5);
    EXPECT_EQ(errno, 0);
  }
  EXPECT_EQ(group->stop(1s).size(), 2U);

  request.config.set_policy(scenario::IDLE);
  request.config.set_nice(0);
  group = spawn_ok(launcher, request);
  ASSERT_TRUE(group);
  for (const pid_t pid : group->pids()) {
    EXPECT_EQ(::sched_getscheduler(pid), SCHED_IDLE);
  }
}

// Without CAP_SYS_NICE the kernel refuses; either way the outcome is explicit.
TEST(WorkerLauncherTest, RealTimePolicyIsAppliedOrRefusedWithTheReason) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  // MIXED sleeps half the time: a FIFO worker must not hog a CPU the test
  // itself may need.
  auto request = make_request(scenario::MIXED, 1);
  request.config.set_policy(scenario::FIFO);
  auto group = launcher.spawn(request);
  if (!group) {
    EXPECT_NE(group.error().message.find("sched_setscheduler(SCHED_FIFO, priority 1)"), std::string::npos)
        << group.error().message;
    return;
  }
  const pid_t pid = (*group)->pids()[0];
  EXPECT_EQ(::sched_getscheduler(pid), SCHED_FIFO);
  struct sched_param param {};
  ASSERT_EQ(::sched_getparam(pid, &param), 0);
  EXPECT_EQ(param.sched_priority, 1);
}

TEST(WorkerLauncherTest, SetAffinityPinsEveryWorker) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::SPIN, 2));
  ASSERT_TRUE(group);
  ASSERT_TRUE(group->set_affinity({0}).ok());
  for (const pid_t pid : group->pids()) {
    EXPECT_EQ(affinity_of(pid), std::vector<unsigned>{0});
  }
  ASSERT_TRUE(wait_for_progress(*group, 1));
  for (const auto& report : group->stop(1s)) {
    const auto& cpus = report.cpus_used();
    EXPECT_NE(std::find(cpus.begin(), cpus.end(), 0U), cpus.end()) << report.DebugString();
  }
}

TEST(WorkerLauncherTest, SetAffinityRejectsImpossibleCpus) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  auto group = spawn_ok(launcher, make_request(scenario::SPIN, 1));
  ASSERT_TRUE(group);
  EXPECT_FALSE(group->set_affinity({}).ok());
  const auto too_big = group->set_affinity({5000});
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("5000"), std::string::npos);
}

// Workers inherit the spawner's affinity: pinned to CPU 0 from the start,
// they must report exactly that CPU.
TEST(WorkerLauncherTest, CpusUsedRecordsWhereWorkersRan) {
  Recorder recorder;
  auto launcher = recorder.launcher();
  std::unique_ptr<WorkerGroup> group;
  {
    const PinnedToCpuZero pinned;
    ASSERT_TRUE(pinned.ok());
    group = spawn_ok(launcher, make_request(scenario::YIELD, 2));
  }
  ASSERT_TRUE(group);
  ASSERT_TRUE(wait_for_progress(*group, 1));
  for (const auto& report : group->stop(1s)) {
    EXPECT_EQ(std::vector<unsigned>(report.cpus_used().begin(), report.cpus_used().end()),
              std::vector<unsigned>{0});
  }
}

}  // namespace
}  // namespace kstep::guest
