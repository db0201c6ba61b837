// `kstep compare`: the comparison model of two result documents, its
// rendering, the command line and the command's exit codes.
#include "host/results/result_compare.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "host/cli/cli_args.hpp"
#include "host/cli/compare_command.hpp"
#include "host/results/result_document.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

result::RunResult doc(const std::string& text) {
  result::RunResult parsed;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &parsed)) << text;
  return parsed;
}

// A passing run of three steps under the kernel's scheduler.
result::RunResult baseline() {
  return doc(R"pb(
    schema_version: 1
    metadata {
      scenario: "steady"
      scenario_sha256: "aaaaaaaaaaaaaaaa"
      kernel_release: "7.3.4+deb13-cloud-amd64"
    }
    outcome: "pass"
    verdict: PASS
    steps { step: 1 name: "spin" started: true completed: true hold_ms: 5000 iterations_per_s: 1000 }
    steps { step: 2 name: "split" started: true completed: true hold_ms: 4000 iterations_per_s: 2000 }
    steps { step: 3 name: "join" started: true completed: true hold_ms: 1000 iterations_per_s: 400 }
  )pb");
}

// The same scenario under a scheduler that stalled in step 2.
result::RunResult candidate() {
  return doc(R"pb(
    schema_version: 1
    metadata {
      scenario: "steady"
      scenario_sha256: "aaaaaaaaaaaaaaaa"
      kernel_release: "7.3.4+deb13-cloud-amd64"
      scheduler: "kstep-sched"
    }
    outcome: "scheduler-failure"
    exit_code: 5
    verdict: FAIL
    steps { step: 1 name: "spin" started: true completed: true hold_ms: 5000 iterations_per_s: 1100 }
    steps { step: 2 name: "split" started: true completed: false hold_ms: 1200 }
    steps { step: 3 name: "join" }
    details { kind: SCHEDULER_STALLED step: 2 message: "runnable task stall\nmore" }
    details { kind: GAP step: 1 cgroup: "w" message: "gap of 900 ms" }
    details { kind: GAP step: 1 cgroup: "w" message: "gap of 950 ms" }
  )pb");
}

TEST(ResultCompare, MatchesStepsByNumberAndComputesThroughputDeltas) {
  const auto comparison = compare_results(baseline(), candidate());
  ASSERT_EQ(comparison.steps.size(), 3U);
  EXPECT_EQ(comparison.steps[0].step, 1U);
  ASSERT_TRUE(comparison.steps[0].delta_percent());
  EXPECT_DOUBLE_EQ(*comparison.steps[0].delta_percent(), 10.0);
  // Step 2 of B never completed: no rate, no delta.
  EXPECT_FALSE(comparison.steps[1].delta_percent());
  EXPECT_FALSE(comparison.steps[2].delta_percent());
  EXPECT_TRUE(comparison.warnings.empty());
}

TEST(ResultCompare, DetailsOnlyOneSideHasAreMatchedAsMultisetsAndCountedPerKind) {
  auto a = baseline();
  *a.add_details() = candidate().details(1);  // one GAP on step 1, cgroup w
  const auto comparison = compare_results(a, candidate());
  EXPECT_TRUE(comparison.only_in_a.empty());
  ASSERT_EQ(comparison.only_in_b.size(), 2U);
  // Sorted by kind: GAP (3) before SCHEDULER_STALLED (10). B has GAP twice, A once.
  EXPECT_EQ(comparison.only_in_b[0].kind, wire::Detail::GAP);
  EXPECT_EQ(comparison.only_in_b[0].cgroup, "w");
  EXPECT_EQ(comparison.only_in_b[0].extra, 1);
  EXPECT_EQ(comparison.only_in_b[0].example.message(), "gap of 950 ms");
  EXPECT_EQ(comparison.only_in_b[1].kind, wire::Detail::SCHEDULER_STALLED);
  EXPECT_EQ(comparison.only_in_b[1].step, 2U);
  ASSERT_EQ(comparison.kinds.size(), 2U);
  EXPECT_EQ(comparison.kinds[0].kind, wire::Detail::GAP);
  EXPECT_EQ(comparison.kinds[0].a, 1);
  EXPECT_EQ(comparison.kinds[0].b, 2);
  EXPECT_EQ(comparison.kinds[1].a, 0);
  EXPECT_EQ(comparison.kinds[1].b, 1);
  EXPECT_TRUE(comparison.verdict_changed());
}

TEST(ResultCompare, ADifferentStepNameOrScenarioIsSaid) {
  auto b = baseline();
  b.mutable_steps(1)->set_name("swap");
  b.mutable_metadata()->set_scenario_sha256("bbbbbbbbbbbbbbbb");
  auto comparison = compare_results(baseline(), b);
  EXPECT_TRUE(comparison.steps[1].name_differs());
  EXPECT_FALSE(comparison.steps[0].name_differs());
  ASSERT_EQ(comparison.warnings.size(), 1U);
  EXPECT_THAT(comparison.warnings[0], HasSubstr("scenario 'steady' differs between the runs"));
  EXPECT_THAT(render_comparison(baseline(), b, comparison, "a", "b"),
              HasSubstr("note: step 2 is 'split' in A but 'swap' in B"));

  b.mutable_metadata()->set_scenario("cpu-max");
  comparison = compare_results(baseline(), b);
  ASSERT_EQ(comparison.warnings.size(), 1U);
  EXPECT_THAT(comparison.warnings[0], HasSubstr("A ran scenario 'steady' and B scenario 'cpu-max'"));
}

TEST(ResultCompare, AStepOnlyOneSideHasIsAbsentInTheOther) {
  auto b = baseline();
  b.mutable_steps()->RemoveLast();
  const auto comparison = compare_results(baseline(), b);
  ASSERT_EQ(comparison.steps.size(), 3U);
  EXPECT_TRUE(comparison.steps[2].a);
  EXPECT_FALSE(comparison.steps[2].b);
  EXPECT_THAT(render_comparison(baseline(), b, comparison, "a", "b"), HasSubstr("absent"));
}

TEST(ResultCompare, RendersHeaderTableChecksAndVerdict) {
  const auto a = baseline();
  const auto b = candidate();
  const auto text = render_comparison(a, b, compare_results(a, b), "runs/a", "runs/b/result.json");
  EXPECT_THAT(text,
              HasSubstr("A: runs/a\n   scenario steady, kernel 7.3.4+deb13-cloud-amd64, scheduler (kernel "
                        "default), verdict PASS (pass)\n"));
  EXPECT_THAT(text, HasSubstr("B: runs/b/result.json\n   scenario steady, kernel 7.3.4+deb13-cloud-amd64, "
                              "scheduler kstep-sched, verdict FAIL (scheduler-failure)\n"));
  EXPECT_THAT(
      text,
      HasSubstr("step  name                       A iter/s       B iter/s     delta A hold ms B hold ms\n"));
  EXPECT_THAT(
      text,
      HasSubstr("   1  spin                           1000           1100    +10.0%      5000      5000\n"));
  EXPECT_THAT(
      text,
      HasSubstr("   2  split                          2000              -         -      4000      1200\n"));
  EXPECT_THAT(
      text,
      HasSubstr("   3  join                            400        not run         -      1000         -\n"));
  EXPECT_THAT(text, HasSubstr("  only in A: none\n"));
  EXPECT_THAT(text, HasSubstr("  only in B: GAP, step 1, cgroup w (x2): gap of 900 ms\n"));
  EXPECT_THAT(text, HasSubstr("  only in B: SCHEDULER_STALLED, step 2: runnable task stall\n"));
  EXPECT_THAT(text, HasSubstr("  SCHEDULER_STALLED            0     1\n"));
  EXPECT_THAT(text, HasSubstr("verdict: PASS -> FAIL (changed)\n"));
  EXPECT_THAT(text, Not(HasSubstr("warning:")));
}

TEST(ResultCompare, ARunAgainstItselfHasNoDeltasAndAnUnchangedVerdict) {
  const auto b = candidate();
  const auto comparison = compare_results(b, b);
  EXPECT_TRUE(comparison.only_in_a.empty());
  EXPECT_TRUE(comparison.only_in_b.empty());
  EXPECT_DOUBLE_EQ(comparison.steps[0].delta_percent().value(), 0.0);
  const auto text = render_comparison(b, b, comparison, "x", "x");
  EXPECT_THAT(text, HasSubstr("+0.0%"));
  EXPECT_THAT(text, HasSubstr("verdict: FAIL in both (unchanged)\n"));
}

TEST(ResultCompare, RunsWithoutStepsOrDetailsSaySo) {
  const auto handshake = doc(R"pb(schema_version: 1 outcome: "pass" verdict: PASS)pb");
  const auto text = render_comparison(handshake, handshake, compare_results(handshake, handshake), "a", "b");
  EXPECT_THAT(text, HasSubstr("steps: neither run has any\n"));
  EXPECT_THAT(text, HasSubstr("checks: no details in either run\n"));
}

TEST(CompareCli, TakesExactlyTwoRuns) {
  const auto cli = parse_cli({"compare", "runs/a", "runs/b/result.json"});
  ASSERT_TRUE(cli) << cli.error().message;
  const auto& compare = std::get<CompareOptions>(cli->command);
  EXPECT_EQ(compare.a, std::filesystem::path{"runs/a"});
  EXPECT_EQ(compare.b, std::filesystem::path{"runs/b/result.json"});
  EXPECT_THAT(parse_cli({"compare", "a"}).error().message, HasSubstr("compare: give two runs"));
  EXPECT_THAT(parse_cli({"compare", "a", "b", "c"}).error().message, HasSubstr("unexpected argument 'c'"));
  EXPECT_THAT(usage_text(), HasSubstr("compare A B"));
}

class CompareCommand : public ::testing::Test {
 protected:
  CompareCommand() {
    dir_ = std::filesystem::temp_directory_path() /
           ("kstep-compare-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "a");
    write(dir_ / "a" / "result.json", baseline());
    write(dir_ / "b.json", candidate());
  }
  ~CompareCommand() override { std::filesystem::remove_all(dir_); }

  static void write(const std::filesystem::path& path, const result::RunResult& result) {
    const auto json = to_json(result);
    ASSERT_TRUE(json) << json.error().message;
    std::ofstream{path} << *json;
  }

  std::filesystem::path dir_;
};

TEST_F(CompareCommand, ComparesARunDirectoryWithAResultFileAndPasses) {
  ::testing::internal::CaptureStdout();
  const auto outcome = compare_command({dir_ / "a", dir_ / "b.json"});
  const auto out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(outcome, Outcome::kPass);
  EXPECT_EQ(exit_code(outcome), 0);
  EXPECT_THAT(out, HasSubstr("A: " + (dir_ / "a").string()));
  EXPECT_THAT(out, HasSubstr("verdict: PASS -> FAIL (changed)"));
}

TEST_F(CompareCommand, AMissingOrForeignFileIsAUsageError) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(compare_command({dir_ / "a", dir_ / "missing"}), Outcome::kUsageError);
  std::ofstream{dir_ / "foreign.json"} << "{\"outcome\": 3}";
  EXPECT_EQ(compare_command({dir_ / "foreign.json", dir_ / "a"}), Outcome::kUsageError);
  // The errors name the files (the test's logger writes to stdout); no
  // comparison is half-printed.
  const auto out = ::testing::internal::GetCapturedStdout();
  EXPECT_THAT(out, HasSubstr("cannot read " + (dir_ / "missing").string() + ": no such file"));
  EXPECT_THAT(out, HasSubstr((dir_ / "foreign.json").string() + ": not a kstep result"));
  EXPECT_THAT(out, Not(HasSubstr("A: ")));
  EXPECT_EQ(exit_code(Outcome::kUsageError), 64);
}

}  // namespace
}  // namespace kstep::host
