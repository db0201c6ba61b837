// Helpers for the scenario loader and validator tests: load a text scenario,
// validate it, and assert that an error names a field, a line and a reason.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/cpuset_spec.hpp"
#include "host/scenario/scenario_loader.hpp"
#include "host/scenario/scenario_validator.hpp"

namespace kstep::host::testing {

inline constexpr std::string_view kOrigin = "test.textproto";

// 8 CPUs: 2 NUMA nodes of 4, each node 2 LLCs of 2 CPUs.
inline wire::Topology two_nodes() {
  wire::Topology topology;
  topology.set_packages(2);
  topology.set_cores(8);
  topology.set_threads(8);
  topology.set_llcs(4);
  topology.set_numa_nodes(2);
  for (unsigned cpu = 0; cpu < 8; ++cpu) {
    auto* placement = topology.add_cpus();
    placement->set_cpu(cpu);
    placement->set_core(cpu);
    placement->set_llc(cpu / 2);
    placement->set_node(cpu / 4);
  }
  return topology;
}

inline LoadedScenario load(std::string_view text) {
  auto loaded = load_scenario_text(text, std::string{kOrigin});
  EXPECT_TRUE(loaded) << loaded.error().message;
  return loaded ? std::move(loaded).value() : LoadedScenario{};
}

inline std::vector<ScenarioError> errors_of(std::string_view text,
                                            const wire::Topology& topology = flat_topology(2)) {
  return validate_scenario(load(text), topology);
}

// The 1-based line of the first line of `text` that contains `needle`: the
// tests locate lines by content rather than by counting.
inline int line_with(std::string_view text, std::string_view needle) {
  const auto at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << "'" << needle << "' is not in the test scenario";
  if (at == std::string_view::npos) {
    return -1;
  }
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

inline std::string listing(const std::vector<ScenarioError>& errors) {
  return errors.empty() ? std::string{"(no errors)"} : describe_errors(errors);
}

// Passes when exactly one error is about `field`, on `line`, and its message
// contains `reason`.
inline ::testing::AssertionResult has_error(const std::vector<ScenarioError>& errors, std::string_view field,
                                            int line, std::string_view reason) {
  const ScenarioError* match = nullptr;
  for (const auto& error : errors) {
    if (error.field == field) {
      if (match != nullptr) {
        return ::testing::AssertionFailure() << "two errors for " << field << ":\n" << listing(errors);
      }
      match = &error;
    }
  }
  if (match == nullptr) {
    return ::testing::AssertionFailure() << "no error for " << field << ":\n" << listing(errors);
  }
  if (match->line != line || match->message.find(reason) == std::string::npos || match->origin != kOrigin) {
    return ::testing::AssertionFailure()
           << "expected line " << line << " and '" << reason << "', got " << match->describe();
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult no_errors(const std::vector<ScenarioError>& errors) {
  if (errors.empty()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << listing(errors);
}

}  // namespace kstep::host::testing
