#include "host/session/scenario_driver.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>
#include <spdlog/spdlog.h>

#include "common/scheduler_ops.hpp"

namespace kstep::host {
namespace {

using std::chrono::duration;

// How long the shutdown waits, after a failed ScenarioEnd, for the guest's
// answer to the dump request (it is usually there before ScenarioEnd).
constexpr std::chrono::seconds kDumpWait{5};

std::string where_of(const wire::Detail& detail) {
  std::string where = detail.step() == 0 ? std::string{"setup"} : fmt::format("step {}", detail.step());
  if (!detail.cgroup().empty()) {
    where += fmt::format(", cgroup {}", detail.cgroup());
  }
  return where;
}

}  // namespace

bool is_scheduler_detail(wire::Detail::Kind kind) noexcept {
  switch (kind) {
    case wire::Detail::SCHEDULER_CRASHED:
    case wire::Detail::SCHEDULER_EXITED:
    case wire::Detail::SCHEDULER_DIED_UNKNOWN:
    case wire::Detail::SCHEDULER_STALLED:
    case wire::Detail::SCHEDULER_ATTACH_FAILED: return true;
    default: return false;
  }
}

std::string describe_scheduler_event(const wire::SchedulerEvent& event) {
  const std::string who = fmt::format("scheduler '{}' (pid {})", event.name(), event.pid());
  const std::string when =
      fmt::format("step {} at {:.2f} s", event.step(), static_cast<double>(event.elapsed_ms()) / 1000.0);
  switch (event.kind()) {
    case wire::SchedulerEvent::ATTACHED:
      return fmt::format("{} attached (ops {}) in {:.2f} s", who, event.ops(),
                         static_cast<double>(event.attach_us()) / 1e6);
    case wire::SchedulerEvent::DETACHED: return fmt::format("{} detached, {}", who, when);
    case wire::SchedulerEvent::STOPPED:
      return fmt::format("{} stopped, {}: waiting for the kernel's reason", who, when);
    case wire::SchedulerEvent::DIED:
      return fmt::format("{} {}, {}: {}", who, wire::Detail::Kind_Name(event.detail()), when,
                         event.message());
    case wire::SchedulerEvent::ATTACH_FAILED:
      return fmt::format("scheduler '{}' failed to attach, {}: {}", event.name(), when, event.message());
    default: return fmt::format("{}: unknown event {}", who, static_cast<int>(event.kind()));
  }
}

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
  // The scheduler's failure, when there is one, explains the rest.
  const auto scheduler = std::find_if(end.details().begin(), end.details().end(),
                                      [](const wire::Detail& d) { return is_scheduler_detail(d.kind()); });
  const auto& first = scheduler != end.details().end() ? *scheduler : end.details(0);
  std::string text =
      fmt::format("{}: {}: {}", where_of(first), wire::Detail::Kind_Name(first.kind()), first.message());
  if (end.details_size() > 1) {
    text += fmt::format(" (and {} more)", end.details_size() - 1);
  }
  return text;
}

ScenarioDriver::ScenarioDriver(wire::RunScenario run, std::filesystem::path run_dir, std::ostream& progress,
                               MapHandshakeOptions maps)
    : run_(std::move(run)),
      run_dir_(std::move(run_dir)),
      progress_(&progress),
      maps_(std::move(maps), progress,
            run_dir_.empty() ? std::filesystem::path{} : run_dir_ / "bpf-writes.txt") {}

bool ScenarioDriver::needs_sched_ext() const {
  return run_.has_scheduler() || uses_scheduler_ops(run_.scenario());
}

void ScenarioDriver::on_hello(const wire::Hello& hello, SessionControl& control) {
  hello_at_.emplace(hello.uptime_us(), std::chrono::steady_clock::now());
  if (needs_sched_ext() && !hello.sched_ext().supported()) {
    const std::string what = run_.has_scheduler() ? fmt::format("scheduler '{}'", run_.scheduler().name())
                                                  : std::string{"the scenario's scheduler ops"};
    control.kernel_unsupported(fmt::format(
        "the kernel lacks sched_ext (Linux {} has no /sys/kernel/sched_ext): cannot run {}; build it with "
        "CONFIG_SCHED_CLASS_EXT=y",
        hello.kernel_release(), what));
    control.request_shutdown("the kernel lacks sched_ext");
    return;
  }
  wire::HostMessage message;
  *message.mutable_run_scenario() = run_;
  control.send(message);
  maps_.started(std::chrono::steady_clock::now());
  *progress_ << fmt::format("scenario {}: {} steps, {:.1f} s\n", run_.scenario().name(),
                            run_.scenario().steps_size(), run_.scenario().duration_s())
             << std::flush;
}

void ScenarioDriver::on_tick(SessionControl& control) {
  const auto now = std::chrono::steady_clock::now();
  maps_.on_tick(now, control);
  if (shutdown_after_dump_ && now >= *shutdown_after_dump_) {
    spdlog::warn("the failure dump of the BPF maps did not come within {} s", kDumpWait.count());
    shut_down(control);
  }
}

void ScenarioDriver::shut_down(SessionControl& control) {
  shutdown_after_dump_.reset();
  control.request_shutdown("scenario complete");
}

void ScenarioDriver::on_message(const wire::GuestMessage& message, SessionControl& control) {
  on_tick(control);
  if (message.has_bpf_map_catalog()) {
    maps_.on_catalog(message.bpf_map_catalog(), std::chrono::steady_clock::now(), control);
    return;
  }
  if (message.has_bpf_write_result()) {
    maps_.on_write_result(message.bpf_write_result(), control);
    return;
  }
  if (message.has_bpf_map_dump()) {
    maps_.on_dump(message.bpf_map_dump());
    if (shutdown_after_dump_) {
      shut_down(control);
    }
    return;
  }
  if (message.has_payload_output()) {
    write_output(message.payload_output());
    if (message.payload_output().scheduler()) {
      echo_scheduler_output(message.payload_output());
    }
    return;
  }
  if (message.has_scheduler_event()) {
    on_scheduler_event(message.scheduler_event(), control);
    return;
  }
  if (auto added = record_.add(message); !added) {
    control.protocol_error(added.error().message);
    return;
  }
  if (message.has_step_start()) {
    show_progress(message.step_start());
  }
  if (message.has_step_report() && message.step_report().details_size() > 0) {
    const auto& detail = message.step_report().details(0);
    maps_.request_dump(fmt::format("step {}: {}: {}", detail.step(), wire::Detail::Kind_Name(detail.kind()),
                                   detail.message()),
                       control);
  }
  if (message.has_scenario_end()) {
    on_scenario_end(message.scenario_end(), control);
  }
}

void ScenarioDriver::on_scenario_end(const wire::ScenarioEnd& end, SessionControl& control) {
  if (!end.passed()) {
    const bool scheduler = std::any_of(end.details().begin(), end.details().end(),
                                       [](const wire::Detail& d) { return is_scheduler_detail(d.kind()); });
    if (scheduler) {
      control.scheduler_failed(describe_failure(end));
    } else {
      control.scenario_failed(describe_failure(end));
    }
    maps_.request_dump(describe_failure(end), control);
  }
  if (maps_.dump_pending()) {
    shutdown_after_dump_ = std::chrono::steady_clock::now() + kDumpWait;
    return;
  }
  shut_down(control);
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
  // Every scheduler of the run shares scheduler.stdout|stderr: a replaced
  // scheduler's output follows its predecessor's, as on a terminal.
  const std::filesystem::path dir = output.scheduler() ? run_dir_ : run_dir_ / "payloads";
  const std::string key =
      (output.scheduler() ? std::string{"scheduler"} : file_name_for(output.id())) + suffix;
  auto it = outputs_.find(key);
  if (it == outputs_.end()) {
    std::error_code ignored;
    std::filesystem::create_directories(dir, ignored);
    it = outputs_.emplace(key, std::ofstream{dir / key, std::ios::binary}).first;
    if (!it->second) {
      spdlog::warn("cannot write {}", (dir / key).string());
    }
  }
  it->second.write(output.data().data(), static_cast<std::streamsize>(output.data().size()));
  it->second.flush();
}

void ScenarioDriver::echo_scheduler_output(const wire::PayloadOutput& output) {
  // Whole lines only, so that a line split across frames is not broken up by
  // a progress line.
  std::string& pending = partial_lines_[output.stream() == wire::PayloadOutput::STDERR ? "stderr" : "stdout"];
  pending += output.data();
  std::size_t start = 0;
  for (std::size_t newline = pending.find('\n'); newline != std::string::npos;
       newline = pending.find('\n', start)) {
    *progress_ << "[" << output.id() << "] " << std::string_view{pending}.substr(start, newline - start)
               << '\n';
    start = newline + 1;
  }
  pending.erase(0, start);
  *progress_ << std::flush;
}

void ScenarioDriver::on_scheduler_event(const wire::SchedulerEvent& event, SessionControl& control) {
  if (event.kind() == wire::SchedulerEvent::STOPPED || event.kind() == wire::SchedulerEvent::DIED) {
    maps_.request_dump(describe_scheduler_event(event), control);
  }
  ReceivedSchedulerEvent received{event, std::nullopt};
  if (hello_at_) {
    const auto since_hello = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - hello_at_->second);
    received.received_guest_us = hello_at_->first + static_cast<std::uint64_t>(since_hello.count());
  }
  *progress_ << describe_scheduler_event(event) << '\n' << std::flush;
  if (!events_file_.is_open()) {
    events_file_.open(run_dir_ / "scheduler-events.txt", std::ios::app);
  }
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(event, &text);
  events_file_ << text << '\n' << std::flush;
  scheduler_events_.push_back(std::move(received));
}

}  // namespace kstep::host
