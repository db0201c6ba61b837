// Wake-latency statistics of a FUTEX_PINGPONG worker.
//
// A worker records every wake into a fixed log2 histogram in its shared slot
// (no allocation, one relaxed store per sample); the agent turns it into
// p50/p99/max when it builds the report. Bucket b > 0 holds latencies in
// [2^(b-1), 2^b) ns and bucket 0 holds exactly 0 ns, so a percentile is
// known to within a factor of two; the reported value is the bucket's upper
// bound, capped at the observed maximum (never an underestimate).
#pragma once

#include <array>
#include <cstdint>

#include "guest/workers/shared_region.hpp"

namespace kstep::guest::workers {

using WakeCounts = std::array<std::uint64_t, kWakeBuckets>;

[[nodiscard]] unsigned wake_bucket(std::uint64_t latency_ns) noexcept;

// Adds one sample to `slot` (the calling worker's own slot: single writer).
void record_wake(WorkerSlot& slot, std::uint64_t latency_ns) noexcept;

struct WakeSummary {
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t max_ns = 0;
};

// All zero when there are no samples.
[[nodiscard]] WakeSummary summarize_wakes(const WakeCounts& counts, std::uint64_t max_ns) noexcept;

// A copy of the slot's histogram, read at this instant.
[[nodiscard]] WakeCounts snapshot_wakes(const WorkerSlot& slot) noexcept;

}  // namespace kstep::guest::workers
