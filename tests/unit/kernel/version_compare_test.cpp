#include "host/kernel/version_compare.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kstep::host::kernel {
namespace {

int sign(int v) {
  return (v > 0) - (v < 0);
}

struct Ordered {
  std::string older;
  std::string newer;
};

class KernelVersionOrder : public ::testing::TestWithParam<Ordered> {};

TEST_P(KernelVersionOrder, OlderSortsBeforeNewerBothWays) {
  const auto& [older, newer] = GetParam();
  EXPECT_LT(compare_versions(older, newer), 0) << older << " vs " << newer;
  EXPECT_GT(compare_versions(newer, older), 0) << newer << " vs " << older;
}

INSTANTIATE_TEST_SUITE_P(Debian, KernelVersionOrder,
                         ::testing::Values(
                             // Digit runs are numbers: 10 > 9, which a string sort gets wrong.
                             Ordered{"6.12.9+bpo-cloud-amd64", "6.12.10+bpo-cloud-amd64"},
                             Ordered{"6.12.9+bpo", "6.12.10"}, Ordered{"7.9", "7.10"},
                             Ordered{"6.12.38+deb13-cloud-amd64", "7.3.4+deb13-cloud-amd64"},
                             Ordered{"7.3.4+deb13-cloud-amd64", "7.3.5+deb13-cloud-amd64"},
                             Ordered{"7.3.4+deb13-cloud-amd64", "7.3.4+deb14-cloud-amd64"},
                             // A suffix makes a version newer than the bare one...
                             Ordered{"6.12.10", "6.12.10+bpo"}, Ordered{"7.3.4-1", "7.3.4-1+b1"},
                             // ...except '~', which sorts before everything, even the end.
                             Ordered{"7.3~rc1", "7.3"}, Ordered{"7.3.4-1~bpo13+1", "7.3.4-1"},
                             Ordered{"7.3~rc1", "7.3~rc2"}, Ordered{"7.3~~", "7.3~"},
                             // Letters sort before non-letters.
                             Ordered{"1.0a", "1.0+"}, Ordered{"1.0a", "1.0b"}, Ordered{"1.0", "1.0a"},
                             // Debian package versions as apt-cache shows them.
                             Ordered{"6.12.9-1~bpo12+1", "6.12.10-1~bpo12+1"},
                             Ordered{"7.3.4-1~bpo13+1", "7.3.4-2~bpo13+1"}));

TEST(KernelVersionCompare, EqualAndLeadingZeros) {
  EXPECT_EQ(compare_versions("7.3.4+deb13-cloud-amd64", "7.3.4+deb13-cloud-amd64"), 0);
  EXPECT_EQ(compare_versions("", ""), 0);
  EXPECT_EQ(compare_versions("1.01", "1.1"), 0);
  EXPECT_EQ(compare_versions("1.000", "1.0"), 0);
  EXPECT_LT(compare_versions("", "1"), 0);
  EXPECT_GT(compare_versions("a", ""), 0);
  EXPECT_LT(compare_versions("~", ""), 0);
}

TEST(KernelVersionCompare, IsAConsistentOrder) {
  const std::vector<std::string> versions{"7.3.4+deb13-cloud-amd64",
                                          "6.12.9+bpo-cloud-amd64",
                                          "7.3~rc1",
                                          "7.3",
                                          "7.10",
                                          "6.12.10+bpo-cloud-amd64",
                                          "6.12.10",
                                          "7.3.4",
                                          "7.3.4-1~bpo13+1"};
  for (const auto& a : versions) {
    EXPECT_EQ(compare_versions(a, a), 0) << a;
    for (const auto& b : versions) {
      EXPECT_EQ(sign(compare_versions(a, b)), -sign(compare_versions(b, a))) << a << " vs " << b;
    }
  }
}

TEST(KernelVersionCompare, SortsReleasesNewestFirst) {
  std::vector<std::string> releases{"6.12.9+bpo-cloud-amd64", "7.3.4+deb13-cloud-amd64",
                                    "6.12.10+bpo-cloud-amd64", "7.3~rc1-cloud-amd64", "6.1.0-28-cloud-amd64"};
  std::sort(releases.begin(), releases.end(),
            [](const std::string& a, const std::string& b) { return compare_versions(a, b) > 0; });
  EXPECT_THAT(releases, ::testing::ElementsAre("7.3.4+deb13-cloud-amd64", "7.3~rc1-cloud-amd64",
                                               "6.12.10+bpo-cloud-amd64", "6.12.9+bpo-cloud-amd64",
                                               "6.1.0-28-cloud-amd64"));
}

}  // namespace
}  // namespace kstep::host::kernel
