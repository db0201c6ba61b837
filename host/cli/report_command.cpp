#include "host/cli/report_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "host/results/result_document.hpp"
#include "host/session/scenario_summary.hpp"

namespace kstep::host {

Outcome report_command(const ReportOptions& options) {
  auto doc = read_result(options.run);
  if (!doc) {
    spdlog::error("{}", doc.error().message);
    return Outcome::kUsageError;
  }
  const auto& meta = doc->metadata();
  fmt::print("kstep {} run of {} on {} ({}, {}){}\n", meta.kstep_version(),
             meta.scenario().empty() ? std::string{"a handshake"} : "scenario " + meta.scenario(),
             meta.kernel_release().empty() ? std::string{"an unresolved kernel"} : meta.kernel_release(),
             meta.accelerator().empty() ? std::string{"not booted"} : meta.accelerator(), meta.topology(),
             meta.scheduler().empty() ? std::string{} : fmt::format(" under {}", meta.scheduler()));
  if (!doc->steps().empty()) {
    fmt::print("{}", render_step_table({doc->steps().begin(), doc->steps().end()}));
  }
  for (const auto& detail : doc->details()) {
    fmt::print("detail: {}: step {}: {}\n", wire::Detail::Kind_Name(detail.kind()), detail.step(),
               detail.message());
  }
  fmt::print("outcome: {} ({})\n", doc->outcome(), doc->reason());
  if (!doc->run_dir().empty()) {
    fmt::print("logs: {}\n", doc->run_dir());
  }
  const auto outcome = outcome_from_string(doc->outcome());
  if (!outcome) {
    spdlog::error("{}: unknown outcome '{}'", options.run.string(), doc->outcome());
    return Outcome::kUsageError;
  }
  return *outcome;
}

}  // namespace kstep::host
