#include "common/cpu_list.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

namespace kstep {
namespace {

// A bound on one range, so a corrupt "0-4294967295" cannot make us allocate
// billions of entries. Linux's NR_CPUS tops out at 8192.
constexpr unsigned kMaxCpu = 65535;

std::string_view trim_spaces(std::string_view text) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

Result<unsigned> parse_cpu(std::string_view text, std::string_view whole) {
  text = trim_spaces(text);
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > kMaxCpu) {
    return fail("bad CPU list '{}': '{}' is not a CPU number", whole, text);
  }
  return value;
}

}  // namespace

Result<std::vector<unsigned>> parse_cpu_list(std::string_view text) {
  const std::string_view whole = trim_spaces(text);
  std::vector<unsigned> cpus;
  std::string_view rest = whole;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);

    const auto dash = item.find('-');
    auto first = parse_cpu(item.substr(0, dash), whole);
    if (!first) {
      return Unexpected{std::move(first).error()};
    }
    unsigned last = *first;
    if (dash != std::string_view::npos) {
      auto end = parse_cpu(item.substr(dash + 1), whole);
      if (!end) {
        return Unexpected{std::move(end).error()};
      }
      if (*end < *first) {
        return fail("bad CPU list '{}': range '{}' runs backwards", whole, item);
      }
      last = *end;
    }
    for (unsigned cpu = *first; cpu <= last; ++cpu) {
      cpus.push_back(cpu);
    }
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(const std::vector<unsigned>& cpus) {
  std::string text;
  std::size_t i = 0;
  while (i < cpus.size()) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] <= cpus[j] + 1) {
      ++j;
    }
    if (!text.empty()) {
      text += ',';
    }
    text += cpus[i] == cpus[j] ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return text;
}

}  // namespace kstep
