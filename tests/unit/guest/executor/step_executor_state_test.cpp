// Backdrop and step state: lifetimes, teardown on every path, name lookup,
// ownership transfer, controllers, failure handling.
#include <gtest/gtest.h>

#include "guest/executor/scenario_state.hpp"
#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using namespace std::chrono_literals;

class StepExecutorState : public ExecutorFixture {};

TEST_F(StepExecutorState, TheBackdropLivesFromBeforeTheFirstStepToTheEnd) {
  bool bd_existed_in_step = false;
  workers.on_spawn = [&](const WorkerRequest& request) {
    if (request.cgroup == "a") {
      bd_existed_in_step = exists("bd");
    }
  };
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
    steps { hold { seconds: 1 } }
  )pb");
  EXPECT_TRUE(end.passed());
  EXPECT_TRUE(bd_existed_in_step);
  ASSERT_EQ(workers.groups.size(), 2U);
  const auto& bd = workers.groups[0];
  EXPECT_EQ(bd->request.cgroup, "bd");
  EXPECT_EQ(ms_since_start(bd->spawned_at), 0);
  // Stopped once, after the last step's hold, and its directory is gone.
  EXPECT_EQ(bd->stop_calls, 1);
  ASSERT_TRUE(bd->stopped_at);
  EXPECT_EQ(ms_since_start(*bd->stopped_at), 2000);
  EXPECT_TRUE(bd->destroyed);
  EXPECT_FALSE(exists("bd"));
  EXPECT_EQ(cgroup_report(end.backdrop(), "bd")->workers(0).iterations(), 20000U);
}

TEST_F(StepExecutorState, StepStateIsTornDownAtTheStepBoundary) {
  payloads.behaviors["bench"] = FakePayloadBehavior{10s, 0, 0, {{"ops_per_s", 42.0}}};
  bool a_gone_in_step_2 = false;
  workers.on_spawn = [&](const WorkerRequest& request) {
    if (request.cgroup == "b") {
      a_gone_in_step_2 = !exists("a");
    }
  };
  const auto end = run(R"pb(
    duration_s: 10
    payloads { name: "bench" path: "bench" }
    steps {
      setup {
        name: "a"
        workers { workers: 2 }
        payload { payload: "bench" args: "-t" }
      }
      hold { seconds: 1 }
    }
    steps {
      setup {
        name: "b"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_TRUE(a_gone_in_step_2);
  const auto a = workers.groups_in("a");
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0]->stop_calls, 1);
  EXPECT_EQ(a[0]->grace, kGrace);
  EXPECT_EQ(ms_since_start(*a[0]->stopped_at), 1000);

  ASSERT_EQ(payloads.payloads.size(), 1U);
  const auto& bench = payloads.payloads[0];
  EXPECT_TRUE(bench->killed);
  EXPECT_EQ(bench->request.cgroup, "a");
  EXPECT_EQ(bench->request.guest_path, "/kstep/payloads/bench");
  EXPECT_EQ(bench->request.args, std::vector<std::string>{"-t"});

  const auto reports = sink.step_reports();
  ASSERT_EQ(reports.size(), 2U);
  ASSERT_EQ(reports[0].payloads_size(), 1);
  EXPECT_EQ(reports[0].payloads(0).id(), "bench");
  EXPECT_EQ(reports[0].payloads(0).signal(), 9);
  EXPECT_EQ(reports[0].payloads(0).metrics().at("ops_per_s"), 42.0);
  ASSERT_NE(cgroup_report(reports[0], "a"), nullptr);
  EXPECT_EQ(cgroup_report(reports[0], "a")->workers_size(), 2);
  EXPECT_EQ(cgroup_report(reports[1], "a"), nullptr);
}

TEST_F(StepExecutorState, AFailedStepIsTornDownToo) {
  payloads.behaviors["bench"] = FakePayloadBehavior{10s, 0, 0, {}};
  const auto end = run(R"pb(
    duration_s: 10
    payloads { name: "bench" path: "bench" }
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps {
      setup {
        name: "a"
        workers { workers: 2 }
        payload { payload: "bench" }
      }
      setup { name: "a/child" }
      setup {
        name: "b"
        cpuset { llc: 7 }
      }
      hold { seconds: 1 }
    }
    steps {
      setup { name: "never" }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_FALSE(end.passed());
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].step(), 1U);
  EXPECT_NE(failed[0].message().find("LLC 7"), std::string::npos) << failed[0].message();

  // Everything the step created before the error is gone, children first.
  EXPECT_FALSE(exists("a/child"));
  EXPECT_FALSE(exists("a"));
  EXPECT_FALSE(exists("b"));
  const auto a = workers.groups_in("a");
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0]->stop_calls, 1);
  EXPECT_TRUE(payloads.payloads.at(0)->killed);

  // Its report went out, with the failure in it.
  const auto reports = sink.step_reports();
  ASSERT_EQ(reports.size(), 1U);
  ASSERT_NE(cgroup_report(reports[0], "a"), nullptr);
  EXPECT_EQ(cgroup_report(reports[0], "a")->workers_size(), 2);
  EXPECT_EQ(reports[0].payloads_size(), 1);
  ASSERT_EQ(reports[0].details_size(), 1);
  EXPECT_EQ(reports[0].details(0).kind(), wire::Detail::STEP_FAILED);

  // The run stopped there; the backdrop was still torn down and reported.
  EXPECT_TRUE(workers.groups_in("never").empty());
  EXPECT_FALSE(exists("never"));
  EXPECT_FALSE(exists("bd"));
  EXPECT_EQ(workers.groups_in("bd").at(0)->stop_calls, 1);
  EXPECT_EQ(cgroup_report(end.backdrop(), "bd")->workers_size(), 1);
}

TEST_F(StepExecutorState, AnExceptionFromBelowIsAStepFailureAndTheStepIsStillTornDown) {
  workers.throw_in.insert("boom");
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      setup {
        name: "boom"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("internal error: fake launcher exploded"), std::string::npos);
  EXPECT_EQ(workers.groups_in("a").at(0)->stop_calls, 1);
  EXPECT_FALSE(exists("a"));
  EXPECT_FALSE(exists("boom"));
  EXPECT_EQ(sink.step_reports().size(), 1U);
}

TEST_F(StepExecutorState, FailedStepsKeepTheEarlierStepsResults) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
    steps {
      setup {
        name: "b"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
    steps {
      ops { freeze_cgroup: "missing" }
      hold { seconds: 1 }
    }
    steps {
      setup { name: "d" }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_FALSE(end.passed());
  const auto reports = sink.step_reports();
  ASSERT_EQ(reports.size(), 3U);
  EXPECT_EQ(cgroup_report(reports[0], "a")->workers(0).iterations(), 10000U);
  EXPECT_EQ(cgroup_report(reports[1], "b")->workers(0).iterations(), 10000U);
  ASSERT_EQ(end.details_size(), 1);
  const auto& failed = end.details(0);
  EXPECT_EQ(failed.kind(), wire::Detail::STEP_FAILED);
  EXPECT_EQ(failed.step(), 3U);
  EXPECT_EQ(failed.elapsed_ms(), 2000U);
  EXPECT_NE(failed.message().find("step 3: op 1 (freeze_cgroup): no cgroup 'missing'"), std::string::npos)
      << failed.message();
  // Step 4 never started.
  for (const auto& start : sink.step_starts()) {
    EXPECT_LT(start.step(), 3U);
  }
}

TEST_F(StepExecutorState, StepsReachBackdropCgroupsByName) {
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
    }
    steps {
      ops { add_cgroup: "mine" }
      ops {
        set_cpuset {
          cgroup: "bd"
          cpuset { cpus: "2-3" }
        }
      }
      ops {
        set_cpuset {
          cgroup: "mine"
          cpuset { cpus: "1" }
        }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(cgroup_report(sink.step_reports().at(0), "mine")->cpuset(0), 1U);
  const auto* bd = cgroup_report(end.backdrop(), "bd");
  ASSERT_EQ(bd->cpuset_size(), 2);
  EXPECT_EQ(bd->cpuset(0), 2U);
}

TEST(ExecutorScenarioState, LookupsPreferTheStepThenTheBackdrop) {
  TempDir dir;
  CgroupFs fs{dir.path(), CgroupFs::Kind::kPlainDirectory};
  FakeClock clock;
  FakePayloadLauncher launcher{clock, fs};
  ScenarioState state{fs, 1s, [](const std::string&) {}};

  PayloadRequest request;
  request.id = "p";
  state.add_payload(Owner::kBackdrop, "p", "", std::move(launcher.start(request).value()));
  EXPECT_EQ(state.find_payload("p")->pid(), launcher.payloads[0]->pid);
  state.add_payload(Owner::kStep, "p", "", std::move(launcher.start(request).value()));
  EXPECT_EQ(state.find_payload("p")->pid(), launcher.payloads[1]->pid);

  ASSERT_TRUE(state.add_cgroup("bd", Owner::kBackdrop));
  ASSERT_TRUE(state.add_cgroup("st", Owner::kStep));
  EXPECT_EQ(state.find_cgroup("bd")->owner, Owner::kBackdrop);
  EXPECT_EQ(state.find_cgroup("st")->owner, Owner::kStep);
  auto duplicate = state.add_cgroup("bd", Owner::kStep);
  ASSERT_FALSE(duplicate);
  EXPECT_NE(duplicate.error().message.find("created by the backdrop"), std::string::npos);
}

TEST_F(StepExecutorState, AnExistingCgroupNameIsRejected) {
  const auto end = run(R"pb(
    duration_s: 10
    backdrop { cgroups { name: "bd" } }
    steps {
      ops { add_cgroup: "bd" }
      hold { seconds: 1 }
    }
  )pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("cgroup 'bd' already exists (created by the backdrop)"),
            std::string::npos)
      << failed[0].message();
}

TEST_F(StepExecutorState, ADuplicateWithinAStepIsRejected) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      setup { name: "x" }
      setup { name: "x" }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_EQ(details_of(end, wire::Detail::STEP_FAILED).size(), 1U);
  EXPECT_FALSE(exists("x"));
}

TEST_F(StepExecutorState, ADirectoryLeftOnDiskIsRejectedAndKept) {
  std::filesystem::create_directory(dir.path() / "stale");
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      setup { name: "stale" }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_EQ(details_of(end, wire::Detail::STEP_FAILED).size(), 1U);
  EXPECT_TRUE(exists("stale"));  // not ours to remove
}

TEST_F(StepExecutorState, MovingStepTasksIntoABackdropCgroupHandsThemToTheBackdrop) {
  payloads.behaviors["bench"] = FakePayloadBehavior{60s, 0, 0, {}};
  std::vector<pid_t> bd_procs;
  workers.on_spawn = [&](const WorkerRequest& request) {
    if (request.cgroup == "probe") {
      bd_procs = cgroups.procs("bd").value();
    }
  };
  const auto end = run(R"pb(
    duration_s: 10
    payloads { name: "bench" path: "bench" }
    backdrop { ops { add_cgroup: "bd" } }
    steps {
      ops {
        add_cgroup_def {
          name: "s"
          workers { workers: 2 }
          payload { payload: "bench" }
        }
      }
      ops { move_all_tasks { from: "s" to: "bd" } }
      hold { seconds: 1 }
    }
    steps {
      setup {
        name: "probe"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  const auto group = workers.groups_in("s").at(0);
  // Not stopped at step 1's boundary: alive in step 2, stopped at the end.
  ASSERT_TRUE(group->stopped_at);
  EXPECT_EQ(ms_since_start(*group->stopped_at), 2000);
  EXPECT_EQ(sink.step_starts().at(2).worker_count(), 3U);  // the moved 2 and the probe
  EXPECT_TRUE(payloads.payloads.at(0)->killed);
  // Step 1 reports "s" without workers; the backdrop reports them under "bd".
  const auto step_1 = sink.step_reports().at(0);
  ASSERT_NE(cgroup_report(step_1, "s"), nullptr);
  EXPECT_EQ(cgroup_report(step_1, "s")->workers_size(), 0);
  EXPECT_EQ(step_1.payloads_size(), 0);
  EXPECT_EQ(cgroup_report(end.backdrop(), "bd")->workers_size(), 2);
  EXPECT_EQ(end.backdrop().payloads_size(), 1);
  // The kernel was told: every pid went to bd's cgroup.procs.
  std::vector<pid_t> moved = group->pids;
  moved.push_back(payloads.payloads.at(0)->pid);
  EXPECT_EQ(bd_procs, moved);
  EXPECT_FALSE(exists("s"));
}

TEST_F(StepExecutorState, MovingBackdropTasksIntoAStepCgroupIsRefused) {
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 2 }
      }
    }
    steps {
      ops { add_cgroup: "s" }
      ops { move_all_tasks { from: "bd" to: "s" } }
      hold { seconds: 1 }
    }
  )pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("refused"), std::string::npos) << failed[0].message();
  // Nothing moved, and the backdrop's workers survived the step's teardown.
  const auto bd = workers.groups_in("bd").at(0);
  EXPECT_EQ(bd->stop_calls, 1);
  EXPECT_EQ(cgroup_report(end.backdrop(), "bd")->workers_size(), 2);
  EXPECT_TRUE(sink.step_reports().at(0).cgroups(0).workers().empty());
}

TEST_F(StepExecutorState, ANormalStepAppliesItsOpsBeforeItsSetup) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      ops { add_cgroup: "parent" }
      setup {
        name: "parent/child"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(sink.step_starts().at(1).cgroup_count(), 2U);
  EXPECT_EQ(workers.groups_in("parent/child").size(), 1U);
}

TEST_F(StepExecutorState, EveryCgroupIsUnfrozenBeforeItsWorkersAreCollected) {
  std::string freeze_while_frozen;
  workers.on_spawn = [&](const WorkerRequest& request) {
    if (request.cgroup == "probe") {
      freeze_while_frozen = file("s/cgroup.freeze");
    }
  };
  const auto end = run(R"pb(
    duration_s: 10
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
      ops { freeze_cgroup: "bd" }
    }
    steps {
      ops {
        add_cgroup_def {
          name: "s"
          workers { workers: 1 }
        }
      }
      ops { freeze_cgroup: "s" }
      ops {
        add_cgroup_def {
          name: "probe"
          workers { workers: 1 }
        }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(freeze_while_frozen, "1");
  EXPECT_EQ(workers.groups_in("s").at(0)->freeze_at_stop, "0");
  EXPECT_EQ(workers.groups_in("bd").at(0)->freeze_at_stop, "0");
}

TEST_F(StepExecutorState, OnlyTheNeededControllersAreEnabledOnTheRootAndOnParents) {
  std::string parent_subtree;
  workers.on_spawn = [&](const WorkerRequest& request) {
    if (request.cgroup == "web/front") {
      parent_subtree = file("web/cgroup.subtree_control");
    }
  };
  const auto end = run(R"pb(
    duration_s: 10
    backdrop { cgroups { name: "web" cpu_weight: 200 } }
    steps {
      setup {
        name: "web/front"
        memory_max: "64M"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  const std::string wanted = "+cpu +memory";
  const auto root = file("cgroup.subtree_control");
  EXPECT_NE(root.find(wanted), std::string::npos) << root;
  EXPECT_EQ(root.find("cpuset"), std::string::npos) << root;
  EXPECT_EQ(root.find("pids"), std::string::npos) << root;
  EXPECT_NE(parent_subtree.find(wanted), std::string::npos) << parent_subtree;
}

TEST_F(StepExecutorState, AScenarioWithoutKnobsEnablesNoController) {
  const auto end = run(R"pb(
    duration_s: 10
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed());
  EXPECT_FALSE(exists("cgroup.subtree_control"));
}

}  // namespace
}  // namespace kstep::guest::testing
