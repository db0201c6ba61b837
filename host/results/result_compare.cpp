#include "host/results/result_compare.hpp"

#include <map>
#include <tuple>

#include <fmt/format.h>

namespace kstep::host {
namespace {

using DetailKey = std::tuple<int, std::uint32_t, std::string>;  // kind, step, cgroup

std::map<DetailKey, std::vector<const wire::Detail*>> details_by_key(const result::RunResult& doc) {
  std::map<DetailKey, std::vector<const wire::Detail*>> grouped;
  for (const auto& detail : doc.details()) {
    grouped[{detail.kind(), detail.step(), detail.cgroup()}].push_back(&detail);
  }
  return grouped;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

std::string short_hash(const std::string& sha256) {
  return sha256.substr(0, 12);
}

std::string describe_run(const result::RunResult& doc) {
  const auto& meta = doc.metadata();
  return fmt::format("scenario {}, kernel {}, scheduler {}, verdict {} ({})",
                     meta.scenario().empty() ? std::string{"(none)"} : meta.scenario(),
                     meta.kernel_release().empty() ? std::string{"(unresolved)"} : meta.kernel_release(),
                     meta.scheduler().empty() ? std::string{"(kernel default)"} : meta.scheduler(),
                     result::Verdict_Name(doc.verdict()), doc.outcome());
}

std::string where(const DetailDifference& difference) {
  std::string text =
      fmt::format("{}, {}", wire::Detail::Kind_Name(difference.kind),
                  difference.step == 0 ? std::string{"setup"} : fmt::format("step {}", difference.step));
  if (!difference.cgroup.empty()) {
    text += fmt::format(", cgroup {}", difference.cgroup);
  }
  if (difference.extra > 1) {
    text += fmt::format(" (x{})", difference.extra);
  }
  return text;
}

std::string rate_cell(const std::optional<result::StepResult>& side) {
  if (!side) {
    return "absent";
  }
  if (!side->started()) {
    return "not run";
  }
  const auto rate = StepComparison::rate(side);
  return rate ? fmt::format("{:.0f}", *rate) : std::string{"-"};
}

std::string hold_cell(const std::optional<result::StepResult>& side) {
  return side && side->started() ? std::to_string(side->hold_ms()) : std::string{"-"};
}

void render_differences(std::string& out, const char* side, const std::vector<DetailDifference>& list) {
  if (list.empty()) {
    out += fmt::format("  only in {}: none\n", side);
    return;
  }
  for (const auto& difference : list) {
    out += fmt::format("  only in {}: {}: {}\n", side, where(difference),
                       first_line(difference.example.message()));
  }
}

}  // namespace

std::optional<double> StepComparison::rate(const std::optional<result::StepResult>& side) {
  if (!side || !side->completed() || side->iterations_per_s() <= 0) {
    return std::nullopt;
  }
  return side->iterations_per_s();
}

std::optional<double> StepComparison::delta_percent() const {
  const auto from = rate(a);
  const auto to = rate(b);
  if (!from || !to) {
    return std::nullopt;
  }
  return (*to - *from) * 100.0 / *from;
}

RunComparison compare_results(const result::RunResult& a, const result::RunResult& b) {
  RunComparison comparison;
  comparison.verdict_a = a.verdict();
  comparison.verdict_b = b.verdict();

  const auto& meta_a = a.metadata();
  const auto& meta_b = b.metadata();
  if (meta_a.scenario() != meta_b.scenario()) {
    comparison.warnings.push_back(
        fmt::format("A ran scenario '{}' and B scenario '{}': steps are matched by number only",
                    meta_a.scenario(), meta_b.scenario()));
  } else if (!meta_a.scenario_sha256().empty() && !meta_b.scenario_sha256().empty() &&
             meta_a.scenario_sha256() != meta_b.scenario_sha256()) {
    comparison.warnings.push_back(
        fmt::format("scenario '{}' differs between the runs (sha256 {} in A, {} in B)", meta_a.scenario(),
                    short_hash(meta_a.scenario_sha256()), short_hash(meta_b.scenario_sha256())));
  }

  std::map<std::uint32_t, StepComparison> steps;
  for (const auto& step : a.steps()) {
    auto& row = steps[step.step()];
    row.step = step.step();
    row.a = step;
  }
  for (const auto& step : b.steps()) {
    auto& row = steps[step.step()];
    row.step = step.step();
    row.b = step;
  }
  for (auto& [number, row] : steps) {
    comparison.steps.push_back(std::move(row));
  }

  auto grouped_a = details_by_key(a);
  auto grouped_b = details_by_key(b);
  std::map<int, KindCount> kinds;
  auto add_side = [&](const auto& grouped, const auto& other, std::vector<DetailDifference>& only,
                      bool is_a) {
    for (const auto& [key, details] : grouped) {
      const auto& [kind, step, cgroup] = key;
      auto& count = kinds[kind];
      count.kind = static_cast<wire::Detail::Kind>(kind);
      (is_a ? count.a : count.b) += static_cast<int>(details.size());
      const auto found = other.find(key);
      const std::size_t matched = found == other.end() ? 0 : found->second.size();
      if (details.size() > matched) {
        only.push_back(DetailDifference{count.kind, step, cgroup, static_cast<int>(details.size() - matched),
                                        *details[matched]});
      }
    }
  };
  add_side(grouped_a, grouped_b, comparison.only_in_a, true);
  add_side(grouped_b, grouped_a, comparison.only_in_b, false);
  for (const auto& [kind, count] : kinds) {
    comparison.kinds.push_back(count);
  }
  return comparison;
}

std::string render_comparison(const result::RunResult& a, const result::RunResult& b,
                              const RunComparison& comparison, const std::string& label_a,
                              const std::string& label_b) {
  std::string out;
  out += fmt::format("A: {}\n   {}\n", label_a, describe_run(a));
  out += fmt::format("B: {}\n   {}\n", label_b, describe_run(b));
  for (const auto& warning : comparison.warnings) {
    out += fmt::format("warning: {}\n", warning);
  }

  out += "\n";
  if (comparison.steps.empty()) {
    out += "steps: neither run has any\n";
  } else {
    out += fmt::format("{:>4}  {:<20} {:>14} {:>14} {:>9} {:>9} {:>9}\n", "step", "name", "A iter/s",
                       "B iter/s", "delta", "A hold ms", "B hold ms");
    for (const auto& row : comparison.steps) {
      const auto& named = row.a ? row.a : row.b;
      const auto delta = row.delta_percent();
      out += fmt::format("{:>4}  {:<20} {:>14} {:>14} {:>9} {:>9} {:>9}\n", row.step,
                         named->name().substr(0, 20), rate_cell(row.a), rate_cell(row.b),
                         delta ? fmt::format("{:+.1f}%", *delta) : std::string{"-"}, hold_cell(row.a),
                         hold_cell(row.b));
    }
    for (const auto& row : comparison.steps) {
      if (row.name_differs()) {
        out +=
            fmt::format("note: step {} is '{}' in A but '{}' in B\n", row.step, row.a->name(), row.b->name());
      }
    }
  }

  out += "\n";
  if (comparison.kinds.empty()) {
    out += "checks: no details in either run\n";
  } else {
    out += "checks:\n";
    render_differences(out, "A", comparison.only_in_a);
    render_differences(out, "B", comparison.only_in_b);
    out += fmt::format("  {:<24} {:>5} {:>5}\n", "kind", "A", "B");
    for (const auto& count : comparison.kinds) {
      out += fmt::format("  {:<24} {:>5} {:>5}\n", wire::Detail::Kind_Name(count.kind), count.a, count.b);
    }
  }

  out += "\n";
  if (comparison.verdict_changed()) {
    out += fmt::format("verdict: {} -> {} (changed)\n", result::Verdict_Name(comparison.verdict_a),
                       result::Verdict_Name(comparison.verdict_b));
  } else {
    out += fmt::format("verdict: {} in both (unchanged)\n", result::Verdict_Name(comparison.verdict_a));
  }
  return out;
}

}  // namespace kstep::host
