#include "host/scenario/scenario_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/host/scenario/scenario_test_util.hpp"

namespace kstep::host {
namespace {

using ::testing::HasSubstr;
using testing::line_with;
using ::testing::StartsWith;

TEST(ScenarioLoaderTest, ParsesTextFormat) {
  const auto loaded = load_scenario_text(R"txt(
name: "two-steps"
duration_s: 2.5
steps { hold { fraction: 0.5 } }
steps { hold { seconds: 1 } }
)txt",
                                         "two.textproto");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->origin, "two.textproto");
  EXPECT_EQ(loaded->scenario.name(), "two-steps");
  EXPECT_DOUBLE_EQ(loaded->scenario.duration_s(), 2.5);
  ASSERT_EQ(loaded->scenario.steps_size(), 2);
  EXPECT_DOUBLE_EQ(loaded->scenario.steps(1).hold().seconds(), 1.0);
}

TEST(ScenarioLoaderTest, SyntaxErrorCarriesOriginLineAndColumn) {
  const auto loaded =
      load_scenario_text("duration_s: 3\nsteps {\n  hodl { fraction: 1 }\n}\n", "bad.textproto");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message,
            R"(bad.textproto:3:8: Message type "kstep.scenario.Step" has no field named "hodl".)");
}

TEST(ScenarioLoaderTest, ReportsEveryErrorTheParserFinds) {
  // A bad escape does not stop the tokenizer; the bad number then stops the parser.
  const auto loaded = load_scenario_text("name: \"a\\q\"\nduration_s: x\n", "two.textproto");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message,
            "two.textproto:1:10: Invalid escape sequence in string literal.\n"
            "two.textproto:2:13: Expected double, got: x");
}

TEST(ScenarioLoaderTest, OneofConflictsAndRepeatedSingularFieldsAreSyntaxErrors) {
  const auto oneof = load_scenario_text("steps { hold { fraction: 1 seconds: 2 } }", "o");
  ASSERT_FALSE(oneof);
  EXPECT_THAT(oneof.error().message, StartsWith("o:1:"));
  EXPECT_THAT(oneof.error().message, HasSubstr("another member of oneof"));

  const auto twice = load_scenario_text("duration_s: 1\nduration_s: 2\n", "t");
  ASSERT_FALSE(twice);
  EXPECT_THAT(twice.error().message, StartsWith("t:2:"));
}

TEST(ScenarioLoaderTest, RecordsTheLineOfEveryField) {
  constexpr std::string_view text = R"txt(
duration_s: 3
backdrop {
  cgroups {
    name: "base"
    workers { workers: 2 nice: 0 }
  }
}
steps {
  hold { fraction: 0.5 }
}
steps {
  setup { name: "a" }
  setup {
    name: "b"
    cpuset { cpus: "0" }
  }
  ops { freeze_cgroup: "a" }
}
)txt";
  const auto loaded = testing::load(text);
  EXPECT_EQ(loaded.line_of("duration_s"), line_with(text, "duration_s"));
  EXPECT_EQ(loaded.line_of("backdrop.cgroups[0].name"), line_with(text, "\"base\""));
  // A default value written out is still in the source.
  EXPECT_EQ(loaded.line_of("backdrop.cgroups[0].workers.nice"), line_with(text, "nice: 0"));
  EXPECT_EQ(loaded.line_of("steps[0].hold.fraction"), line_with(text, "fraction"));
  EXPECT_EQ(loaded.line_of("steps[1]"), line_with(text, "setup { name: \"a\" }") - 1);
  EXPECT_EQ(loaded.line_of("steps[1].setup[1]"), line_with(text, "name: \"b\"") - 1);
  EXPECT_EQ(loaded.line_of("steps[1].setup[1].cpuset"), line_with(text, "cpuset"));
  EXPECT_EQ(loaded.line_of("steps[1].ops[0].freeze_cgroup"), line_with(text, "freeze_cgroup"));
  EXPECT_EQ(loaded.line_of("steps"), line_with(text, "steps {"));
}

TEST(ScenarioLoaderTest, UnwrittenFieldsTakeTheLineOfTheirNearestWrittenParent) {
  constexpr std::string_view text = R"txt(
duration_s: 3
steps {
  name: "no hold"
}
)txt";
  const auto loaded = testing::load(text);
  EXPECT_EQ(loaded.line_of("steps[0].hold"), line_with(text, "steps {"));
  EXPECT_EQ(loaded.line_of("steps[0].hold.loop.interval_s"), line_with(text, "steps {"));
  EXPECT_EQ(loaded.line_of("checks.max_gap_ms"), 0);
  EXPECT_EQ(loaded.line_of(""), 0);
}

TEST(ScenarioLoaderTest, LoadsFilesWithThePathAsOrigin) {
  const auto dir = std::filesystem::temp_directory_path() / "kstep-scenario-loader-test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "one.textproto";
  std::ofstream(path) << "duration_s: 2\nsteps { hold { fraction: 1 } }\nsteps { hodl {} }\n";

  const auto loaded = load_scenario_file(path);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, StartsWith(path.string() + ":3:"));

  std::ofstream(path, std::ios::trunc) << "duration_s: 2\nsteps { hold { fraction: 1 } }\n";
  const auto good = load_scenario_file(path);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->origin, path.string());
  EXPECT_EQ(good->line_of("steps[0].hold"), 2);
  std::filesystem::remove_all(dir);
}

TEST(ScenarioLoaderTest, MissingFileIsAnError) {
  const auto loaded = load_scenario_file("/nonexistent/kstep/scenario.textproto");
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message,
              HasSubstr("cannot read scenario /nonexistent/kstep/scenario.textproto"));
}

}  // namespace
}  // namespace kstep::host
