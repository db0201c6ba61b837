#include "host/session/scenario_summary.hpp"

#include <fstream>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

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

Result<void> write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary};
  out << text;
  if (!out.flush()) {
    return fail("cannot write {}", path.string());
  }
  return {};
}

}  // namespace

std::string render_step_table(const scenario::Scenario& scenario, const ScenarioRecord& record) {
  std::string table = fmt::format("{:>4}  {:<20} {:>8} {:>14} {:>14} {:>7} {:>7}\n", "step", "name",
                                  "hold ms", "iterations", "iter/s", "workers", "details");
  for (int i = 0; i < scenario.steps_size(); ++i) {
    const auto number = static_cast<std::uint32_t>(i + 1);
    const std::string name = scenario.steps(i).name().substr(0, 20);
    const StepRecord* step = nullptr;
    for (const auto& candidate : record.steps()) {
      if (candidate.step == number) {
        step = &candidate;
      }
    }
    if (step == nullptr) {
      table += fmt::format("{:>4}  {:<20} {:>8}\n", number, name, "not run");
      continue;
    }
    const auto throughput = step_throughput(*step);
    const std::uint64_t iterations =
        step->end && step->start
            ? step->end->iterations() - std::min(step->end->iterations(), step->start->total_iterations())
            : 0;
    const int details = step->report ? step->report->details_size() : 0;
    table += fmt::format("{:>4}  {:<20} {:>8} {:>14} {:>14} {:>7} {:>7}\n", number, name, hold_ms(*step),
                         step->end ? std::to_string(iterations) : "-",
                         throughput ? fmt::format("{:.0f}", *throughput) : "-",
                         step->start ? step->start->worker_count() : 0, details);
  }
  return table;
}

Result<void> write_scenario_files(const std::filesystem::path& run_dir, const scenario::Scenario& scenario,
                                  const ScenarioRecord& record) {
  KSTEP_TRY(write_file(run_dir / "scenario.textproto", to_text(scenario)));
  KSTEP_TRY(write_file(run_dir / "steps.txt", render_step_table(scenario, record)));
  std::string reports;
  for (const auto& step : record.steps()) {
    if (step.report) {
      reports += fmt::format("# step {}\nstep_report {{\n{}}}\n", step.step, to_text(*step.report));
    }
  }
  if (record.end()) {
    reports += fmt::format("# end\nscenario_end {{\n{}}}\n", to_text(*record.end()));
  }
  return write_file(run_dir / "reports.txt", reports);
}

}  // namespace kstep::host
