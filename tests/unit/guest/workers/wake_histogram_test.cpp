#include "guest/workers/wake_histogram.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace kstep::guest::workers {
namespace {

TEST(WorkerWakeHistogramTest, BucketsArePowersOfTwo) {
  EXPECT_EQ(wake_bucket(0), 0U);
  EXPECT_EQ(wake_bucket(1), 1U);
  EXPECT_EQ(wake_bucket(2), 2U);
  EXPECT_EQ(wake_bucket(3), 2U);
  EXPECT_EQ(wake_bucket(4), 3U);
  EXPECT_EQ(wake_bucket(1023), 10U);
  EXPECT_EQ(wake_bucket(1024), 11U);
  EXPECT_EQ(wake_bucket(UINT64_MAX), kWakeBuckets - 1);
}

TEST(WorkerWakeHistogramTest, NoSamplesSummarizeToZero) {
  const WakeSummary summary = summarize_wakes(WakeCounts{}, 0);
  EXPECT_EQ(summary.p50_ns, 0U);
  EXPECT_EQ(summary.p99_ns, 0U);
  EXPECT_EQ(summary.max_ns, 0U);
}

TEST(WorkerWakeHistogramTest, PercentilesAreBucketUpperBoundsCappedAtMax) {
  auto slot = std::make_unique<WorkerSlot>();
  // 98 samples of ~1.5 us, 2 of ~100 us.
  for (int i = 0; i < 98; ++i) {
    record_wake(*slot, 1'500);
  }
  record_wake(*slot, 100'000);
  record_wake(*slot, 90'000);
  EXPECT_EQ(slot->wake_count.load(), 100U);
  const WakeSummary summary = summarize_wakes(snapshot_wakes(*slot), slot->wake_max_ns.load());
  EXPECT_EQ(summary.p50_ns, 2'047U);    // [1024, 2048)
  EXPECT_EQ(summary.p99_ns, 100'000U);  // [65536, 131072), capped at max
  EXPECT_EQ(summary.max_ns, 100'000U);
}

TEST(WorkerWakeHistogramTest, SingleSampleIsEveryPercentile) {
  WakeCounts counts{};
  counts[wake_bucket(700)] = 1;
  const WakeSummary summary = summarize_wakes(counts, 700);
  EXPECT_EQ(summary.p50_ns, 700U);
  EXPECT_EQ(summary.p99_ns, 700U);
}

}  // namespace
}  // namespace kstep::guest::workers
