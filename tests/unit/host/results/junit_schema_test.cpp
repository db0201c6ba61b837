// The JUnit that kstep writes, checked the way a CI system would read it:
// xmllint against the Jenkins/Ant JUnit schema (tests/data/junit/junit.xsd)
// for a passed, a failed, an inconclusive and a skipped run; a malformed
// file must be rejected, so the check itself is known to bite.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "host/results/junit_report.hpp"
#include "host/results/result_document.hpp"
#include "tests/unit/host/results/consumer_tools.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;
using testing::quoted;
using testing::run_tool;
using testing::source_file;

class JUnitSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_tool("xmllint --version").exit_code != 0) {
      GTEST_SKIP() << "xmllint is not installed (libxml2-utils; scripts/setup installs it)";
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("kstep-junit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::filesystem::remove_all(dir_);
    }
  }

  // A run of `outcome` without a scenario (as a boot or setup failure has).
  [[nodiscard]] result::RunResult run_of(Outcome outcome) const {
    result::RunMetadata metadata;
    metadata.set_kstep_version("0.1.0");
    metadata.set_host("ci-7");
    metadata.set_started_at("2026-12-05T07:00:00Z");
    metadata.set_kernel_release("7.3.4+deb13-cloud-amd64");
    metadata.set_scenario("steady");
    return assemble_result(ResultInputs{metadata, Classification{outcome, "why <&> \"it\" ended"}, nullptr,
                                        dir_, std::chrono::milliseconds{5500}});
  }

  testing::ToolRun xmllint(const char* name, const std::string& xml) const {
    const auto path = dir_ / name;
    std::ofstream{path} << xml;
    return run_tool("xmllint --noout --schema " + quoted(source_file("tests/data/junit/junit.xsd")) + " " +
                    quoted(path));
  }

  std::filesystem::path dir_;
};

TEST_F(JUnitSchema, APassedRunValidates) {
  const auto xml = render_junit(run_of(Outcome::kPass));
  const auto run = xmllint("pass.xml", xml);
  EXPECT_EQ(run.exit_code, 0) << run.output << xml;
}

TEST_F(JUnitSchema, AFailedRunWithDetailsValidates) {
  auto doc = run_of(Outcome::kSchedulerFailure);
  ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(
      R"pb(
        details { kind: SCHEDULER_STALLED step: 2 message: "runnable task stall <&>\n\x01second line" }
        details { kind: GAP step: 1 cgroup: "w'\"" message: "gap of 900 ms" }
        details { kind: STEP_FAILED message: "backdrop: no such cgroup" }
      )pb",
      &doc));
  const auto xml = render_junit(doc);
  EXPECT_THAT(xml, HasSubstr("failures=\"3\""));
  const auto run = xmllint("fail.xml", xml);
  EXPECT_EQ(run.exit_code, 0) << run.output << xml;
}

TEST_F(JUnitSchema, AFailedRunWithoutDetailsValidates) {
  const auto xml = render_junit(run_of(Outcome::kKernelPanic));
  EXPECT_THAT(xml, HasSubstr("<failure "));
  const auto run = xmllint("panic.xml", xml);
  EXPECT_EQ(run.exit_code, 0) << run.output << xml;
}

TEST_F(JUnitSchema, AnInconclusiveRunValidates) {
  const auto xml = render_junit(run_of(Outcome::kProtocolError));
  EXPECT_THAT(xml, HasSubstr("<error "));
  const auto run = xmllint("inconclusive.xml", xml);
  EXPECT_EQ(run.exit_code, 0) << run.output << xml;
}

TEST_F(JUnitSchema, ASkippedRunValidates) {
  const auto xml = render_junit(run_of(Outcome::kKernelUnsupported));
  EXPECT_THAT(xml, HasSubstr("<skipped>"));
  const auto run = xmllint("skip.xml", xml);
  EXPECT_EQ(run.exit_code, 0) << run.output << xml;
}

TEST_F(JUnitSchema, ARunWithEmptyMetadataValidates) {
  // A run that failed before anything was known: no properties to list.
  const auto xml = render_junit(assemble_result(ResultInputs{
      {}, Classification{Outcome::kUsageError, "bad"}, nullptr, dir_, std::chrono::milliseconds{0}}));
  const auto run = xmllint("empty.xml", xml);
  EXPECT_EQ(run.exit_code, 0) << run.output << xml;
}

TEST_F(JUnitSchema, MalformedOrOffSchemaFilesAreRejected) {
  auto xml = render_junit(run_of(Outcome::kPass));
  // Not well-formed: cut off inside the testcase.
  const auto truncated = xmllint("truncated.xml", xml.substr(0, xml.find("</testcase>")));
  EXPECT_NE(truncated.exit_code, 0) << truncated.output;
  // Well-formed, but a testcase without its required name.
  const std::string name = " name=\"steady\"";
  ASSERT_NE(xml.find(name), std::string::npos);
  const auto nameless = xmllint("nameless.xml", std::string{xml}.erase(xml.find(name), name.size()));
  EXPECT_NE(nameless.exit_code, 0) << nameless.output;
  EXPECT_THAT(nameless.output, HasSubstr("name"));
  // Well-formed, but <skipped> with an attribute, which the schema does not allow.
  const std::string testcase_end = "    </testcase>";
  ASSERT_NE(xml.find(testcase_end), std::string::npos);
  const auto attributed = xmllint("skipped-attribute.xml", xml.insert(xml.find("      <system-out>"),
                                                                      "      <skipped message=\"x\"/>\n"));
  EXPECT_NE(attributed.exit_code, 0) << attributed.output;
  EXPECT_THAT(attributed.output, HasSubstr("skipped"));
}

}  // namespace
}  // namespace kstep::host
