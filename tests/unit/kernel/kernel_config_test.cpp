#include "host/kernel/kernel_config.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/kernel/config_check.hpp"
#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

using kernel_test::config_sample;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using State = KernelConfig::State;

KernelConfig parse_ok(std::string_view text) {
  auto config = parse_kernel_config(text, "test.config");
  EXPECT_TRUE(config.ok()) << config.error().message;
  return config.ok() ? *config : KernelConfig{};
}

ConfigCheck check_sample(std::string_view name) {
  auto check = check_kernel_config_file(config_sample(name));
  EXPECT_TRUE(check.ok()) << check.error().message;
  return check.ok() ? *check : ConfigCheck{};
}

// "OPTION:state" per missing option, to compare whole groups at once.
std::vector<std::string> names(const std::vector<MissingOption>& missing) {
  std::vector<std::string> out;
  for (const auto& m : missing) {
    out.push_back(std::string{m.requirement.option} + ":" + std::string{to_string(m.found)});
  }
  return out;
}

// ---- parsing

TEST(KernelConfigParse, GoodSampleStates) {
  auto config = load_kernel_config(config_sample("good.config"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->source(), config_sample("good.config").string());
  EXPECT_EQ(config->state("CGROUPS"), State::BuiltIn);
  EXPECT_TRUE(config->built_in("SCHED_CLASS_EXT"));
  EXPECT_EQ(config->state("VIRTIO_MMIO"), State::Module);
  EXPECT_FALSE(config->built_in("VIRTIO_MMIO"));
  EXPECT_EQ(config->state("RT_GROUP_SCHED"), State::NotSet);
  EXPECT_EQ(config->value("RT_GROUP_SCHED"), "n");
  EXPECT_EQ(config->state("NO_SUCH_OPTION"), State::Absent);
  EXPECT_EQ(config->value("NO_SUCH_OPTION"), std::nullopt);
  // The CONFIG_ prefix is not part of the name.
  EXPECT_EQ(config->state("CONFIG_CGROUPS"), State::Absent);
}

TEST(KernelConfigParse, GoodSampleValues) {
  auto config = load_kernel_config(config_sample("good.config"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->state("CC_VERSION_TEXT"), State::Value);
  EXPECT_EQ(config->value("CC_VERSION_TEXT"), "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0");
  EXPECT_EQ(config->state("LOCALVERSION"), State::Value);
  EXPECT_EQ(config->value("LOCALVERSION"), "");
  EXPECT_EQ(config->value("PHYSICAL_START"), "0x1000000");
  EXPECT_EQ(config->value("LOG_BUF_SHIFT"), "17");
  EXPECT_EQ(config->value("CGROUPS"), "y");
  EXPECT_EQ(config->value("VIRTIO_MMIO"), "m");
  // 6 values and 29 =y, =m or "is not set" lines; comments are not entries.
  EXPECT_EQ(config->size(), 35U);
}

TEST(KernelConfigParse, DebianCloudConfigParses) {
  auto config = load_kernel_config(config_sample("debian-7.3.4+deb13-cloud-amd64.config"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_GT(config->size(), 3000U);
  EXPECT_TRUE(config->built_in("SCHED_CLASS_EXT"));
  EXPECT_EQ(config->state("SCSI_PROC_FS"), State::NotSet);
}

TEST(KernelConfigParse, MalformedSampleNamesFileAndLine) {
  const auto path = config_sample("malformed.config");
  auto config = load_kernel_config(path);
  ASSERT_FALSE(config.ok());
  // Line 7 is "CONFIG_VIRTIO_CONSOLE" with no '='.
  EXPECT_THAT(config.error().message, HasSubstr(path.string() + ":7:"));
  EXPECT_THAT(config.error().message, HasSubstr("CONFIG_VIRTIO_CONSOLE"));
}

TEST(KernelConfigParse, MissingFileIsAnErrorNamingIt) {
  auto config = load_kernel_config("/nonexistent/kstep/config");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("/nonexistent/kstep/config"));
}

TEST(KernelConfigParse, StringUnescaping) {
  const auto config = parse_ok(R"(CONFIG_A="a \"b\" \\c")"
                               "\n"
                               R"(CONFIG_B="x=y # not a comment")");
  EXPECT_EQ(config.value("A"), R"(a "b" \c)");
  EXPECT_EQ(config.value("B"), "x=y # not a comment");
}

TEST(KernelConfigParse, NumbersAndExplicitN) {
  const auto config = parse_ok("CONFIG_A=-1\nCONFIG_B=0X1f\nCONFIG_C=n\n");
  EXPECT_EQ(config.state("A"), State::Value);
  EXPECT_EQ(config.value("A"), "-1");
  EXPECT_EQ(config.state("B"), State::Value);
  EXPECT_EQ(config.state("C"), State::NotSet);
}

TEST(KernelConfigParse, LaterAssignmentWins) {
  const auto config = parse_ok("CONFIG_A=y\n# CONFIG_A is not set\nCONFIG_B=m\nCONFIG_B=y\n");
  EXPECT_EQ(config.state("A"), State::NotSet);
  EXPECT_EQ(config.state("B"), State::BuiltIn);
  EXPECT_EQ(config.size(), 2U);
}

TEST(KernelConfigParse, CommentsBlankLinesAndCrlf) {
  const auto config = parse_ok(
      "#\r\n# General setup\r\n\r\n#CONFIG_A is not set\r\n# CONFIG_B is not set, really\r\n"
      "CONFIG_C=y  \r\n# CONFIG_BAD-NAME is not set\r\n");
  EXPECT_EQ(config.state("A"), State::NotSet);
  EXPECT_EQ(config.state("B"), State::Absent);  // not the exact "is not set" form
  EXPECT_EQ(config.state("C"), State::BuiltIn);
  EXPECT_EQ(config.size(), 2U);
}

TEST(KernelConfigParse, EmptyTextIsAnEmptyConfig) {
  const auto config = parse_ok("");
  EXPECT_EQ(config.size(), 0U);
  EXPECT_EQ(config.source(), "test.config");
}

struct BadLine {
  std::string text;
  std::string line;      // "name:N:" expected in the error
  std::string fragment;  // and this
};

class KernelConfigParseBad : public ::testing::TestWithParam<BadLine> {};

TEST_P(KernelConfigParseBad, ErrorNamesSourceAndLine) {
  const auto& bad = GetParam();
  auto config = parse_kernel_config(bad.text, "x.config");
  ASSERT_FALSE(config.ok()) << bad.text;
  EXPECT_THAT(config.error().message, HasSubstr(bad.line)) << bad.text;
  EXPECT_THAT(config.error().message, HasSubstr(bad.fragment)) << bad.text;
}

INSTANTIATE_TEST_SUITE_P(Lines, KernelConfigParseBad,
                         ::testing::Values(BadLine{"CONFIG_A=y\nCONFIG_B\n", "x.config:2:", "CONFIG_B"},
                                           BadLine{"\n\nCONFIG_A=yes\n", "x.config:3:", "'yes'"},
                                           BadLine{"config_a=y\n", "x.config:1:", "config_a=y"},
                                           BadLine{"CONFIG_=y\n", "x.config:1:", "malformed option name"},
                                           BadLine{"CONFIG_A-B=y\n", "x.config:1:", "CONFIG_A-B"},
                                           BadLine{"CONFIG_A=\"open\n", "x.config:1:", "malformed string"},
                                           BadLine{"CONFIG_A=\"a\"b\"\n", "x.config:1:", "malformed string"},
                                           BadLine{"CONFIG_A=\"ends\\\"\n",
                                                   "x.config:1:", "malformed string"},
                                           BadLine{"CONFIG_A=0x\n", "x.config:1:", "'0x'"},
                                           BadLine{"CONFIG_A=\n", "x.config:1:", "malformed value"},
                                           BadLine{"  CONFIG_A=y\n", "x.config:1:", "malformed line"}));

// ---- requirement check

TEST(KernelConfigCheck, GoodSampleHasEverything) {
  const auto check = check_sample("good.config");
  EXPECT_TRUE(check.can_boot()) << check.describe();
  EXPECT_TRUE(check.has_sched_ext()) << check.describe();
  EXPECT_TRUE(check.missing_recommended.empty()) << check.describe();
  EXPECT_TRUE(check.initrd.zstd);
  EXPECT_TRUE(check.initrd.gzip);
  EXPECT_EQ(check.describe(), "");
  EXPECT_EQ(check.source, config_sample("good.config").string());
}

TEST(KernelConfigCheck, DebianCloudConfigHasEverything) {
  const auto check = check_sample("debian-7.3.4+deb13-cloud-amd64.config");
  EXPECT_TRUE(check.can_boot()) << check.describe();
  EXPECT_TRUE(check.has_sched_ext()) << check.describe();
  EXPECT_TRUE(check.missing_recommended.empty()) << check.describe();
  EXPECT_TRUE(check.initrd.zstd);
  EXPECT_TRUE(check.initrd.gzip);
}

TEST(KernelConfigCheck, NoSchedExtIsReportedSeparatelyFromBoot) {
  const auto check = check_sample("no-sched-ext.config");
  EXPECT_TRUE(check.can_boot()) << check.describe();
  EXPECT_FALSE(check.has_sched_ext());
  EXPECT_THAT(names(check.missing_for_sched_ext),
              ElementsAre("SCHED_CLASS_EXT:not set", "DEBUG_INFO_BTF:absent"));
  EXPECT_THAT(names(check.missing_recommended), ElementsAre("EXT_GROUP_SCHED:absent"));

  const auto text = check.describe();
  EXPECT_THAT(text, HasSubstr("missing for sched_ext"));
  EXPECT_THAT(text, HasSubstr("CONFIG_SCHED_CLASS_EXT is not set: sched_ext itself"));
  EXPECT_THAT(text, HasSubstr("CONFIG_DEBUG_INFO_BTF is absent"));
  EXPECT_THAT(text, HasSubstr("recommended, not set"));
  EXPECT_THAT(text, Not(HasSubstr("missing for boot")));
}

TEST(KernelConfigCheck, VirtioConsoleModuleIsMissingForBoot) {
  const auto check = check_sample("virtio-console-module.config");
  EXPECT_FALSE(check.can_boot());
  EXPECT_TRUE(check.has_sched_ext()) << check.describe();
  ASSERT_THAT(names(check.missing_for_boot), ElementsAre("VIRTIO_CONSOLE:=m"));
  EXPECT_EQ(check.missing_for_boot[0].requirement.level, RequirementLevel::Boot);

  const auto line = check.missing_for_boot[0].describe();
  EXPECT_THAT(line, HasSubstr("CONFIG_VIRTIO_CONSOLE=m (a module; the guest loads none)"));
  EXPECT_THAT(line, HasSubstr("virtio-serial"));
  const auto text = check.describe();
  EXPECT_THAT(text, HasSubstr(config_sample("virtio-console-module.config").string() + ": missing for boot"));
  EXPECT_THAT(text, HasSubstr("  CONFIG_VIRTIO_CONSOLE=m"));
}

TEST(KernelConfigCheck, GzipOnlyInitrd) {
  const auto check = check_sample("gzip-initrd-only.config");
  EXPECT_TRUE(check.can_boot()) << check.describe();
  EXPECT_FALSE(check.initrd.zstd);
  EXPECT_TRUE(check.initrd.gzip);
}

TEST(KernelConfigCheck, NoUsableInitrdCompressionIsMissingForBoot) {
  const auto check = check_sample("no-initrd-compression.config");
  EXPECT_FALSE(check.initrd.zstd);
  EXPECT_FALSE(check.initrd.gzip);
  EXPECT_FALSE(check.can_boot());
  ASSERT_THAT(names(check.missing_for_boot), ElementsAre("RD_ZSTD:not set"));
  EXPECT_THAT(check.missing_for_boot[0].describe(), HasSubstr("CONFIG_RD_GZIP"));
}

TEST(KernelConfigCheck, MalformedSampleIsAnError) {
  const auto path = config_sample("malformed.config");
  auto check = check_kernel_config_file(path);
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.error().message, HasSubstr(path.string() + ":7:"));
}

TEST(KernelConfigCheck, EmptyConfigMissesEveryRequirementInTableOrder) {
  const auto check = check_kernel_config(parse_ok(""));
  std::vector<std::string> boot;
  std::vector<std::string> sched_ext;
  std::vector<std::string> recommended;
  for (const auto& r : kernel_requirements()) {
    auto& group = r.level == RequirementLevel::Boot       ? boot
                  : r.level == RequirementLevel::SchedExt ? sched_ext
                                                          : recommended;
    group.push_back(std::string{r.option} + ":absent");
  }
  boot.emplace_back("RD_ZSTD:absent");  // no initramfs compression either
  EXPECT_EQ(names(check.missing_for_boot), boot);
  EXPECT_EQ(names(check.missing_for_sched_ext), sched_ext);
  EXPECT_EQ(names(check.missing_recommended), recommended);
  // The table's headline options are where they belong.
  EXPECT_NE(std::find(boot.begin(), boot.end(), "VIRTIO_CONSOLE:absent"), boot.end());
  EXPECT_NE(std::find(sched_ext.begin(), sched_ext.end(), "SCHED_CLASS_EXT:absent"), sched_ext.end());

  // describe(): boot group first, one line per option.
  const auto text = check.describe();
  const auto boot_at = text.find("missing for boot");
  const auto sched_at = text.find("missing for sched_ext");
  const auto recommended_at = text.find("recommended, not set");
  ASSERT_NE(boot_at, std::string::npos);
  ASSERT_NE(sched_at, std::string::npos);
  ASSERT_NE(recommended_at, std::string::npos);
  EXPECT_LT(boot_at, sched_at);
  EXPECT_LT(sched_at, recommended_at);
  EXPECT_EQ(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')),
            3 + boot.size() + sched_ext.size() + recommended.size());
}

TEST(KernelConfigCheck, NonBooleanValueCountsAsMissing) {
  const auto config =
      parse_ok(kernel_test::read_file(config_sample("good.config")) + "CONFIG_TMPFS=\"yes\"\n");
  const auto check = check_kernel_config(config);
  ASSERT_THAT(names(check.missing_for_boot), ElementsAre("TMPFS:a value"));
  EXPECT_THAT(check.missing_for_boot[0].describe(), HasSubstr("CONFIG_TMPFS has a non-boolean value"));
}

}  // namespace
}  // namespace kstep::host::kernel
