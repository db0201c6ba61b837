// VM tests of the result files as their consumers read them: two real runs
// of the steady scenario with --json and --junit; the JSON validates against
// proto/result.schema.json, the JUnit against the Jenkins/Ant JUnit schema
// (tests/data/junit/junit.xsd), and `kstep compare` puts the runs side by
// side. Two boots in all.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "tests/tools/tool_run.hpp"
#include "tests/vm/vm_fixture.hpp"

namespace kstep::vmtest {
namespace {

using kstep::testing::run_tool;

// The source tree, from the scenario data directory the build passes.
std::string source(const char* relative) {
  return (std::filesystem::path{KSTEP_TEST_DATA}.parent_path().parent_path() / relative).string();
}

class ResultsVm : public Vm {
 protected:
  // Checks `json` and `junit` with the consumers' tools, each skipped (and
  // said) when its tool is not installed.
  static void validate(const std::string& json, const std::string& junit) {
    if (run_tool("python3 -c 'import jsonschema'").exit_code == 0) {
      const auto schema = run_tool("python3 '" + source("tests/tools/validate_json_schema.py") + "' '" +
                                   source("proto/result.schema.json") + "' '" + json + "'");
      EXPECT_EQ(schema.exit_code, 0) << schema.output;
    } else {
      std::cerr << "python3-jsonschema is not installed: " << json << " not validated\n";
    }
    if (run_tool("xmllint --version").exit_code == 0) {
      const auto xsd =
          run_tool("xmllint --noout --schema '" + source("tests/data/junit/junit.xsd") + "' '" + junit + "'");
      EXPECT_EQ(xsd.exit_code, 0) << xsd.output;
    } else {
      std::cerr << "xmllint is not installed: " << junit << " not validated\n";
    }
  }
};

TEST_F(ResultsVm, RealRunsValidateAgainstTheSchemasAndCompare) {
  const auto a_json = (run_dir_ / "a.json").string();
  const auto a_junit = (run_dir_ / "a.junit.xml").string();
  const auto a = run({"--scenario", "steady", "--json", a_json, "--junit", a_junit});
  ASSERT_EQ(a.exit_code, 0) << a.output;
  validate(a_json, a_junit);
  validate((run_dir_ / "result.json").string(), a_junit);

  // The run against itself: every delta is zero, the verdict unchanged.
  const auto same = run_kstep({"compare", run_dir_.string(), a_json});
  EXPECT_EQ(same.exit_code, 0) << same.output;
  EXPECT_TRUE(contains(same.output, "scenario steady, kernel ")) << same.output;
  EXPECT_TRUE(std::regex_search(same.output, std::regex{R"(\n +1  warm-up +[0-9]+ +[0-9]+ +\+0\.0%)"}))
      << same.output;
  EXPECT_TRUE(std::regex_search(same.output, std::regex{R"(\n +2  steady +[0-9]+ +[0-9]+ +\+0\.0%)"}))
      << same.output;
  EXPECT_TRUE(contains(same.output, "verdict: PASS in both (unchanged)")) << same.output;

  // A second boot of the same scenario: a real A/B with a delta per step.
  const auto b_dir = run_dir_ / "b";
  const auto b_junit = (b_dir / "junit.xml").string();
  const auto b = run_kstep({"run", "--run-dir", b_dir.string(), "--scenario", "steady", "--junit", b_junit});
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_TRUE(b.leftover_processes.empty());
  validate((b_dir / "result.json").string(), b_junit);
  const auto ab = run_kstep({"compare", a_json, b_dir.string()});
  EXPECT_EQ(ab.exit_code, 0) << ab.output;
  EXPECT_TRUE(contains(ab.output, "A: " + a_json)) << ab.output;
  EXPECT_TRUE(contains(ab.output, "B: " + b_dir.string())) << ab.output;
  EXPECT_TRUE(
      std::regex_search(ab.output, std::regex{R"(\n +1  warm-up +[0-9]+ +[0-9]+ +[+-][0-9]+\.[0-9]%)"}))
      << ab.output;
  EXPECT_TRUE(
      std::regex_search(ab.output, std::regex{R"(\n +2  steady +[0-9]+ +[0-9]+ +[+-][0-9]+\.[0-9]%)"}))
      << ab.output;
  EXPECT_FALSE(contains(ab.output, "warning:")) << ab.output;  // the same scenario text

  // A missing run is a usage error naming the path.
  const auto missing = run_kstep({"compare", a_json, (run_dir_ / "nope").string()});
  EXPECT_EQ(missing.exit_code, 64) << missing.output;
  EXPECT_TRUE(contains(missing.output, (run_dir_ / "nope").string() + ": no such file")) << missing.output;
}

}  // namespace
}  // namespace kstep::vmtest
