#include "common/cgroup_values.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <google/protobuf/text_format.h>

namespace kstep {
namespace {

using ::testing::HasSubstr;

scenario::CpuMax cpu_max(const std::string& text) {
  scenario::CpuMax parsed;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &parsed)) << text;
  return parsed;
}

TEST(CgroupValuesTest, MemorySizeSuffixesAreBinary) {
  EXPECT_EQ(*parse_memory_size("0"), 0U);
  EXPECT_EQ(*parse_memory_size("4096"), 4096U);
  EXPECT_EQ(*parse_memory_size("1K"), 1024U);
  EXPECT_EQ(*parse_memory_size("64M"), 64U << 20U);
  EXPECT_EQ(*parse_memory_size("3G"), std::uint64_t{3} << 30U);
  EXPECT_EQ(*parse_memory_size("2T"), std::uint64_t{2} << 40U);
  // The kernel's memparse takes lower case too.
  EXPECT_EQ(*parse_memory_size("2m"), 2U << 20U);
}

TEST(CgroupValuesTest, MemorySizeRejectsWhatIsNotDigitsAndASuffix) {
  for (const char* bad : {"", "K", "12X", "1.5G", "-1", "+1", " 1", "1 ", "1KB", "0x10", "max", "MAX"}) {
    const auto size = parse_memory_size(bad);
    ASSERT_FALSE(size) << "'" << bad << "'";
    EXPECT_THAT(size.error().message, HasSubstr(std::string{"'"} + bad + "'"));
    EXPECT_THAT(size.error().message, HasSubstr("optional K, M, G or T suffix"));
    // "max" is a knob value, not a size: the message must not suggest it.
    EXPECT_THAT(size.error().message, ::testing::Not(HasSubstr(R"(or "max")")));
  }
}

TEST(CgroupValuesTest, MemorySizeOverflowIsAnError) {
  EXPECT_EQ(*parse_memory_size("18446744073709551615"), UINT64_MAX);
  EXPECT_THAT(parse_memory_size("18446744073709551616").error().message, HasSubstr("more than"));
  // 2^54 K = 2^64 bytes: one too many.
  EXPECT_EQ(*parse_memory_size("18014398509481983K"), (UINT64_MAX >> 10U) << 10U);
  EXPECT_THAT(parse_memory_size("18014398509481984K").error().message, HasSubstr("more than"));
  EXPECT_EQ(*parse_memory_size("16777215T"), std::uint64_t{16777215} << 40U);
  EXPECT_FALSE(parse_memory_size("16777216T"));
}

TEST(CgroupValuesTest, MemoryKnobValueIsBytesOrMax) {
  EXPECT_EQ(*memory_knob_value("max"), "max");
  EXPECT_EQ(*memory_knob_value("64M"), "67108864");
  EXPECT_EQ(*memory_knob_value("0"), "0");
  const auto bad = memory_knob_value("12X");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            R"(bad memory size '12X': expected bytes with an optional K, M, G or T suffix, or "max")");
  EXPECT_FALSE(memory_knob_value("Max"));
  EXPECT_FALSE(memory_knob_value("max "));
}

TEST(CgroupValuesTest, PidsKnobValueIsAPositiveCountOrMax) {
  EXPECT_EQ(*pids_knob_value("max"), "max");
  EXPECT_EQ(*pids_knob_value("1"), "1");
  EXPECT_EQ(*pids_knob_value("0064"), "64");
  EXPECT_EQ(*pids_knob_value("4194304"), "4194304");
  for (const char* bad : {"0", "", "-1", "12k", "4194305", "99999999999999999999999"}) {
    const auto value = pids_knob_value(bad);
    ASSERT_FALSE(value) << "'" << bad << "'";
    EXPECT_THAT(value.error().message, HasSubstr(std::string{"'"} + bad + "'"));
    EXPECT_THAT(value.error().message, HasSubstr("1 to 4194304"));
  }
}

TEST(CgroupValuesTest, CpuMaxFromPercentUsesA100msPeriod) {
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota_pct: 50")), "50000 100000");
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota_pct: 200")), "200000 100000");
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota_pct: 1")), "1000 100000");
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota_pct: 12.3456")), "12346 100000");
}

TEST(CgroupValuesTest, CpuMaxPercentOutOfRangeIsRejected) {
  for (const char* bad : {"quota_pct: 0", "quota_pct: -5", "quota_pct: 0.5", "quota_pct: nan",
                          "quota_pct: inf", "quota_pct: 1e300"}) {
    const auto value = cpu_max_knob_value(cpu_max(bad));
    ASSERT_FALSE(value) << bad;
    EXPECT_THAT(value.error().message, HasSubstr("quota_pct"));
    EXPECT_THAT(value.error().message, HasSubstr("from 1 to"));
  }
}

TEST(CgroupValuesTest, CpuMaxQuotaAndPeriodWithinKernelLimits) {
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota { quota_us: 25000 period_us: 50000 }")), "25000 50000");
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota { quota_us: 1000 period_us: 1000 }")), "1000 1000");
  EXPECT_EQ(*cpu_max_knob_value(cpu_max("quota { quota_us: 4000000 period_us: 1000000 }")),
            "4000000 1000000");

  const auto short_period = cpu_max_knob_value(cpu_max("quota { quota_us: 5000 period_us: 999 }"));
  ASSERT_FALSE(short_period);
  EXPECT_EQ(short_period.error().message, "cpu_max period_us 999: expected 1000 to 1000000");
  EXPECT_FALSE(cpu_max_knob_value(cpu_max("quota { quota_us: 5000 period_us: 1000001 }")));

  const auto small_quota = cpu_max_knob_value(cpu_max("quota { quota_us: 999 period_us: 100000 }"));
  ASSERT_FALSE(small_quota);
  EXPECT_THAT(small_quota.error().message, HasSubstr("cpu_max quota_us 999: expected 1000 to "));
  EXPECT_FALSE(cpu_max_knob_value(cpu_max("quota { quota_us: 17592186044416 period_us: 100000 }")));
}

TEST(CgroupValuesTest, CpuMaxUnsetIsAnError) {
  EXPECT_FALSE(cpu_max_knob_value(scenario::CpuMax{}));
}

TEST(CgroupValuesTest, WeightRange) {
  EXPECT_TRUE(check_weight(1, "cpu_weight"));
  EXPECT_TRUE(check_weight(100, "cpu_weight"));
  EXPECT_TRUE(check_weight(10000, "io_weight"));
  const auto zero = check_weight(0, "cpu_weight");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message, "cpu_weight 0: expected 1 to 10000");
  const auto big = check_weight(10001, "io_weight");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "io_weight 10001: expected 1 to 10000");
}

}  // namespace
}  // namespace kstep
