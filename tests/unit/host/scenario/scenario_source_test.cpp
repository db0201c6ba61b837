#include "host/scenario/scenario_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "host/scenario/canned_scenarios.hpp"
#include "host/scenario/scenario_validator.hpp"
#include "tests/unit/host/scenario/scenario_test_util.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kDataDir = std::string{KSTEP_TEST_DATA_DIR} + "/scenarios";

TEST(ScenarioSourceTest, CannedNamesLoadWithABuiltinOrigin) {
  const auto loaded = load_scenario_arg("cpu-max");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->origin, "builtin:cpu-max");
  EXPECT_EQ(loaded->scenario.name(), "cpu-max");
  // Lines point into the embedded text.
  EXPECT_GT(loaded->line_of("steps[1].setup[0].cpu_max"), 1);
}

TEST(ScenarioSourceTest, EmptyMeansTheDefault) {
  const auto loaded = load_scenario_arg("");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->scenario.name(), kDefaultCannedScenario);
}

TEST(ScenarioSourceTest, UnknownNameListsTheCannedOnes) {
  const auto loaded = load_scenario_arg("stedy");
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("unknown scenario 'stedy'"));
  for (const auto& canned : canned_scenarios()) {
    EXPECT_THAT(loaded.error().message, HasSubstr(std::string{canned.name}));
  }
}

TEST(ScenarioSourceTest, PathsLoadFiles) {
  const std::string path = kDataDir + "/invalid.textproto";
  const auto loaded = load_scenario_arg(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->origin, path);
  EXPECT_EQ(loaded->scenario.name(), "invalid");
}

// The VM tests run these files and expect them to get past validation (all
// but invalid.textproto), so a validator change that rejects one shows here
// first, without a VM.
TEST(ScenarioSourceTest, DataScenariosValidate) {
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir)) {
    if (entry.path().extension() != ".textproto" || entry.path().filename() == "invalid.textproto") {
      continue;
    }
    const auto loaded = load_scenario_arg(entry.path().string());
    ASSERT_TRUE(loaded) << loaded.error().message;
    const auto errors = validate_scenario(*loaded, testing::two_nodes());
    EXPECT_TRUE(errors.empty()) << describe_errors(errors);
    ++checked;
  }
  EXPECT_GT(checked, 0U);
}

TEST(ScenarioSourceTest, WhatLooksLikeAPathIsNeverTakenForAName) {
  for (const char* arg : {"missing/steady", "steady.textproto", "steady.txtpb", "steady.pbtxt"}) {
    const auto loaded = load_scenario_arg(arg);
    ASSERT_FALSE(loaded) << arg;
    EXPECT_THAT(loaded.error().message, StartsWith("cannot read scenario")) << arg;
  }
}

TEST(ScenarioSourceTest, ListingHasOneAlignedLinePerScenario) {
  const std::string listing = describe_canned_list();
  std::istringstream lines(listing);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) {
    rows.push_back(line);
  }
  const auto canned = canned_scenarios();
  ASSERT_EQ(rows.size(), canned.size()) << listing;
  std::size_t summary_column = std::string::npos;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_THAT(rows[i], StartsWith("  " + std::string{canned[i].name} + " ")) << listing;
    const auto column = rows[i].find(canned[i].summary);
    ASSERT_NE(column, std::string::npos) << rows[i];
    if (i == 0) {
      summary_column = column;
    }
    EXPECT_EQ(column, summary_column) << listing;
    EXPECT_EQ(rows[i].ends_with("(default)"), canned[i].name == kDefaultCannedScenario) << rows[i];
  }
}

}  // namespace
}  // namespace kstep::host
