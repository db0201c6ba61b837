#include "host/cli/compare_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "host/results/result_compare.hpp"
#include "host/results/result_document.hpp"

namespace kstep::host {

Outcome compare_command(const CompareOptions& options) {
  auto a = read_result(options.a);
  if (!a) {
    spdlog::error("{}", a.error().message);
    return Outcome::kUsageError;
  }
  auto b = read_result(options.b);
  if (!b) {
    spdlog::error("{}", b.error().message);
    return Outcome::kUsageError;
  }
  const auto comparison = compare_results(*a, *b);
  fmt::print("{}", render_comparison(*a, *b, comparison, options.a.string(), options.b.string()));
  return Outcome::kPass;
}

}  // namespace kstep::host
