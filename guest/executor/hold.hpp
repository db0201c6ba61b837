// Holds: how long a step lets its workload run, and the waiting itself.
//
// A fraction or fixed hold is clamped to what is left of the scenario; a
// loop hold re-applies the step's ops every interval until the scenario's
// deadline. An unset hold is a zero hold: the step's stimulus is applied and
// collected at once.
//
// Waiting happens in slices of at most kHoldSlice so that checks that must
// run during a hold (scheduler liveness) have a place between slices.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/result.hpp"
#include "guest/executor/executor_ports.hpp"
#include "scenario.pb.h"

namespace kstep::guest {

inline constexpr std::chrono::milliseconds kHoldSlice{100};
// A loop interval below this would busy-loop the executor: it is raised.
inline constexpr std::chrono::milliseconds kMinLoopInterval{1};
// Longest scenario the executor accepts: time points stay far from overflow.
inline constexpr double kMaxDurationS = 1e8;

[[nodiscard]] Result<void> validate_duration(double duration_s);
[[nodiscard]] Result<void> validate_hold(const scenario::Hold& hold);

// The hold a fraction or fixed-seconds hold asks for, clamped to `left`
// (never negative). Zero for an unset or loop hold.
[[nodiscard]] std::chrono::nanoseconds clamped_hold(const scenario::Hold& hold, double duration_s,
                                                    std::chrono::nanoseconds left);

[[nodiscard]] std::chrono::nanoseconds loop_interval(const scenario::Loop& loop);

// Sleeps on `clock` until `deadline` in slices of at most `slice`, calling
// `between` after every slice but the last.
void sleep_in_slices(ExecutorClock& clock, ExecutorClock::TimePoint deadline, std::chrono::nanoseconds slice,
                     const std::function<void()>& between = {});

// Whole milliseconds in `duration`, 0 when negative.
[[nodiscard]] std::uint64_t whole_ms(std::chrono::nanoseconds duration) noexcept;

}  // namespace kstep::guest
