#include "guest/cpu_list.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace kstep::guest {
namespace {

using Cpus = std::vector<unsigned>;

TEST(GuestCpuList, ParsesRangesAndSingles) {
  auto cpus = parse_cpu_list("0-3,8,10-11\n");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(*cpus, (Cpus{0, 1, 2, 3, 8, 10, 11}));
}

TEST(GuestCpuList, SortsAndDeduplicates) {
  auto cpus = parse_cpu_list("5,1-2,2,0");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(*cpus, (Cpus{0, 1, 2, 5}));
}

TEST(GuestCpuList, EmptyListHasNoCpus) {
  // A memory-only NUMA node's cpulist is just a newline.
  auto cpus = parse_cpu_list("\n");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_TRUE(cpus->empty());
}

TEST(GuestCpuList, RejectsMalformedLists) {
  for (const char* bad : {"3-1", "a", "1,,2", "1-", "-1", "0-70000", "1 2"}) {
    auto cpus = parse_cpu_list(bad);
    ASSERT_FALSE(cpus) << "accepted '" << bad << "'";
    EXPECT_NE(cpus.error().message.find("bad CPU list"), std::string::npos) << cpus.error().message;
  }
}

}  // namespace
}  // namespace kstep::guest
