#include "host/session/scenario_summary.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

#include "host/session/run_directory.hpp"

namespace kstep::host {
namespace {

std::string to_text(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(message, &text);
  return text;
}

std::uint32_t hold_ms(const StepRecord& step) {
  std::uint32_t total = 0;
  for (std::size_t i = 0; i < step.pauses.size() && i < step.resumes.size(); ++i) {
    total += step.pauses[i].elapsed_ms() - step.resumes[i].elapsed_ms();
  }
  return total;
}

}  // namespace

std::vector<result::StepResult> step_results(const scenario::Scenario& scenario,
                                             const ScenarioRecord& record) {
  std::vector<result::StepResult> results;
  for (int i = 0; i < scenario.steps_size(); ++i) {
    result::StepResult row;
    row.set_step(static_cast<std::uint32_t>(i + 1));
    row.set_name(scenario.steps(i).name());
    for (const auto& step : record.steps()) {
      if (step.step != row.step()) {
        continue;
      }
      row.set_started(step.start.has_value());
      row.set_completed(step.end.has_value());
      if (step.start) {
        row.set_start_ms(step.start->elapsed_ms());
        row.set_workers(step.start->worker_count());
      }
      row.set_hold_ms(hold_ms(step));
      if (step.end && step.start) {
        row.set_iterations(step.end->iterations() -
                           std::min(step.end->iterations(), step.start->total_iterations()));
      }
      row.set_iterations_per_s(step_throughput(step).value_or(0.0));
      if (step.report) {
        *row.mutable_report() = *step.report;
      }
    }
    results.push_back(std::move(row));
  }
  return results;
}

std::string render_step_table(const std::vector<result::StepResult>& steps) {
  std::string table = fmt::format("{:>4}  {:<20} {:>8} {:>14} {:>14} {:>7} {:>7}\n", "step", "name",
                                  "hold ms", "iterations", "iter/s", "workers", "details");
  for (const auto& step : steps) {
    const std::string name = step.name().substr(0, 20);
    if (!step.started()) {
      table += fmt::format("{:>4}  {:<20} {:>8}\n", step.step(), name, "not run");
      continue;
    }
    table += fmt::format("{:>4}  {:<20} {:>8} {:>14} {:>14} {:>7} {:>7}\n", step.step(), name, step.hold_ms(),
                         step.completed() ? std::to_string(step.iterations()) : "-",
                         step.iterations_per_s() > 0 ? fmt::format("{:.0f}", step.iterations_per_s()) : "-",
                         step.workers(), step.report().details_size());
  }
  return table;
}

std::string render_step_table(const scenario::Scenario& scenario, const ScenarioRecord& record) {
  return render_step_table(step_results(scenario, record));
}

Result<void> write_scenario_files(const std::filesystem::path& run_dir, const scenario::Scenario& scenario,
                                  const ScenarioRecord& record) {
  KSTEP_TRY(write_file_atomically(run_dir / "scenario.textproto", to_text(scenario)));
  KSTEP_TRY(write_file_atomically(run_dir / "steps.txt", render_step_table(scenario, record)));
  std::string reports;
  for (const auto& step : record.steps()) {
    if (step.report) {
      reports += fmt::format("# step {}\nstep_report {{\n{}}}\n", step.step, to_text(*step.report));
    }
  }
  if (record.end()) {
    reports += fmt::format("# end\nscenario_end {{\n{}}}\n", to_text(*record.end()));
  }
  return write_file_atomically(run_dir / "reports.txt", reports);
}

}  // namespace kstep::host
