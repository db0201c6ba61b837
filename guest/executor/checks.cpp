#include "guest/executor/checks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/cpu_list.hpp"
#include "guest/executor/detail.hpp"

namespace kstep::guest {
namespace {

struct Evaluation {
  std::uint32_t step;
  std::uint32_t elapsed_ms;
  std::vector<wire::Detail> details;

  void add(wire::Detail::Kind kind, const wire::CgroupReport& cgroup, std::string message) {
    details.push_back(make_detail(kind, step, cgroup.cgroup(), std::move(message), elapsed_ms));
  }
};

void check_spread(const scenario::Checks& checks, const wire::CgroupReport& cgroup, Evaluation& evaluation) {
  if (checks.max_spread() <= 0.0 || cgroup.workers_size() < 2) {
    return;
  }
  const auto [min_it, max_it] =
      std::minmax_element(cgroup.workers().begin(), cgroup.workers().end(),
                          [](const wire::WorkerReport& a, const wire::WorkerReport& b) {
                            return a.iterations() < b.iterations();
                          });
  const auto max = max_it->iterations();
  if (max == 0) {
    return;  // nobody ran: starvation's business, not fairness'
  }
  const double spread = static_cast<double>(max - min_it->iterations()) / static_cast<double>(max);
  if (spread > checks.max_spread()) {
    evaluation.add(
        wire::Detail::UNFAIR, cgroup,
        fmt::format("iterations spread {:.3f} exceeds {:.3f}: min {} (pid {}), max {} (pid {})", spread,
                    checks.max_spread(), min_it->iterations(), min_it->pid(), max, max_it->pid()));
  }
}

void check_worker(const scenario::Checks& checks, const wire::CgroupReport& cgroup,
                  const wire::WorkerReport& worker, const AllowedCpus& allowed, Evaluation& evaluation) {
  if (checks.starvation() && worker.iterations() == 0) {
    evaluation.add(wire::Detail::STARVATION, cgroup,
                   fmt::format("worker {} made no progress ({} us of CPU time{})", worker.pid(),
                               worker.cpu_time_us(), worker.killed() ? ", killed at stop" : ""));
  }
  if (checks.max_gap_ms() > 0.0 && static_cast<double>(worker.max_gap_us()) > checks.max_gap_ms() * 1000.0) {
    evaluation.add(
        wire::Detail::GAP, cgroup,
        fmt::format("worker {}: longest gap between checkpoints {:.1f} ms exceeds {} ms", worker.pid(),
                    static_cast<double>(worker.max_gap_us()) / 1000.0, checks.max_gap_ms()));
  }
  if (!checks.isolation()) {
    return;
  }
  const auto found = allowed.find(worker.pid());
  if (found == allowed.end()) {
    return;
  }
  std::vector<unsigned> outside;
  for (const unsigned cpu : worker.cpus_used()) {
    if (!std::binary_search(found->second.begin(), found->second.end(), cpu)) {
      outside.push_back(cpu);
    }
  }
  if (!outside.empty()) {
    std::sort(outside.begin(), outside.end());
    evaluation.add(wire::Detail::ISOLATION, cgroup,
                   fmt::format("worker {} ran on CPU {} outside its cpuset {}", worker.pid(),
                               format_cpu_list(outside), format_cpu_list(found->second)));
  }
}

}  // namespace

std::vector<wire::Detail> evaluate_checks(const scenario::Checks& checks, const wire::StepReport& report,
                                          const AllowedCpus& allowed, std::uint32_t step,
                                          std::uint32_t elapsed_ms) {
  Evaluation evaluation{step, elapsed_ms, {}};
  for (const auto& cgroup : report.cgroups()) {
    for (const auto& worker : cgroup.workers()) {
      check_worker(checks, cgroup, worker, allowed, evaluation);
    }
    check_spread(checks, cgroup, evaluation);
  }
  return std::move(evaluation.details);
}

}  // namespace kstep::guest
