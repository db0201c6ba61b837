#include "tests/unit/guest/executor/executor_fakes.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <google/protobuf/text_format.h>

#include <stdexcept>
#include <system_error>

namespace kstep::guest::testing {
namespace {

class FakeWorkerGroup final : public WorkerGroup {
 public:
  FakeWorkerGroup(FakeClock& clock, CgroupFs& cgroups, FakeWorkerProfile profile,
                  std::shared_ptr<FakeGroupRecord> record)
      : clock_(&clock), cgroups_(&cgroups), profile_(std::move(profile)), record_(std::move(record)) {}
  ~FakeWorkerGroup() override { record_->destroyed = true; }

  [[nodiscard]] std::size_t size() const override { return record_->pids.size(); }
  [[nodiscard]] std::vector<pid_t> pids() const override { return record_->pids; }

  [[nodiscard]] std::uint64_t iterations() const override {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < record_->pids.size(); ++i) {
      total += iterations_of(i);
    }
    return total;
  }

  [[nodiscard]] Result<void> set_affinity(const std::vector<unsigned>& cpus) override {
    record_->affinity_calls.push_back(cpus);
    if (fail_affinity_) {
      return fail("sched_setaffinity: Invalid argument");
    }
    return {};
  }

  [[nodiscard]] std::vector<wire::WorkerReport> stop(std::chrono::milliseconds grace) override {
    ++record_->stop_calls;
    if (record_->stopped_at) {
      return {};
    }
    record_->grace = grace;
    if (auto freeze = cgroups_->read(record_->request.cgroup, "cgroup.freeze")) {
      record_->freeze_at_stop = *freeze;
    } else {
      record_->freeze_at_stop = "";
    }
    std::vector<wire::WorkerReport> reports;
    for (std::size_t i = 0; i < record_->pids.size(); ++i) {
      wire::WorkerReport report;
      report.set_pid(record_->pids[i]);
      report.set_work(record_->request.config.work());
      report.set_iterations(iterations_of(i));
      report.mutable_cpus_used()->Assign(profile_.cpus_used.begin(), profile_.cpus_used.end());
      report.set_max_gap_us(profile_.max_gap_us);
      report.set_killed(record_->killed);
      reports.push_back(std::move(report));
    }
    record_->stopped_at = clock_->now();
    return reports;
  }

  void kill() override { record_->killed = true; }

  bool fail_affinity_ = false;

 private:
  std::uint64_t iterations_of(std::size_t worker) const {
    const auto until = record_->stopped_at.value_or(clock_->now());
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - record_->spawned_at).count();
    const auto rate = profile_.rates.empty() ? 0 : profile_.rates[worker % profile_.rates.size()];
    return rate * static_cast<std::uint64_t>(ms);
  }

  FakeClock* clock_;
  CgroupFs* cgroups_;
  FakeWorkerProfile profile_;
  std::shared_ptr<FakeGroupRecord> record_;
};

class FakePayload final : public Payload {
 public:
  FakePayload(FakeClock& clock, FakePayloadBehavior behavior, std::shared_ptr<FakePayloadRecord> record)
      : clock_(&clock),
        behavior_(std::move(behavior)),
        record_(std::move(record)),
        started_(clock.now()),
        exits_at_(started_ + behavior_.runtime) {}
  ~FakePayload() override { record_->destroyed = true; }

  [[nodiscard]] pid_t pid() const override { return record_->pid; }
  [[nodiscard]] bool exited() override { return clock_->now() >= exits_at_; }

  [[nodiscard]] Result<wire::PayloadReport> wait(std::chrono::milliseconds timeout) override {
    ++record_->waits;
    if (clock_->now() + timeout < exits_at_) {
      clock_->sleep_until(clock_->now() + timeout);
      return fail("payload '{}' still runs after {} ms", record_->request.id, timeout.count());
    }
    clock_->sleep_until(exits_at_);
    return report(behavior_.exit_code, behavior_.signal);
  }

  [[nodiscard]] wire::PayloadReport kill() override {
    if (exited()) {
      return report(behavior_.exit_code, behavior_.signal);
    }
    record_->killed = true;
    return report(-1, 9);
  }

 private:
  wire::PayloadReport report(int exit_code, int signal) const {
    wire::PayloadReport report;
    report.set_id(record_->request.id);
    report.set_payload(record_->request.decl.name());
    report.set_cgroup(record_->request.cgroup);
    report.set_exit_code(exit_code);
    report.set_signal(signal);
    for (const auto& [name, value] : behavior_.metrics) {
      (*report.mutable_metrics())[name] = value;
    }
    report.set_wall_time_us(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(clock_->now() - started_).count()));
    return report;
  }

  FakeClock* clock_;
  FakePayloadBehavior behavior_;
  std::shared_ptr<FakePayloadRecord> record_;
  ExecutorClock::TimePoint started_;
  ExecutorClock::TimePoint exits_at_;
};

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kstep-executor-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void FakeClock::sleep_until(TimePoint deadline) {
  sleeps_.push_back(deadline - now_);
  if (deadline > now_) {
    now_ = deadline;
  }
  now_ += oversleep_;
  oversleep_ = std::chrono::nanoseconds{0};
}

void RecordingSink::send(const wire::GuestMessage& message) {
  const std::lock_guard lock{mutex_};
  messages_.push_back(message);
}

std::vector<wire::GuestMessage> RecordingSink::messages() const {
  const std::lock_guard lock{mutex_};
  return messages_;
}

std::vector<wire::GuestMessage::BodyCase> RecordingSink::kinds() const {
  std::vector<wire::GuestMessage::BodyCase> kinds;
  for (const auto& message : messages()) {
    if (message.body_case() != wire::GuestMessage::kLog) {
      kinds.push_back(message.body_case());
    }
  }
  return kinds;
}

std::vector<wire::GuestMessage> RecordingSink::of(wire::GuestMessage::BodyCase kind) const {
  std::vector<wire::GuestMessage> found;
  for (const auto& message : messages()) {
    if (message.body_case() == kind) {
      found.push_back(message);
    }
  }
  return found;
}

std::vector<wire::StepStart> RecordingSink::step_starts() const {
  std::vector<wire::StepStart> found;
  for (const auto& message : of(wire::GuestMessage::kStepStart)) {
    found.push_back(message.step_start());
  }
  return found;
}

std::vector<wire::StepEnd> RecordingSink::step_ends() const {
  std::vector<wire::StepEnd> found;
  for (const auto& message : of(wire::GuestMessage::kStepEnd)) {
    found.push_back(message.step_end());
  }
  return found;
}

std::vector<wire::StepReport> RecordingSink::step_reports() const {
  std::vector<wire::StepReport> found;
  for (const auto& message : of(wire::GuestMessage::kStepReport)) {
    found.push_back(message.step_report());
  }
  return found;
}

std::vector<wire::ScenarioResume> RecordingSink::resumes() const {
  std::vector<wire::ScenarioResume> found;
  for (const auto& message : of(wire::GuestMessage::kScenarioResume)) {
    found.push_back(message.scenario_resume());
  }
  return found;
}

std::vector<wire::ScenarioPause> RecordingSink::pauses() const {
  std::vector<wire::ScenarioPause> found;
  for (const auto& message : of(wire::GuestMessage::kScenarioPause)) {
    found.push_back(message.scenario_pause());
  }
  return found;
}

std::vector<wire::Log> RecordingSink::logs() const {
  std::vector<wire::Log> found;
  for (const auto& message : of(wire::GuestMessage::kLog)) {
    found.push_back(message.log());
  }
  return found;
}

int RecordingSink::logs_containing(const std::string& text) const {
  int count = 0;
  for (const auto& log : logs()) {
    count += log.text().find(text) != std::string::npos ? 1 : 0;
  }
  return count;
}

Result<std::unique_ptr<WorkerGroup>> FakeWorkerLauncher::spawn(const WorkerRequest& request) {
  if (on_spawn) {
    on_spawn(request);
  }
  if (throw_in.count(request.cgroup) != 0) {
    throw std::runtime_error("fake launcher exploded");
  }
  if (refuse_in.count(request.cgroup) != 0) {
    return fail("fork: Resource temporarily unavailable");
  }
  auto record = std::make_shared<FakeGroupRecord>();
  record->request = request;
  record->spawned_at = clock_->now();
  for (unsigned i = 0; i < request.count; ++i) {
    record->pids.push_back(next_pid_++);
    (void)cgroups_->move(record->pids.back(), request.cgroup);
  }
  groups.push_back(record);
  const auto profile = profiles.find(request.cgroup);
  auto group = std::make_unique<FakeWorkerGroup>(
      *clock_, *cgroups_, profile == profiles.end() ? default_profile : profile->second, record);
  group->fail_affinity_ = fail_affinity;
  return std::unique_ptr<WorkerGroup>{std::move(group)};
}

std::vector<std::shared_ptr<FakeGroupRecord>> FakeWorkerLauncher::groups_in(const std::string& cgroup) const {
  std::vector<std::shared_ptr<FakeGroupRecord>> found;
  for (const auto& group : groups) {
    if (group->request.cgroup == cgroup) {
      found.push_back(group);
    }
  }
  return found;
}

Result<std::unique_ptr<Payload>> FakePayloadLauncher::start(const PayloadRequest& request) {
  auto record = std::make_shared<FakePayloadRecord>();
  record->request = request;
  record->pid = next_pid_++;
  if (!request.cgroup.empty()) {
    (void)cgroups_->move(record->pid, request.cgroup);
  }
  payloads.push_back(record);
  const auto behavior = behaviors.find(request.decl.name());
  return std::unique_ptr<Payload>{std::make_unique<FakePayload>(
      *clock_, behavior == behaviors.end() ? FakePayloadBehavior{} : behavior->second, record)};
}

scenario::Scenario parse_scenario(const std::string& text) {
  scenario::Scenario scenario;
  if (!google::protobuf::TextFormat::ParseFromString(text, &scenario)) {
    ADD_FAILURE() << "bad test scenario:\n" << text;
  }
  return scenario;
}

}  // namespace kstep::guest::testing
