// Built-in scenarios, so `kstep run` does something useful without a file
// and each kernel feature the executor drives has a ready-made exercise.
//
// They are the same text format users write (so they double as examples),
// sized for the default VM: valid on 2 CPUs and on larger machines, 2-4
// seconds long, at most 4 workers per cgroup, and with check thresholds
// lenient enough for TCG emulation on a loaded host: a false failure costs
// more than a weak check.
#pragma once

#include <span>
#include <string_view>

namespace kstep::host {

struct CannedScenario {
  std::string_view name;
  std::string_view summary;  // one line, for `kstep scenarios`
  std::string_view text;     // protobuf text format
  unsigned min_cpus = 1;     // fewer CPUs cannot satisfy its cpusets
};

// What runs when no scenario is named.
inline constexpr std::string_view kDefaultCannedScenario = "steady";

[[nodiscard]] std::span<const CannedScenario> canned_scenarios();

// nullptr when there is no built-in scenario of that name.
[[nodiscard]] const CannedScenario* find_canned(std::string_view name);

}  // namespace kstep::host
