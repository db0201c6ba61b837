#include "common/cgroup_values.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace kstep {
namespace {

constexpr std::string_view kMax = "max";

// The kernel's CFS bandwidth limits (kernel/sched/core.c): min_cfs_quota_period
// and max_cfs_quota_period bound the period, the quota has the same 1 ms
// floor, and max_cfs_runtime (MAX_BW, 2^44 - 1 us) caps the quota.
constexpr std::uint64_t kMinPeriodUs = 1000;
constexpr std::uint64_t kMaxPeriodUs = 1000000;
constexpr std::uint64_t kMinQuotaUs = 1000;
constexpr std::uint64_t kMaxQuotaUs = (std::uint64_t{1} << 44U) - 1;
// The period quota_pct is expressed against: 100 ms, the kernel's default.
constexpr std::uint64_t kPctPeriodUs = 100000;
constexpr double kMinQuotaPct = static_cast<double>(kMinQuotaUs) * 100.0 / kPctPeriodUs;
constexpr double kMaxQuotaPct = static_cast<double>(kMaxQuotaUs / (kPctPeriodUs / 100));

// pids.max accepts 0..PID_MAX_LIMIT (kernel/cgroup/pids.c, 64-bit kernels).
constexpr std::uint64_t kMaxPids = std::uint64_t{4} * 1024 * 1024;

constexpr std::uint32_t kMinWeight = 1;
constexpr std::uint32_t kMaxWeight = 10000;

enum class SizeError { kSyntax, kOverflow };

// Decimal digits only. Checked before from_chars so that its failure can
// only mean overflow, which gets its own message.
Result<std::uint64_t, SizeError> parse_decimal(std::string_view digits) {
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return Unexpected{SizeError::kSyntax};
  }
  std::uint64_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc{} || ptr != end) {
    return Unexpected{SizeError::kOverflow};
  }
  return value;
}

unsigned suffix_shift(char suffix) {
  switch (suffix) {
    case 'K':
    case 'k': return 10;
    case 'M':
    case 'm': return 20;
    case 'G':
    case 'g': return 30;
    case 'T':
    case 't': return 40;
    default: return 0;
  }
}

Result<std::uint64_t, SizeError> parse_size(std::string_view text) {
  unsigned shift = 0;
  std::string_view digits = text;
  if (!text.empty()) {
    shift = suffix_shift(text.back());
    if (shift != 0) {
      digits.remove_suffix(1);
    }
  }
  const auto value = parse_decimal(digits);
  if (!value) {
    return value;
  }
  if (*value > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return Unexpected{SizeError::kOverflow};
  }
  return *value << shift;
}

Unexpected<Error> size_error(std::string_view text, SizeError error, bool max_allowed) {
  if (error == SizeError::kOverflow) {
    return fail("bad memory size '{}': more than {} bytes", text, std::numeric_limits<std::uint64_t>::max());
  }
  return fail("bad memory size '{}': expected bytes with an optional K, M, G or T suffix{}", text,
              max_allowed ? R"(, or "max")" : "");
}

}  // namespace

Result<std::uint64_t> parse_memory_size(std::string_view text) {
  auto size = parse_size(text);
  if (!size) {
    return size_error(text, size.error(), false);
  }
  return *size;
}

Result<std::string> memory_knob_value(std::string_view text) {
  if (text == kMax) {
    return std::string{kMax};
  }
  auto size = parse_size(text);
  if (!size) {
    return size_error(text, size.error(), true);
  }
  return std::to_string(*size);
}

Result<std::string> pids_knob_value(std::string_view text) {
  if (text == kMax) {
    return std::string{kMax};
  }
  const auto count = parse_decimal(text);
  if (!count || *count == 0 || *count > kMaxPids) {
    return fail(R"(bad pids limit '{}': expected a count from 1 to {}, or "max")", text, kMaxPids);
  }
  return std::to_string(*count);
}

Result<std::string> cpu_max_knob_value(const scenario::CpuMax& cpu_max) {
  switch (cpu_max.kind_case()) {
    case scenario::CpuMax::kQuotaPct: {
      const double pct = cpu_max.quota_pct();
      // The negated comparison also catches NaN.
      if (!(pct >= kMinQuotaPct && pct <= kMaxQuotaPct)) {
        return fail(
            "cpu_max quota_pct {}: expected a percentage of one CPU from {} to {} (the kernel's "
            "minimum quota is {} us per {} us period)",
            pct, kMinQuotaPct, kMaxQuotaPct, kMinQuotaUs, kPctPeriodUs);
      }
      const auto quota_us = static_cast<std::uint64_t>(std::llround(pct * 1000.0));
      return fmt::format("{} {}", quota_us, kPctPeriodUs);
    }
    case scenario::CpuMax::kQuota: {
      const auto& quota = cpu_max.quota();
      if (quota.period_us() < kMinPeriodUs || quota.period_us() > kMaxPeriodUs) {
        return fail("cpu_max period_us {}: expected {} to {}", quota.period_us(), kMinPeriodUs, kMaxPeriodUs);
      }
      if (quota.quota_us() < kMinQuotaUs || quota.quota_us() > kMaxQuotaUs) {
        return fail("cpu_max quota_us {}: expected {} to {}", quota.quota_us(), kMinQuotaUs, kMaxQuotaUs);
      }
      return fmt::format("{} {}", quota.quota_us(), quota.period_us());
    }
    case scenario::CpuMax::KIND_NOT_SET: break;
  }
  return fail("cpu_max sets neither quota_pct nor quota");
}

Result<void> check_weight(std::uint32_t weight, std::string_view knob) {
  if (weight < kMinWeight || weight > kMaxWeight) {
    return fail("{} {}: expected {} to {}", knob, weight, kMinWeight, kMaxWeight);
  }
  return {};
}

}  // namespace kstep
