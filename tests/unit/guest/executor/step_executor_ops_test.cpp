// Ops, one behaviour each, through whole runs against the fakes.
#include <gtest/gtest.h>

#include "guest/executor/cgroup_setup.hpp"
#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using namespace std::chrono_literals;

class StepExecutorOps : public ExecutorFixture {
 protected:
  // Runs one step of `ops` (text of repeated `ops { ... }`) in a 10 s scenario.
  wire::ScenarioEnd run_ops(const std::string& ops, const std::string& extra = "") {
    return run("duration_s: 10\n" + extra + "\nsteps { " + ops + " hold { seconds: 1 } }");
  }
};

TEST_F(StepExecutorOps, SwapAndClearCpusetsRewriteCpusetCpus) {
  std::vector<std::pair<std::string, std::string>> seen;
  workers.on_spawn = [&](const WorkerRequest&) {
    seen.emplace_back(file("a/cpuset.cpus"), file("b/cpuset.cpus"));
  };
  const auto end = run_ops(R"pb(
    ops {
      add_cgroup_def {
        name: "a"
        cpuset { cpus: "0-1" }
      }
    }
    ops {
      add_cgroup_def {
        name: "b"
        cpuset { cpus: "2-3" }
      }
    }
    ops { swap_cpusets { a: "a" b: "b" } }
    ops {
      spawn {
        cgroup: "a"
        workers { workers: 1 }
      }
    }
    ops { clear_cpuset: "a" }
    ops {
      set_cpuset {
        cgroup: "b"
        cpuset { range { from: 0.5 to: 1 } }
      }
    }
    ops {
      spawn {
        cgroup: "b"
        workers { workers: 1 }
      }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::string>{"2-3", "0-1"}));
  EXPECT_EQ(seen[1], (std::pair<std::string, std::string>{"", "2-3"}));
  const auto report = sink.step_reports().at(0);
  EXPECT_EQ(cgroup_report(report, "a")->cpuset_size(), 0);
  EXPECT_EQ(cgroup_report(report, "b")->cpuset_size(), 2);
}

TEST_F(StepExecutorOps, MoveAllTasksMovesWorkersAndPayloads) {
  payloads.behaviors["bench"] = FakePayloadBehavior{60s, 0, 0, {}};
  const auto end = run_ops(R"pb(
                             ops {
                               add_cgroup_def {
                                 name: "a"
                                 workers { workers: 2 }
                                 payload { payload: "bench" }
                               }
                             }
                             ops { add_cgroup: "b" }
                             ops { move_all_tasks { from: "a" to: "b" } }
                             ops { capture_cgroup_procs: "b" }
                             ops { remove_cgroup: "a" }
                           )pb",
                           R"pb(payloads { name: "bench" path: "bench" })pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  std::vector<pid_t> expected = workers.groups_in("a").at(0)->pids;
  expected.push_back(payloads.payloads.at(0)->pid);
  const auto report = sink.step_reports().at(0);
  const auto* b = cgroup_report(report, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(std::vector<pid_t>(b->captured_procs().begin(), b->captured_procs().end()), expected);
  // The moved workers report under their new cgroup; removing the emptied
  // source stopped nothing.
  EXPECT_EQ(b->workers_size(), 2);
  EXPECT_EQ(cgroup_report(report, "a")->workers_size(), 0);
  EXPECT_EQ(report.payloads_size(), 1);
}

TEST_F(StepExecutorOps, SetAffinityReachesEveryGroupOfTheCgroup) {
  const auto end = run_ops(R"pb(
    ops {
      add_cgroup_def {
        name: "a"
        workers { workers: 2 }
      }
    }
    ops {
      spawn {
        cgroup: "a"
        workers { workers: 1 }
      }
    }
    ops {
      set_affinity {
        cgroup: "a"
        cpus { cpus: "1-2" }
      }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  for (const auto& group : workers.groups_in("a")) {
    ASSERT_EQ(group->affinity_calls.size(), 1U);
    EXPECT_EQ(group->affinity_calls[0], (std::vector<unsigned>{1, 2}));
  }
}

TEST_F(StepExecutorOps, ARefusedAffinityFailsTheStep) {
  workers.fail_affinity = true;
  const auto end = run_ops(R"pb(
    ops {
      add_cgroup_def {
        name: "a"
        workers { workers: 1 }
      }
    }
    ops {
      set_affinity {
        cgroup: "a"
        cpus { cpus: "1" }
      }
    }
  )pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("op 2 (set_affinity): sched_setaffinity"), std::string::npos)
      << failed[0].message();
}

TEST_F(StepExecutorOps, SpawnCountsWorkersFromCpuPctOfTheCgroupsCpus) {
  const auto end = run_ops(R"pb(
    ops {
      add_cgroup_def {
        name: "a"
        cpuset { cpus: "0-2" }
      }
    }
    ops {
      spawn {
        cgroup: "a"
        workers { cpu_pct: 50 }
      }
    }
    ops { add_cgroup: "a/nested" }
    ops {
      spawn {
        cgroup: "a/nested"
        workers { cpu_pct: 100 }
      }
    }
    ops { add_cgroup: "b" }
    ops {
      spawn {
        cgroup: "b"
        workers { cpu_pct: 10 }
      }
    }
    ops {
      spawn {
        cgroup: "b"
        workers { workers: 3 work: YIELD }
      }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  ASSERT_EQ(workers.groups.size(), 4U);
  EXPECT_EQ(workers.groups[0]->request.count, 2U);  // ceil(50% of 3)
  EXPECT_EQ(workers.groups[1]->request.count, 3U);  // the parent's 3 CPUs
  EXPECT_EQ(workers.groups[2]->request.count, 1U);  // ceil(10% of 4), at least 1
  EXPECT_EQ(workers.groups[3]->request.count, 3U);
  EXPECT_EQ(workers.groups[3]->request.config.work(), scenario::YIELD);
  EXPECT_EQ(sink.step_starts().at(1).worker_count(), 9U);
}

TEST(ExecutorWorkerCount, ResolvesExactCountsAndPercentages) {
  scenario::Workers workers;
  EXPECT_FALSE(resolve_worker_count(workers, 4));  // neither set
  workers.set_workers(0);
  EXPECT_FALSE(resolve_worker_count(workers, 4));
  workers.set_workers(5);
  EXPECT_EQ(resolve_worker_count(workers, 4).value(), 5U);
  workers.set_cpu_pct(150);
  EXPECT_EQ(resolve_worker_count(workers, 4).value(), 6U);
  workers.set_cpu_pct(0.1);
  EXPECT_EQ(resolve_worker_count(workers, 4).value(), 1U);
  workers.set_cpu_pct(-5);
  EXPECT_FALSE(resolve_worker_count(workers, 4));
  workers.set_cpu_pct(1e12);
  EXPECT_FALSE(resolve_worker_count(workers, 4));
}

TEST_F(StepExecutorOps, AWaitedPayloadThatFailsIsAPayloadFailedDetailAndTheRunGoesOn) {
  payloads.behaviors["bench"] = FakePayloadBehavior{300ms, 3, 0, {{"score", 1.5}}};
  payloads.behaviors["tool"] = FakePayloadBehavior{200ms, -1, 11, {}};
  const auto end = run(R"pb(
    duration_s: 10
    payloads { name: "bench" path: "bench" }
    payloads { name: "tool" path: "tool" }
    steps {
      ops { add_cgroup: "a" }
      ops {
        run_payload {
          cgroup: "a"
          run { payload: "bench" id: "b1" }
        }
      }
      ops { run_payload { run { payload: "tool" } } }
      ops { wait_payload: "b1" }
      ops { wait_payload: "tool" }
      hold { seconds: 1 }
    }
    steps { hold { seconds: 1 } }
  )pb");
  const auto failed = details_of(end, wire::Detail::PAYLOAD_FAILED);
  ASSERT_EQ(failed.size(), 2U);
  EXPECT_EQ(failed[0].step(), 1U);
  EXPECT_EQ(failed[0].cgroup(), "a");
  EXPECT_EQ(failed[0].elapsed_ms(), 300U);
  EXPECT_NE(failed[0].message().find("payload 'bench' (id 'b1') exited with code 3"), std::string::npos)
      << failed[0].message();
  EXPECT_NE(failed[1].message().find("killed by signal 11"), std::string::npos) << failed[1].message();
  EXPECT_TRUE(details_of(end, wire::Detail::STEP_FAILED).empty());
  EXPECT_EQ(sink.step_reports().size(), 2U);  // the run went on
  const auto report = sink.step_reports().at(0);
  ASSERT_EQ(report.payloads_size(), 2);
  EXPECT_EQ(report.payloads(0).metrics().at("score"), 1.5);
  EXPECT_EQ(report.details_size(), 2);
  EXPECT_FALSE(payloads.payloads.at(0)->killed);
  EXPECT_FALSE(end.passed());
}

TEST_F(StepExecutorOps, APayloadStillRunningAtTheDeadlineFailsItsWait) {
  payloads.behaviors["bench"] = FakePayloadBehavior{60s, 0, 0, {}};
  const auto end = run_ops(R"pb(
                             ops { run_payload { run { payload: "bench" } } }
                             ops { wait_payload: "bench" }
                           )pb",
                           R"pb(payloads { name: "bench" path: "bench" })pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("still runs at the scenario's deadline (10000 ms)"), std::string::npos)
      << failed[0].message();
  EXPECT_TRUE(payloads.payloads.at(0)->killed);
  EXPECT_EQ(sink.step_reports().at(0).payloads_size(), 1);
}

TEST_F(StepExecutorOps, KillPayloadKeepsItsReportAndMetrics) {
  payloads.behaviors["bench"] = FakePayloadBehavior{60s, 0, 0, {{"rps", 900.0}}};
  const auto end = run_ops(R"pb(
                             ops { run_payload { run { payload: "bench" } } }
                             ops { kill_payload: "bench" }
                           )pb",
                           R"pb(payloads { name: "bench" path: "bench" })pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  const auto report = sink.step_reports().at(0);
  ASSERT_EQ(report.payloads_size(), 1);
  EXPECT_EQ(report.payloads(0).signal(), 9);
  EXPECT_EQ(report.payloads(0).metrics().at("rps"), 900.0);
  EXPECT_EQ(sink.step_starts().at(1).op_count(), 2U);
}

TEST_F(StepExecutorOps, AnUndeclaredPayloadFailsTheStep) {
  const auto end = run_ops(R"pb(ops { run_payload { run { payload: "ghost" } } })pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("payload 'ghost' is not declared"), std::string::npos);
}

TEST_F(StepExecutorOps, TwoLivePayloadsWithOneIdAreRefused) {
  const auto end = run_ops(R"pb(
                             ops { run_payload { run { payload: "bench" } } }
                             ops { run_payload { run { payload: "bench" } } }
                           )pb",
                           R"pb(payloads { name: "bench" path: "bench" })pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("already running"), std::string::npos);
}

TEST_F(StepExecutorOps, ASchedulerPayloadNeverRunsInTheBackdrop) {
  const auto end = run(R"pb(
    duration_s: 10
    payloads { name: "bench" path: "bench" kind: SCHEDULER }
    backdrop {
      cgroups {
        name: "bd"
        workers { workers: 1 }
      }
      ops { run_payload { run { payload: "bench" } } }
    }
    steps { hold { seconds: 1 } }
  )pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].step(), 0U);
  EXPECT_NE(failed[0].message().find("backdrop: payload 'bench' is a scheduler"), std::string::npos)
      << failed[0].message();
  // Refused before anything was created.
  EXPECT_TRUE(payloads.payloads.empty());
  EXPECT_TRUE(workers.groups.empty());
  // No baseline, no steps: the backdrop never came up.
  const std::vector<wire::GuestMessage::BodyCase> expected{wire::GuestMessage::kScenarioStart,
                                                           wire::GuestMessage::kScenarioEnd};
  EXPECT_EQ(sink.kinds(), expected);
  EXPECT_EQ(end.backdrop().details_size(), 1);
}

TEST_F(StepExecutorOps, RemoveCgroupStopsItsWorkersAndRemovesItAtOnce) {
  bool a_gone = false;
  workers.on_spawn = [&](const WorkerRequest& request) {
    if (request.cgroup == "probe") {
      a_gone = !exists("a");
    }
  };
  const auto end = run_ops(R"pb(
    ops {
      add_cgroup_def {
        name: "a"
        workers { workers: 2 }
      }
    }
    ops { remove_cgroup: "a" }
    ops { add_cgroup_def { name: "probe" } }
    ops {
      spawn {
        cgroup: "probe"
        workers { workers: 1 }
      }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_TRUE(a_gone);
  const auto a = workers.groups_in("a").at(0);
  EXPECT_EQ(ms_since_start(*a->stopped_at), 0);
  EXPECT_EQ(cgroup_report(sink.step_reports().at(0), "a")->workers_size(), 2);
  EXPECT_EQ(sink.step_starts().at(1).cgroup_count(), 1U);
}

TEST_F(StepExecutorOps, RemoveCgroupRefusesAParentWithChildren) {
  const auto end = run_ops(R"pb(
    ops { add_cgroup: "a" }
    ops { add_cgroup: "a/b" }
    ops { remove_cgroup: "a" }
  )pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("still has the child cgroup 'a/b'"), std::string::npos);
  EXPECT_FALSE(exists("a"));
}

TEST_F(StepExecutorOps, StopCgroupStopsItsTasksAndKeepsIt) {
  const auto end = run_ops(R"pb(
    ops {
      add_cgroup_def {
        name: "a"
        workers { workers: 2 }
      }
    }
    ops { stop_cgroup: "a" }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(workers.groups_in("a").at(0)->stop_calls, 1);
  const auto start = sink.step_starts().at(1);
  EXPECT_EQ(start.cgroup_count(), 1U);
  EXPECT_EQ(start.worker_count(), 0U);
  EXPECT_EQ(cgroup_report(sink.step_reports().at(0), "a")->workers_size(), 2);
}

TEST_F(StepExecutorOps, PinBpfMapIsAWarningWhileNoSchedulerIsManaged) {
  const auto end = run_ops(R"pb(ops { pin_bpf_map: "stats" })pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
  EXPECT_EQ(sink.logs_containing("pin_bpf_map 'stats' ignored"), 1);
}

TEST_F(StepExecutorOps, AnOpWithoutAKindFailsTheStep) {
  const auto end = run_ops(R"pb(ops {})pb");
  const auto failed = details_of(end, wire::Detail::STEP_FAILED);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].message().find("op 1 (unset): the op has no kind"), std::string::npos)
      << failed[0].message();
}

}  // namespace
}  // namespace kstep::guest::testing
