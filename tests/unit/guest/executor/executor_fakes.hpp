// Fakes for the StepExecutor tests: a clock that only moves when slept on,
// a sink that records frames, worker groups whose iterations grow with the
// fake clock, payloads that "run" for a set fake time, and a temp dir for a
// plain-directory CgroupFs. Each fake keeps a shared record that outlives
// the object the executor owns, so tests can inspect what happened to it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "guest/cgroup/cgroup_fs.hpp"
#include "guest/executor/executor_ports.hpp"
#include "kstep.pb.h"
#include "scenario.pb.h"

namespace kstep::guest::testing {

class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// now() moves only in sleep_until (to the deadline, plus `oversleep` to
// mimic a loaded machine) and advance().
class FakeClock final : public ExecutorClock {
 public:
  [[nodiscard]] TimePoint now() const override { return now_; }
  void sleep_until(TimePoint deadline) override;
  void advance(std::chrono::nanoseconds by) { now_ += by; }
  // Added once to the next sleep.
  void oversleep_once(std::chrono::nanoseconds extra) { oversleep_ = extra; }

  [[nodiscard]] TimePoint origin() const { return origin_; }
  [[nodiscard]] const std::vector<std::chrono::nanoseconds>& sleeps() const { return sleeps_; }

 private:
  TimePoint origin_{std::chrono::hours{1000}};
  TimePoint now_ = origin_;
  std::chrono::nanoseconds oversleep_{0};
  std::vector<std::chrono::nanoseconds> sleeps_;  // each sleep's length as asked
};

class RecordingSink final : public FrameSink {
 public:
  void send(const wire::GuestMessage& message) override;

  [[nodiscard]] std::vector<wire::GuestMessage> messages() const;
  // Body kinds in order, Log frames left out.
  [[nodiscard]] std::vector<wire::GuestMessage::BodyCase> kinds() const;
  [[nodiscard]] std::vector<wire::GuestMessage> of(wire::GuestMessage::BodyCase kind) const;
  [[nodiscard]] std::vector<wire::StepStart> step_starts() const;
  [[nodiscard]] std::vector<wire::StepEnd> step_ends() const;
  [[nodiscard]] std::vector<wire::StepReport> step_reports() const;
  [[nodiscard]] std::vector<wire::ScenarioResume> resumes() const;
  [[nodiscard]] std::vector<wire::ScenarioPause> pauses() const;
  [[nodiscard]] std::vector<wire::Log> logs() const;
  // How many sent Log frames contain `text`.
  [[nodiscard]] int logs_containing(const std::string& text) const;

 private:
  mutable std::mutex mutex_;
  std::vector<wire::GuestMessage> messages_;
};

// How the workers of a cgroup behave. Worker i runs rates[i % size]
// iterations per fake millisecond.
struct FakeWorkerProfile {
  std::vector<std::uint64_t> rates{10};
  std::vector<unsigned> cpus_used;
  std::uint64_t max_gap_us = 0;
};

struct FakeGroupRecord {
  WorkerRequest request;
  std::vector<pid_t> pids;
  ExecutorClock::TimePoint spawned_at{};
  std::vector<std::vector<unsigned>> affinity_calls;
  int stop_calls = 0;
  std::chrono::milliseconds grace{0};
  std::optional<ExecutorClock::TimePoint> stopped_at;
  // cgroup.freeze of the cgroup it was spawned in, when stop() ran; "" when
  // the file did not exist.
  std::optional<std::string> freeze_at_stop;
  bool killed = false;
  bool destroyed = false;
};

class FakeWorkerLauncher final : public WorkerLauncher {
 public:
  // `cgroups`: where the fake places its pids (cgroup.procs), like the real
  // launcher does before the workers start.
  FakeWorkerLauncher(FakeClock& clock, CgroupFs& cgroups) : clock_(&clock), cgroups_(&cgroups) {}

  Result<std::unique_ptr<WorkerGroup>> spawn(const WorkerRequest& request) override;

  std::map<std::string, FakeWorkerProfile> profiles;  // by cgroup; others get default_profile
  FakeWorkerProfile default_profile;
  std::set<std::string> refuse_in;  // spawn fails in these cgroups
  std::set<std::string> throw_in;   // spawn throws in these cgroups
  bool fail_affinity = false;
  // Called at each spawn before the group exists: a window into the run.
  std::function<void(const WorkerRequest&)> on_spawn;

  std::vector<std::shared_ptr<FakeGroupRecord>> groups;
  [[nodiscard]] std::vector<std::shared_ptr<FakeGroupRecord>> groups_in(const std::string& cgroup) const;

 private:
  FakeClock* clock_;
  CgroupFs* cgroups_;
  pid_t next_pid_ = 1000;
};

struct FakePayloadBehavior {
  std::chrono::milliseconds runtime{500};
  int exit_code = 0;
  int signal = 0;
  std::map<std::string, double> metrics;
};

struct FakePayloadRecord {
  PayloadRequest request;
  pid_t pid = 0;
  int waits = 0;
  bool killed = false;
  bool destroyed = false;
};

class FakePayloadLauncher final : public PayloadLauncher {
 public:
  FakePayloadLauncher(FakeClock& clock, CgroupFs& cgroups) : clock_(&clock), cgroups_(&cgroups) {}

  Result<std::unique_ptr<Payload>> start(const PayloadRequest& request) override;

  std::map<std::string, FakePayloadBehavior> behaviors;  // by PayloadDecl.name
  std::vector<std::shared_ptr<FakePayloadRecord>> payloads;

 private:
  FakeClock* clock_;
  CgroupFs* cgroups_;
  pid_t next_pid_ = 5000;
};

[[nodiscard]] scenario::Scenario parse_scenario(const std::string& text);

}  // namespace kstep::guest::testing
