// Shared plumbing of the scenario validator's parts (internal to
// host/scenario): where errors go and what every check may consult.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/result.hpp"
#include "host/scenario/scenario_validator.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep::host {

// Collects errors, attaching each field path's source line.
class Diagnostics {
 public:
  explicit Diagnostics(const LoadedScenario& loaded) : loaded_(&loaded) {}

  template <class... Args>
  void add(std::string field, fmt::format_string<Args...> format, Args&&... args) {
    add_message(std::move(field), fmt::format(format, std::forward<Args>(args)...));
  }
  void add(std::string field, const Error& error) { add_message(std::move(field), error.message); }

  // An empty collector for the same scenario.
  [[nodiscard]] Diagnostics fresh() const { return Diagnostics(*loaded_); }

  // Adds those of `other`'s errors not already here (same field and
  // message), with `note` appended to their message.
  void merge_new(const Diagnostics& other, std::string_view note);

  [[nodiscard]] std::vector<ScenarioError> take() && { return std::move(errors_); }

 private:
  void add_message(std::string field, std::string message);

  const LoadedScenario* loaded_;
  std::vector<ScenarioError> errors_;
};

// What the checks read. Cheap to copy: a loop's second round runs with its
// own Diagnostics.
struct ValidationContext {
  const scenario::Scenario* scenario = nullptr;
  const wire::Topology* topology = nullptr;
  Diagnostics* diag = nullptr;
  std::vector<unsigned> online_cpus;  // sorted
  std::vector<unsigned> numa_nodes;   // nodes that have CPUs, sorted

  // The first PayloadDecl named `name`, or nullptr.
  [[nodiscard]] const scenario::PayloadDecl* find_payload(std::string_view name) const;
};

// "a, b, c", or `none` for an empty list.
[[nodiscard]] std::string join_or(const std::vector<std::string>& items, std::string_view none);

}  // namespace kstep::host
