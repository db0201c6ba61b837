#include "guest/cpu_list.hpp"

#include <algorithm>

#include "guest/text_file.hpp"

namespace kstep::guest {
namespace {

// A bound on one range, so a corrupt "0-4294967295" cannot make us allocate
// billions of entries. Linux's NR_CPUS tops out at 8192.
constexpr std::uint64_t kMaxCpu = 65535;

Result<unsigned> parse_cpu(std::string_view text, std::string_view whole) {
  auto value = parse_unsigned(trim(text));
  if (!value || *value > kMaxCpu) {
    return fail("bad CPU list '{}': '{}' is not a CPU number", whole, text);
  }
  return static_cast<unsigned>(*value);
}

}  // namespace

Result<std::vector<unsigned>> parse_cpu_list(std::string_view text) {
  const std::string_view whole = trim(text);
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

}  // namespace kstep::guest
