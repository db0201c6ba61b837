#include "common/cpu_list.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace kstep {
namespace {

using Cpus = std::vector<unsigned>;

TEST(CpuList, ParsesRangesAndSingles) {
  auto cpus = parse_cpu_list("0-3,8,10-11\n");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(*cpus, (Cpus{0, 1, 2, 3, 8, 10, 11}));
}

TEST(CpuList, SortsAndDeduplicates) {
  auto cpus = parse_cpu_list("5,1-2,2,0");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(*cpus, (Cpus{0, 1, 2, 5}));
}

TEST(CpuList, EmptyListHasNoCpus) {
  // A memory-only NUMA node's cpulist is just a newline.
  auto cpus = parse_cpu_list("\n");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_TRUE(cpus->empty());
}

TEST(CpuList, RejectsMalformedLists) {
  for (const char* bad : {"3-1", "a", "1,,2", "1-", "-1", "0-70000", "1 2"}) {
    auto cpus = parse_cpu_list(bad);
    ASSERT_FALSE(cpus) << "accepted '" << bad << "'";
    EXPECT_NE(cpus.error().message.find("bad CPU list"), std::string::npos) << cpus.error().message;
  }
}

TEST(CpuList, FormatsRunsAsRanges) {
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({4}), "4");
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(format_cpu_list({1, 1, 2}), "1-2");
}

TEST(CpuList, FormatAndParseRoundTrip) {
  const Cpus cpus{0, 2, 3, 4, 7, 9, 10};
  auto parsed = parse_cpu_list(format_cpu_list(cpus));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, cpus);
}

}  // namespace
}  // namespace kstep
