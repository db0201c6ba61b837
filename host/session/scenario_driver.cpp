#include "host/session/scenario_driver.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kstep::host {

std::string file_name_for(const std::string& id) {
  std::string name = id.empty() ? std::string{"payload"} : id;
  for (char& c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    if (!safe) {
      c = '_';
    }
  }
  if (name.front() == '.') {
    name.front() = '_';  // no hidden files, no ".."
  }
  return name;
}

std::string describe_failure(const wire::ScenarioEnd& end) {
  if (end.details().empty()) {
    return "the guest reported a failure without details";
  }
  const auto& first = end.details(0);
  std::string where = first.step() == 0 ? std::string{"setup"} : fmt::format("step {}", first.step());
  if (!first.cgroup().empty()) {
    where += fmt::format(", cgroup {}", first.cgroup());
  }
  std::string text = fmt::format("{}: {}: {}", where, wire::Detail::Kind_Name(first.kind()), first.message());
  if (end.details_size() > 1) {
    text += fmt::format(" (and {} more)", end.details_size() - 1);
  }
  return text;
}

ScenarioDriver::ScenarioDriver(wire::RunScenario run, std::filesystem::path run_dir, std::ostream& progress)
    : run_(std::move(run)), run_dir_(std::move(run_dir)), progress_(&progress) {}

void ScenarioDriver::on_hello(const wire::Hello& /*hello*/, SessionControl& control) {
  wire::HostMessage message;
  *message.mutable_run_scenario() = run_;
  control.send(message);
  *progress_ << fmt::format("scenario {}: {} steps, {:.1f} s\n", run_.scenario().name(),
                            run_.scenario().steps_size(), run_.scenario().duration_s())
             << std::flush;
}

void ScenarioDriver::on_message(const wire::GuestMessage& message, SessionControl& control) {
  if (message.has_payload_output()) {
    write_output(message.payload_output());
    return;
  }
  if (auto added = record_.add(message); !added) {
    control.protocol_error(added.error().message);
    return;
  }
  if (message.has_step_start()) {
    show_progress(message.step_start());
  }
  if (message.has_scenario_end()) {
    const auto& end = message.scenario_end();
    if (!end.passed()) {
      control.scenario_failed(describe_failure(end));
    }
    control.request_shutdown("scenario complete");
  }
}

void ScenarioDriver::show_progress(const wire::StepStart& start) {
  if (start.step() == 0) {
    return;
  }
  const auto total = static_cast<std::uint32_t>(run_.scenario().steps_size());
  constexpr std::uint32_t kWidth = 20;
  const std::uint32_t done = total == 0 ? kWidth : std::min(kWidth, start.step() * kWidth / total);
  const auto index = static_cast<int>(start.step()) - 1;
  const std::string name = index < run_.scenario().steps_size() ? run_.scenario().steps(index).name() : "";
  *progress_ << fmt::format("step {}/{} [{}{}] {}\n", start.step(), total, std::string(done, '#'),
                            std::string(kWidth - done, '.'), name)
             << std::flush;
}

void ScenarioDriver::write_output(const wire::PayloadOutput& output) {
  const char* suffix = output.stream() == wire::PayloadOutput::STDERR ? ".stderr" : ".stdout";
  const std::string key = file_name_for(output.id()) + suffix;
  auto it = outputs_.find(key);
  if (it == outputs_.end()) {
    std::error_code ignored;
    std::filesystem::create_directories(run_dir_ / "payloads", ignored);
    it = outputs_.emplace(key, std::ofstream{run_dir_ / "payloads" / key, std::ios::binary}).first;
    if (!it->second) {
      spdlog::warn("cannot write {}", (run_dir_ / "payloads" / key).string());
    }
  }
  it->second.write(output.data().data(), static_cast<std::streamsize>(output.data().size()));
  it->second.flush();
}

}  // namespace kstep::host
