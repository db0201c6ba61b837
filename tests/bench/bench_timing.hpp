// Wall-clock helpers shared by the benchmarks: elapsed milliseconds on the
// monotonic clock and the median of repeated runs (robust against the odd
// slow run a busy 2-core machine produces).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace kstep::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace kstep::bench
