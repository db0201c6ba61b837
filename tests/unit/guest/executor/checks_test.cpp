// Checks: each kind on hand-built reports, then through whole runs.
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "guest/executor/checks.hpp"
#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

wire::StepReport report_of(const std::string& text) {
  wire::StepReport report;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &report)) << text;
  return report;
}

scenario::Checks checks_of(const std::string& text) {
  scenario::Checks checks;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &checks)) << text;
  return checks;
}

const char kReport[] = R"pb(
  cgroups {
    cgroup: "a"
    workers {
      pid: 1
      iterations: 100
      max_gap_us: 2000
      cpus_used: [ 0, 1 ]
    }
    workers {
      pid: 2
      iterations: 0
      max_gap_us: 9000
      cpus_used: [ 1, 3 ]
    }
  }
  cgroups {
    cgroup: "b"
    workers {
      pid: 3
      iterations: 50
      cpus_used: [ 2 ]
    }
    workers {
      pid: 4
      iterations: 40
      cpus_used: [ 3 ]
    }
  }
)pb";

std::vector<wire::Detail::Kind> kinds(const std::vector<wire::Detail>& details) {
  std::vector<wire::Detail::Kind> found;
  for (const auto& detail : details) {
    found.push_back(detail.kind());
  }
  return found;
}

TEST(ExecutorChecks, ZeroThresholdsCheckNothing) {
  EXPECT_TRUE(evaluate_checks(scenario::Checks{}, report_of(kReport), {{2, {0}}}, 1, 10).empty());
}

TEST(ExecutorChecks, StarvationFlagsWorkersWithoutProgress) {
  const auto details = evaluate_checks(checks_of("starvation: true"), report_of(kReport), {}, 3, 1234);
  ASSERT_EQ(details.size(), 1U);
  EXPECT_EQ(details[0].kind(), wire::Detail::STARVATION);
  EXPECT_EQ(details[0].cgroup(), "a");
  EXPECT_EQ(details[0].step(), 3U);
  EXPECT_EQ(details[0].elapsed_ms(), 1234U);
  EXPECT_NE(details[0].message().find("worker 2"), std::string::npos);
}

TEST(ExecutorChecks, GapFlagsLongGapsBetweenCheckpoints) {
  const auto details = evaluate_checks(checks_of("max_gap_ms: 5"), report_of(kReport), {}, 1, 0);
  ASSERT_EQ(details.size(), 1U);
  EXPECT_EQ(details[0].kind(), wire::Detail::GAP);
  EXPECT_NE(details[0].message().find("worker 2"), std::string::npos);
  EXPECT_TRUE(evaluate_checks(checks_of("max_gap_ms: 9"), report_of(kReport), {}, 1, 0).empty());
}

TEST(ExecutorChecks, SpreadComparesWorkersWithinEachCgroup) {
  // a: (100 - 0) / 100 = 1; b: (50 - 40) / 50 = 0.2.
  auto details = evaluate_checks(checks_of("max_spread: 0.5"), report_of(kReport), {}, 1, 0);
  ASSERT_EQ(details.size(), 1U);
  EXPECT_EQ(details[0].kind(), wire::Detail::UNFAIR);
  EXPECT_EQ(details[0].cgroup(), "a");
  details = evaluate_checks(checks_of("max_spread: 0.1"), report_of(kReport), {}, 1, 0);
  EXPECT_EQ(kinds(details), (std::vector<wire::Detail::Kind>{wire::Detail::UNFAIR, wire::Detail::UNFAIR}));
}

TEST(ExecutorChecks, IsolationComparesCpusUsedWithWhatWasAllowed) {
  const AllowedCpus allowed{{1, {0, 1}}, {2, {0, 1}}, {3, {2, 3}}};  // pid 4: never restricted
  const auto details = evaluate_checks(checks_of("isolation: true"), report_of(kReport), allowed, 1, 0);
  ASSERT_EQ(details.size(), 1U);
  EXPECT_EQ(details[0].kind(), wire::Detail::ISOLATION);
  EXPECT_NE(details[0].message().find("worker 2 ran on CPU 3 outside its cpuset 0-1"), std::string::npos)
      << details[0].message();
}

class StepExecutorChecks : public ExecutorFixture {};

TEST_F(StepExecutorChecks, ApplyToEachStepsReportAndToTheBackdrops) {
  workers.profiles["starved"] = FakeWorkerProfile{{0}, {}, 0};
  workers.profiles["gappy"] = FakeWorkerProfile{{10}, {}, 80000};
  workers.profiles["unfair"] = FakeWorkerProfile{{10, 1}, {}, 0};
  workers.profiles["leaky"] = FakeWorkerProfile{{10}, {0, 3}, 0};
  const auto end = run(R"pb(
    duration_s: 10
    checks { starvation: true max_gap_ms: 50 max_spread: 0.5 isolation: true }
    backdrop {
      cgroups {
        name: "starved"
        workers { workers: 1 }
      }
    }
    steps {
      setup {
        name: "gappy"
        workers { workers: 1 }
      }
      setup {
        name: "unfair"
        workers { workers: 2 }
      }
      hold { seconds: 1 }
    }
    steps {
      setup {
        name: "leaky"
        cpuset { cpus: "0-1" }
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_FALSE(end.passed());
  EXPECT_TRUE(details_of(end, wire::Detail::STEP_FAILED).empty());
  const auto gap = details_of(end, wire::Detail::GAP);
  ASSERT_EQ(gap.size(), 1U);
  EXPECT_EQ(gap[0].step(), 1U);
  EXPECT_EQ(gap[0].cgroup(), "gappy");
  const auto unfair = details_of(end, wire::Detail::UNFAIR);
  ASSERT_EQ(unfair.size(), 1U);
  EXPECT_EQ(unfair[0].cgroup(), "unfair");
  const auto isolation = details_of(end, wire::Detail::ISOLATION);
  ASSERT_EQ(isolation.size(), 1U);
  EXPECT_EQ(isolation[0].step(), 2U);
  EXPECT_EQ(isolation[0].cgroup(), "leaky");
  const auto starvation = details_of(end, wire::Detail::STARVATION);
  ASSERT_EQ(starvation.size(), 1U);
  EXPECT_EQ(starvation[0].step(), 0U);
  EXPECT_EQ(starvation[0].cgroup(), "starved");
  EXPECT_EQ(starvation[0].elapsed_ms(), 2000U);
  // Each report carries its own details.
  EXPECT_EQ(sink.step_reports().at(0).details_size(), 2);
  EXPECT_EQ(sink.step_reports().at(1).details_size(), 1);
  EXPECT_EQ(end.backdrop().details_size(), 1);
}

TEST_F(StepExecutorChecks, IsolationAllowsEveryCpusetAWorkerLivedUnder) {
  workers.profiles["a"] = FakeWorkerProfile{{10}, {0, 2}, 0};
  const auto end = run(R"pb(
    duration_s: 10
    checks { isolation: true }
    steps {
      ops {
        add_cgroup_def {
          name: "a"
          cpuset { cpus: "0" }
          workers { workers: 1 }
        }
      }
      ops {
        set_cpuset {
          cgroup: "a"
          cpuset { cpus: "2" }
        }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
}

TEST_F(StepExecutorChecks, IsolationSkipsWorkersThatWereEverUnrestricted) {
  workers.profiles["a"] = FakeWorkerProfile{{10}, {3}, 0};
  const auto end = run(R"pb(
    duration_s: 10
    checks { isolation: true }
    steps {
      ops {
        add_cgroup_def {
          name: "a"
          cpuset { cpus: "0" }
          workers { workers: 1 }
        }
      }
      ops { clear_cpuset: "a" }
      ops {
        set_cpuset {
          cgroup: "a"
          cpuset { cpus: "1" }
        }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_TRUE(end.passed()) << end.DebugString();
}

TEST_F(StepExecutorChecks, IsolationUsesTheParentsCpusetForANestedCgroup) {
  workers.profiles["p/c"] = FakeWorkerProfile{{10}, {3}, 0};
  const auto end = run(R"pb(
    duration_s: 10
    checks { isolation: true }
    steps {
      setup {
        name: "p"
        cpuset { cpus: "0-1" }
      }
      setup {
        name: "p/c"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  EXPECT_EQ(details_of(end, wire::Detail::ISOLATION).size(), 1U);
}

}  // namespace
}  // namespace kstep::guest::testing
