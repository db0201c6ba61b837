#include "guest/workers/wake_histogram.hpp"

#include <algorithm>
#include <bit>

namespace kstep::guest::workers {

unsigned wake_bucket(std::uint64_t latency_ns) noexcept {
  return std::min<unsigned>(static_cast<unsigned>(std::bit_width(latency_ns)), kWakeBuckets - 1);
}

void record_wake(WorkerSlot& slot, std::uint64_t latency_ns) noexcept {
  // Single writer: load + store instead of a locked read-modify-write.
  auto& bucket = slot.wake_buckets[wake_bucket(latency_ns)];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (latency_ns > slot.wake_max_ns.load(std::memory_order_relaxed)) {
    slot.wake_max_ns.store(latency_ns, std::memory_order_relaxed);
  }
  slot.wake_count.store(slot.wake_count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

namespace {

std::uint64_t bucket_upper_ns(unsigned bucket) noexcept {
  if (bucket == 0) {
    return 0;
  }
  if (bucket >= 64) {
    return UINT64_MAX;
  }
  return (std::uint64_t{1} << bucket) - 1;
}

// The sample of rank ceil(fraction * total), 1-based.
std::uint64_t percentile_ns(const WakeCounts& counts, std::uint64_t total, double fraction,
                            std::uint64_t max_ns) noexcept {
  auto rank = static_cast<std::uint64_t>(fraction * static_cast<double>(total));
  if (static_cast<double>(rank) < fraction * static_cast<double>(total)) {
    ++rank;
  }
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (unsigned bucket = 0; bucket < counts.size(); ++bucket) {
    seen += counts[bucket];
    if (seen >= rank) {
      return std::min(bucket_upper_ns(bucket), max_ns);
    }
  }
  return max_ns;
}

}  // namespace

WakeSummary summarize_wakes(const WakeCounts& counts, std::uint64_t max_ns) noexcept {
  std::uint64_t total = 0;
  for (const std::uint64_t count : counts) {
    total += count;
  }
  if (total == 0) {
    return {};
  }
  return WakeSummary{percentile_ns(counts, total, 0.50, max_ns), percentile_ns(counts, total, 0.99, max_ns),
                     max_ns};
}

WakeCounts snapshot_wakes(const WorkerSlot& slot) noexcept {
  WakeCounts counts{};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = slot.wake_buckets[i].load(std::memory_order_relaxed);
  }
  return counts;
}

}  // namespace kstep::guest::workers
