// Narrowing into wire fields: saturation, and the one note per field.
#include <gtest/gtest.h>

#include "guest/executor/frame_emitter.hpp"
#include "tests/unit/guest/executor/executor_fixture.hpp"

namespace kstep::guest::testing {
namespace {

using namespace std::chrono_literals;

TEST(ExecutorFrameEmitter, SaturatesInsteadOfWrapping) {
  EXPECT_EQ(saturate_u32(0), 0U);
  EXPECT_EQ(saturate_u32(UINT32_MAX), UINT32_MAX);
  EXPECT_EQ(saturate_u32(std::uint64_t{UINT32_MAX} + 1), UINT32_MAX);
  EXPECT_EQ(saturate_u32(UINT64_MAX), UINT32_MAX);
}

TEST(ExecutorFrameEmitter, LogsTheFirstSaturationOfEachField) {
  RecordingSink sink;
  FrameEmitter frames{sink};
  EXPECT_EQ(frames.narrow(7, "A.x"), 7U);
  EXPECT_TRUE(sink.logs().empty());
  EXPECT_EQ(frames.narrow(1ULL << 40, "A.x"), UINT32_MAX);
  EXPECT_EQ(frames.narrow(1ULL << 41, "A.x"), UINT32_MAX);
  EXPECT_EQ(frames.narrow(1ULL << 42, "B.y"), UINT32_MAX);
  const auto logs = sink.logs();
  ASSERT_EQ(logs.size(), 2U);
  EXPECT_EQ(logs[0].level(), wire::Log::WARN);
  EXPECT_NE(logs[0].text().find("A.x = 1099511627776"), std::string::npos) << logs[0].text();
  EXPECT_NE(logs[1].text().find("B.y"), std::string::npos);
}

class StepExecutorSaturation : public ExecutorFixture {};

TEST_F(StepExecutorSaturation, LongScenariosSaturateTheirMillisecondFields) {
  // 115 days; the machine then oversleeps by 60 days in the first slice.
  clock.oversleep_once(24h * 60);
  const auto end = run(R"pb(
    duration_s: 1e7
    steps {
      setup {
        name: "a"
        workers { workers: 1 }
      }
      hold { seconds: 1 }
    }
  )pb");
  const auto start = sink.of(wire::GuestMessage::kScenarioStart).at(0).scenario_start();
  EXPECT_EQ(start.duration_ms(), UINT32_MAX);
  const auto step_end = sink.step_ends().at(0);
  EXPECT_EQ(step_end.elapsed_ms(), UINT32_MAX);
  // Iterations are 64-bit on the wire: they keep their value.
  EXPECT_EQ(step_end.iterations(), 10ULL * (60ULL * 24 * 3600 * 1000 + 100));
  EXPECT_EQ(end.elapsed_ms(), UINT32_MAX);
  EXPECT_EQ(sink.logs_containing("ScenarioStart.duration_ms"), 1);
  EXPECT_EQ(sink.logs_containing("StepEnd.elapsed_ms"), 1);
  EXPECT_EQ(sink.logs_containing("ScenarioPause.elapsed_ms"), 1);
  EXPECT_EQ(sink.logs_containing("ScenarioEnd.elapsed_ms"), 1);
  EXPECT_TRUE(end.passed()) << end.DebugString();
}

}  // namespace
}  // namespace kstep::guest::testing
