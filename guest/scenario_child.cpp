#include "guest/scenario_child.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/frame_codec.hpp"
#include "common/scheduler_ops.hpp"
#include "guest/cgroup/cgroup_fs.hpp"
#include "guest/cgroup/cgroup_knobs.hpp"
#include "guest/executor/step_executor.hpp"
#include "guest/host_handshake.hpp"
#include "guest/payloads/fork_payload_launcher.hpp"
#include "guest/scheduler/fork_scheduler.hpp"
#include "guest/topology.hpp"
#include "guest/workers/fork_worker_launcher.hpp"

namespace kstep::guest {
namespace {

// After a failed run, how long the process waits for the host's dump
// request (sent when the host saw the failure) before it exits and lets
// go of the scheduler's maps.
constexpr std::chrono::milliseconds kDumpLinger{3000};

// Frames to the agent over the socketpair. Blocking writes: if the agent
// (and behind it the host) is slow, the executor waits rather than drops.
class SocketFrameSink final : public FrameSink {
 public:
  explicit SocketFrameSink(int fd) noexcept : fd_(fd) {}

  void send(const wire::GuestMessage& message) override {
    std::string frame;
    if (!append_frame(message, frame)) {
      return;  // over the frame cap: only a runaway payload output chunk could be
    }
    const std::lock_guard lock{mutex_};
    std::size_t sent = 0;
    while (sent < frame.size()) {
      const ssize_t n = ::write(fd_, frame.data() + sent, frame.size() - sent);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;  // the agent is gone; the executor finishes regardless
      }
      sent += static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
  std::mutex mutex_;
};

class SteadyClock final : public ExecutorClock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::steady_clock::now(); }
  void sleep_until(TimePoint deadline) override { std::this_thread::sleep_until(deadline); }
};

void send_log(FrameSink& sink, wire::Log::Level level, std::string text) {
  wire::GuestMessage message;
  message.mutable_log()->set_level(level);
  message.mutable_log()->set_text(std::move(text));
  sink.send(message);
}

int cannot_run(FrameSink& sink, const std::string& why) {
  send_log(sink, wire::Log::ERROR, why);
  wire::GuestMessage message;
  auto* end = message.mutable_scenario_end();
  end->set_passed(false);
  auto* detail = end->add_details();
  detail->set_kind(wire::Detail::STEP_FAILED);
  detail->set_message(why);
  sink.send(message);
  return 2;
}

// A fresh kstep directory under the cgroup2 mount, with the scenario's
// controllers enabled on the way down to it.
Result<void> prepare_cgroup_root(const SystemRoots& roots, const std::set<std::string>& controllers) {
  CgroupFs mount{roots.cgroup};
  if (mount.exists(kScenarioCgroupRoot)) {
    // Left over from an earlier run in this boot; it is empty once that
    // run's teardown completed.
    KSTEP_TRY(mount.remove(kScenarioCgroupRoot));
  }
  KSTEP_TRY(mount.enable_controllers("", controllers));
  return mount.create(kScenarioCgroupRoot);
}

// The schedulers' cgroup, removed when the run is over (after the
// scheduler it held was reaped).
class SchedulerCgroup {
 public:
  explicit SchedulerCgroup(const SystemRoots& roots) : mount_(roots.cgroup) {}
  SchedulerCgroup(const SchedulerCgroup&) = delete;
  SchedulerCgroup& operator=(const SchedulerCgroup&) = delete;
  ~SchedulerCgroup() {
    if (mount_.exists(kSchedulerCgroup)) {
      (void)mount_.remove(kSchedulerCgroup);
    }
  }

  [[nodiscard]] Result<void> create() {
    if (mount_.exists(kSchedulerCgroup)) {
      return {};
    }
    return mount_.create(kSchedulerCgroup);
  }
  [[nodiscard]] Result<void> place(pid_t pid) { return mount_.move(pid, std::string{kSchedulerCgroup}); }

 private:
  CgroupFs mount_;
};

std::optional<SchedulerRequest> scenario_scheduler(const wire::RunScenario& run,
                                                   std::chrono::milliseconds attach_timeout) {
  if (!run.has_scheduler()) {
    return std::nullopt;
  }
  SchedulerRequest request;
  request.name = run.scheduler().name();
  request.guest_path = run.scheduler().path();
  request.args.assign(run.scheduler().args().begin(), run.scheduler().args().end());
  request.attach_timeout = attach_timeout;
  return request;
}

}  // namespace

int run_scenario_child(const wire::RunScenario& run, int frames_fd, const SystemRoots& roots) {
  SocketFrameSink sink{frames_fd};
  auto topology = read_topology(roots.sys);
  if (!topology) {
    return cannot_run(sink, topology.error().context("reading the CPU topology").message);
  }
  const auto controllers = controllers_needed(run.scenario());
  if (auto prepared = prepare_cgroup_root(roots, controllers); !prepared) {
    return cannot_run(sink, prepared.error().context("preparing the scenario cgroup root").message);
  }
  CgroupFs cgroups{roots.cgroup / std::string{kScenarioCgroupRoot}};
  auto place = [&cgroups](pid_t pid, const std::string& cgroup) { return cgroups.move(pid, cgroup); };
  ForkWorkerLauncher workers{place};
  ForkPayloadLauncher payloads{place, sink};
  SchedulerCgroup scheduler_cgroup{roots};
  ForkPayloadLauncher scheduler_processes{
      [&scheduler_cgroup](pid_t pid, const std::string& /*cgroup*/) { return scheduler_cgroup.place(pid); },
      sink};
  ForkSchedulerLauncher schedulers{scheduler_processes, SchedExtPaths{roots.sys, roots.dev / "kmsg"}};
  const std::chrono::milliseconds attach_timeout{run.attach_timeout_ms() != 0 ? run.attach_timeout_ms()
                                                                              : 20000};
  if (run.has_scheduler() || uses_scheduler_ops(run.scenario())) {
    if (auto created = scheduler_cgroup.create(); !created) {
      return cannot_run(sink, created.error().context("creating the scheduler cgroup").message);
    }
  }
  SocketHostHandshake handshake{frames_fd, sink, roots.proc};
  SteadyClock clock;
  ExecutorEnv env{cgroups,
                  workers,
                  payloads,
                  clock,
                  sink,
                  *topology,
                  {},
                  std::chrono::milliseconds{2000},
                  &schedulers,
                  scenario_scheduler(run, attach_timeout),
                  attach_timeout};
  env.handshake = &handshake;
  env.await_map_write = run.await_map_write();
  if (run.map_write_gate_ms() != 0) {
    env.map_write_gate = std::chrono::milliseconds{run.map_write_gate_ms()};
  }
  for (const auto& [name, path] : run.payload_paths()) {
    env.payload_paths.emplace(name, path);
  }
  StepExecutor executor{std::move(env)};
  const wire::ScenarioEnd end = executor.run(run.scenario());
  if (!end.passed()) {
    handshake.linger_for_dump(kDumpLinger);
  }
  return end.passed() ? 0 : 1;
}

}  // namespace kstep::guest
