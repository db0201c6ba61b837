#include "images/scheduler/sched_options.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace kstep::sched {
namespace {

Result<SchedOptions> parse(std::initializer_list<const char*> args) {
  const std::vector<const char*> list(args);
  return parse_sched_options(list);
}

// The error for `args`, or a marker that makes the caller's expectation fail.
std::string error_of(std::initializer_list<const char*> args) {
  auto options = parse(args);
  return options ? std::string("<parsed>") : options.error().message;
}

TEST(SchedOptions, Defaults) {
  auto options = parse({});
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->mode, SchedMode::kGlobal);
  EXPECT_EQ(options->stall_after_ms, 0U);
  EXPECT_EQ(options->error_after_ms, 0U);
  EXPECT_EQ(options->exit_after_ms, 0U);
  EXPECT_EQ(options->slow_dispatch_us, 0U);
  EXPECT_EQ(options->watchdog_ms, 5000U);
  EXPECT_FALSE(options->fail_verifier);
  EXPECT_FALSE(options->help);
}

TEST(SchedOptions, EveryOptionSeparateValues) {
  auto options =
      parse({"--mode", "local", "--stall-after-ms", "1", "--error-after-ms", "2", "--exit-after-ms", "3",
             "--slow-dispatch-us", "4", "--watchdog-ms", "30000", "--fail-verifier"});
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->mode, SchedMode::kLocal);
  EXPECT_EQ(options->stall_after_ms, 1U);
  EXPECT_EQ(options->error_after_ms, 2U);
  EXPECT_EQ(options->exit_after_ms, 3U);
  EXPECT_EQ(options->slow_dispatch_us, 4U);
  EXPECT_EQ(options->watchdog_ms, 30000U);
  EXPECT_TRUE(options->fail_verifier);
}

TEST(SchedOptions, InlineValuesMatchSeparateOnes) {
  auto inline_form = parse({"--mode=local", "--exit-after-ms=3000", "--watchdog-ms=100"});
  auto separate_form = parse({"--mode", "local", "--exit-after-ms", "3000", "--watchdog-ms", "100"});
  ASSERT_TRUE(inline_form) << inline_form.error().message;
  ASSERT_TRUE(separate_form) << separate_form.error().message;
  EXPECT_EQ(*inline_form, *separate_form);
  EXPECT_EQ(inline_form->exit_after_ms, 3000U);
}

TEST(SchedOptions, LaterOptionWins) {
  auto options = parse({"--mode", "local", "--mode", "global"});
  ASSERT_TRUE(options);
  EXPECT_EQ(options->mode, SchedMode::kGlobal);
}

TEST(SchedOptions, Help) {
  for (const char* flag : {"--help", "-h"}) {
    auto options = parse({flag});
    ASSERT_TRUE(options) << flag;
    EXPECT_TRUE(options->help) << flag;
  }
  EXPECT_NE(sched_usage().find("--stall-after-ms"), std::string::npos);
  // The test hook stays out of the help.
  EXPECT_EQ(sched_usage().find("--fail-verifier"), std::string::npos);
}

TEST(SchedOptions, UnknownOptionIsNamed) {
  EXPECT_EQ(error_of({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(error_of({"stray"}), "unknown option 'stray'");
  EXPECT_EQ(error_of({"--mode", "local", "--stall", "1"}), "unknown option '--stall'");
}

TEST(SchedOptions, MissingValueIsNamed) {
  EXPECT_EQ(error_of({"--stall-after-ms"}), "--stall-after-ms needs a value");
  EXPECT_EQ(error_of({"--mode"}), "--mode needs a value");
}

TEST(SchedOptions, BadModeIsNamed) {
  EXPECT_EQ(error_of({"--mode", "fifo"}), "--mode: 'fifo' is not one of global, local");
  EXPECT_EQ(error_of({"--mode="}), "--mode: '' is not one of global, local");
}

TEST(SchedOptions, NonNumbersAreRejected) {
  for (const char* value : {"", "abc", "-1", "+1", "1x", " 1", "1.5", "0x10"}) {
    EXPECT_EQ(error_of({"--error-after-ms", value}),
              std::string("--error-after-ms: '") + value + "' is not a non-negative integer")
        << value;
  }
}

TEST(SchedOptions, RangesAreEnforced) {
  EXPECT_EQ(error_of({"--watchdog-ms", "0"}), "--watchdog-ms: 0 is out of range [1, 30000]");
  EXPECT_EQ(error_of({"--watchdog-ms", "30001"}), "--watchdog-ms: 30001 is out of range [1, 30000]");
  EXPECT_EQ(error_of({"--slow-dispatch-us", "1000001"}),
            "--slow-dispatch-us: 1000001 is out of range [0, 1000000]");
  // Far beyond u64: out of range, not garbage.
  EXPECT_NE(error_of({"--exit-after-ms", "99999999999999999999999"}).find("out of range"), std::string::npos);
  // Times large enough to overflow u64 nanoseconds on the BPF side.
  EXPECT_NE(error_of({"--stall-after-ms", "18446744073709551615"}).find("out of range"), std::string::npos);
  auto edge = parse({"--watchdog-ms", "1", "--slow-dispatch-us", "1000000"});
  ASSERT_TRUE(edge) << edge.error().message;
  EXPECT_EQ(edge->watchdog_ms, 1U);
  EXPECT_EQ(edge->slow_dispatch_us, 1000000U);
}

TEST(SchedOptions, FlagsTakeNoValue) {
  EXPECT_EQ(error_of({"--fail-verifier=1"}), "--fail-verifier takes no value");
  EXPECT_EQ(error_of({"--help=yes"}), "--help takes no value");
}

TEST(SchedOptions, ModeNames) {
  EXPECT_EQ(mode_name(SchedMode::kGlobal), "global");
  EXPECT_EQ(mode_name(SchedMode::kLocal), "local");
}

}  // namespace
}  // namespace kstep::sched
