#include "guest/executor/hold.hpp"

#include <algorithm>
#include <cmath>

namespace kstep::guest {
namespace {

std::chrono::nanoseconds seconds(double value) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(value));
}

}  // namespace

Result<void> validate_duration(double duration_s) {
  if (!(duration_s > 0.0 && duration_s <= kMaxDurationS)) {
    return fail("duration_s {} is not within (0, {}]", duration_s, kMaxDurationS);
  }
  return {};
}

Result<void> validate_hold(const scenario::Hold& hold) {
  switch (hold.kind_case()) {
    case scenario::Hold::kFraction:
      if (!(hold.fraction() > 0.0 && hold.fraction() <= 1.0)) {
        return fail("hold fraction {} is not within (0, 1]", hold.fraction());
      }
      return {};
    case scenario::Hold::kSeconds:
      if (!(hold.seconds() > 0.0 && std::isfinite(hold.seconds()))) {
        return fail("hold seconds {} is not a positive number", hold.seconds());
      }
      return {};
    case scenario::Hold::kLoop:
      if (!(hold.loop().interval_s() > 0.0 && hold.loop().interval_s() <= kMaxDurationS)) {
        return fail("loop interval_s {} is not within (0, {}]", hold.loop().interval_s(), kMaxDurationS);
      }
      return {};
    case scenario::Hold::KIND_NOT_SET: return {};
  }
  return fail("hold of unknown kind {}", static_cast<int>(hold.kind_case()));
}

std::chrono::nanoseconds clamped_hold(const scenario::Hold& hold, double duration_s,
                                      std::chrono::nanoseconds left) {
  left = std::max(left, std::chrono::nanoseconds::zero());
  // Clamp in seconds before converting: a huge fixed hold must not overflow.
  const double left_s = std::chrono::duration<double>(left).count();
  switch (hold.kind_case()) {
    case scenario::Hold::kFraction:
      return hold.fraction() * duration_s >= left_s ? left : seconds(hold.fraction() * duration_s);
    case scenario::Hold::kSeconds: return hold.seconds() >= left_s ? left : seconds(hold.seconds());
    case scenario::Hold::kLoop:
    case scenario::Hold::KIND_NOT_SET: break;
  }
  return std::chrono::nanoseconds::zero();
}

std::chrono::nanoseconds loop_interval(const scenario::Loop& loop) {
  return std::max<std::chrono::nanoseconds>(seconds(loop.interval_s()), kMinLoopInterval);
}

void sleep_in_slices(ExecutorClock& clock, ExecutorClock::TimePoint deadline, std::chrono::nanoseconds slice,
                     const std::function<void()>& between) {
  for (auto now = clock.now(); now < deadline; now = clock.now()) {
    const auto until = deadline - now > slice ? now + slice : deadline;
    clock.sleep_until(until);
    if (between && until < deadline) {
      between();
    }
  }
}

std::uint64_t whole_ms(std::chrono::nanoseconds duration) noexcept {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

}  // namespace kstep::guest
