// results-bench: the host's end-of-run work for a long scenario.
//
// Feeds the frames of a 1000-step scenario, as the executor sends them
// (StepStart, ScenarioResume, ScenarioPause, StepEnd, StepReport per step with
// two cgroups of two workers each; scheduler events; a ScenarioEnd with
// details and the backdrop), through the ScenarioDriver (and so the
// ScenarioRecord's order checks), then assembles the result document and
// renders it as JSON and as JUnit. Prints `key value` lines:
//   results.steps                   the scenario's steps
//   results.frames                  frames fed per run
//   results.feed_median_ms          driver + record, median
//   results.assemble_median_ms      assemble_result, median
//   results.json_median_ms          to_json, median
//   results.junit_median_ms         render_junit, median
//   results.total_best_ms           all four, best of kRuns
//   results.total_median_ms         all four, median of kRuns
//   results.total_vs_50ms_goal_ratio  median / 50 ms
// Not a test: timing goals live here, not in unit tests.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "host/results/junit_report.hpp"
#include "host/results/result_document.hpp"
#include "host/session/scenario_driver.hpp"
#include "tests/bench/bench_timing.hpp"

namespace {

using kstep::bench::Clock;
using kstep::bench::median;
using kstep::bench::ms_since;
using kstep::wire::GuestMessage;

constexpr int kSteps = 1000;
constexpr int kRuns = 15;
constexpr double kGoalMs = 50.0;

// The session's side of the driver: nothing to do here.
class NullControl final : public kstep::host::SessionControl {
 public:
  void send(const kstep::wire::HostMessage& /*message*/) override {}
  void request_shutdown(const std::string& /*reason*/) override {}
  void protocol_error(const std::string& what) override {
    std::fprintf(stderr, "results-bench: protocol error: %s\n", what.c_str());
    std::exit(1);
  }
  void scenario_failed(const std::string& /*reason*/) override {}
  void scheduler_failed(const std::string& /*reason*/) override {}
  void kernel_unsupported(const std::string& /*reason*/) override {}
};

void add_cgroup(kstep::wire::StepReport& report, const std::string& name, std::uint64_t iterations) {
  auto& cgroup = *report.add_cgroups();
  cgroup.set_cgroup(name);
  cgroup.add_cpuset(0);
  cgroup.add_cpuset(1);
  for (int w = 0; w < 2; ++w) {
    auto& worker = *cgroup.add_workers();
    worker.set_pid(1000 + w);
    worker.set_work(kstep::scenario::SPIN);
    worker.set_iterations(iterations);
    worker.set_cpu_time_us(95000);
    worker.set_wall_time_us(100000);
    worker.set_voluntary_switches(3);
    worker.set_involuntary_switches(40);
    worker.set_migrations(2);
    worker.add_cpus_used(0);
    worker.add_cpus_used(1);
    worker.set_max_gap_us(4000);
  }
}

std::vector<GuestMessage> scenario_frames() {
  std::vector<GuestMessage> frames;
  GuestMessage message;
  auto* start = message.mutable_scenario_start();
  start->set_name("long");
  start->set_steps(kSteps);
  start->set_duration_ms(kSteps * 100);
  start->set_cpus(2);
  frames.push_back(message);
  message.Clear();
  message.mutable_step_start()->set_step(0);
  message.mutable_step_start()->set_worker_count(4);
  frames.push_back(message);

  std::uint64_t iterations = 0;
  std::uint32_t now = 0;
  for (std::uint32_t step = 1; step <= kSteps; ++step) {
    message.Clear();
    auto* step_start = message.mutable_step_start();
    step_start->set_step(step);
    step_start->set_elapsed_ms(now);
    step_start->set_op_count(2);
    step_start->set_op_kinds(6);
    step_start->set_cgroup_count(3);
    step_start->set_worker_count(4);
    step_start->set_total_iterations(iterations);
    frames.push_back(message);
    message.Clear();
    message.mutable_scenario_resume()->set_step(step);
    message.mutable_scenario_resume()->set_elapsed_ms(now);
    message.mutable_scenario_resume()->set_hold_ms(100);
    frames.push_back(message);
    now += 100;
    iterations += 400000;
    message.Clear();
    message.mutable_scenario_pause()->set_step(step);
    message.mutable_scenario_pause()->set_elapsed_ms(now);
    frames.push_back(message);
    message.Clear();
    message.mutable_step_end()->set_step(step);
    message.mutable_step_end()->set_elapsed_ms(now);
    message.mutable_step_end()->set_iterations(iterations);
    frames.push_back(message);
    message.Clear();
    auto* report = message.mutable_step_report();
    report->set_step(step);
    add_cgroup(*report, fmt::format("left-{}", step), 100000);
    add_cgroup(*report, fmt::format("right-{}", step), 100000);
    frames.push_back(message);
    if (step == kSteps / 2) {
      message.Clear();
      auto* event = message.mutable_scheduler_event();
      event->set_kind(kstep::wire::SchedulerEvent::DETACHED);
      event->set_name("kstep-sched");
      event->set_pid(100);
      event->set_step(step);
      event->set_elapsed_ms(now);
      frames.push_back(message);
    }
  }

  message.Clear();
  auto* end = message.mutable_scenario_end();
  end->set_step(kSteps);
  end->set_elapsed_ms(now);
  end->set_iterations(iterations);
  end->set_passed(false);
  for (std::uint32_t step = 100; step <= kSteps; step += 100) {
    auto* detail = end->add_details();
    detail->set_kind(kstep::wire::Detail::GAP);
    detail->set_step(step);
    detail->set_cgroup(fmt::format("left-{}", step));
    detail->set_message(fmt::format("a gap of 2100 ms in 'left-{}' <over the 2000 ms limit>", step));
  }
  add_cgroup(*end->mutable_backdrop(), "base", 40000000);
  frames.push_back(message);
  return frames;
}

}  // namespace

int main() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kstep-results-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path dir{pattern};

  kstep::wire::RunScenario run;
  run.mutable_scenario()->set_name("long");
  for (int i = 0; i < kSteps; ++i) {
    run.mutable_scenario()->add_steps()->set_name(fmt::format("step-{}", i + 1));
  }
  const auto frames = scenario_frames();
  kstep::result::RunMetadata metadata;
  metadata.set_kernel_release("7.3.4+deb13-cloud-amd64");
  metadata.set_scenario("long");

  std::vector<double> feed;
  std::vector<double> assemble;
  std::vector<double> json;
  std::vector<double> junit;
  std::vector<double> total;
  std::size_t bytes = 0;
  for (int round = 0; round <= kRuns; ++round) {  // round 0 warms up
    NullControl control;
    std::ostringstream progress;
    const auto started = Clock::now();
    kstep::host::ScenarioDriver driver{run, dir, progress};
    for (const auto& frame : frames) {
      driver.on_message(frame, control);
    }
    const double fed = ms_since(started);
    auto stage = Clock::now();
    const auto doc = kstep::host::assemble_result(kstep::host::ResultInputs{
        metadata, kstep::host::Classification{kstep::host::Outcome::kScenarioFailure, "gaps"}, &driver, dir,
        std::chrono::seconds{100}});
    const double assembled = ms_since(stage);
    stage = Clock::now();
    const auto text = kstep::host::to_json(doc);
    const double rendered = ms_since(stage);
    stage = Clock::now();
    const auto xml = kstep::host::render_junit(doc);
    const double junit_ms = ms_since(stage);
    const double all = ms_since(started);
    if (!text || doc.steps_size() != kSteps || xml.empty()) {
      std::fprintf(stderr, "results-bench: the result is incomplete\n");
      return 1;
    }
    bytes = text->size();
    if (round == 0) {
      continue;
    }
    feed.push_back(fed);
    assemble.push_back(assembled);
    json.push_back(rendered);
    junit.push_back(junit_ms);
    total.push_back(all);
  }
  std::filesystem::remove_all(dir);

  std::printf("results.steps %d\n", kSteps);
  std::printf("results.frames %zu\n", frames.size());
  std::printf("results.json_bytes %zu\n", bytes);
  std::printf("results.feed_median_ms %.2f\n", median(feed));
  std::printf("results.assemble_median_ms %.2f\n", median(assemble));
  std::printf("results.json_median_ms %.2f\n", median(json));
  std::printf("results.junit_median_ms %.2f\n", median(junit));
  std::printf("results.total_best_ms %.2f\n", *std::min_element(total.begin(), total.end()));
  std::printf("results.total_median_ms %.2f\n", median(total));
  std::printf("results.total_vs_50ms_goal_ratio %.3f   (median / %.0f ms, goal < 1)\n",
              median(total) / kGoalMs, kGoalMs);
  return 0;
}
