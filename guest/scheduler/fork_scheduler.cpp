#include "guest/scheduler/fork_scheduler.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "guest/scheduler/kmsg.hpp"
#include "guest/text_file.hpp"

namespace kstep::guest {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// After one sign of death, how long to wait for the other (the kernel's
// record after the process exited, the exit after the kernel's disable)
// before classifying with what there is.
constexpr auto kGatherBudget = 1000ms;
// How long an error's message line may trail its "disabled" line.
constexpr auto kMessageWait = 20ms;
// A scheduler asked to detach (SIGTERM) gets this long before SIGKILL.
constexpr auto kDetachGrace = 5000ms;
// After the exit, how long the kernel may take to report "disabled".
constexpr auto kDisableBudget = 2000ms;
// How long output may drain after the exit before the report is taken.
constexpr auto kReportBudget = 3000ms;

std::string read_state(const std::filesystem::path& dir) {
  auto state = read_trimmed(dir / "state");
  return state ? std::move(*state) : std::string{};
}

std::string read_ops(const std::filesystem::path& dir) {
  auto ops = read_trimmed(dir / "root" / "ops");
  return ops ? std::move(*ops) : std::string{};
}

UniqueFd open_pidfd(pid_t pid) {
  return UniqueFd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
}

// Polls `fds` for POLLIN until `deadline` (at most `slice` at a time).
// Returns the number of fds ready.
int poll_until(std::array<pollfd, 2>& fds, Clock::time_point deadline, std::chrono::milliseconds slice) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  const auto timeout = std::clamp(left, 0ms, slice);
  for (auto& fd : fds) {
    fd.revents = 0;
  }
  const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  return ready < 0 ? 0 : ready;
}

bool readable(int fd) {
  pollfd poll_fd{fd, POLLIN, 0};
  return ::poll(&poll_fd, 1, 0) > 0 && (poll_fd.revents & POLLIN) != 0;
}

std::optional<ProcessEnd> end_of(const wire::PayloadReport& report) {
  if (report.signal() != 0) {
    return ProcessEnd{0, report.signal()};
  }
  return ProcessEnd{report.exit_code(), 0};
}

// The stderr tail, trimmed to what says why: a verifier log ends with the
// reason; libbpf's summary follows it.
std::string stderr_excerpt(const std::string& tail) {
  constexpr std::size_t kMax = 4096;
  std::string text = tail.size() > kMax ? "..." + tail.substr(tail.size() - kMax) : tail;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

bool is_verifier_rejection(const std::string& stderr_tail) {
  return stderr_tail.find("BEGIN PROG LOAD LOG") != std::string::npos ||
         stderr_tail.find("failed to load BPF skeleton") != std::string::npos ||
         stderr_tail.find("program load failed") != std::string::npos ||
         stderr_tail.find("failed to load object") != std::string::npos;
}

class ForkScheduler final : public Scheduler {
 public:
  ForkScheduler(SchedulerRequest request, std::unique_ptr<Payload> process, UniqueFd pidfd, KmsgWatch kmsg,
                std::filesystem::path sched_ext_dir, std::string ops, std::chrono::microseconds attach_time)
      : request_(std::move(request)),
        process_(std::move(process)),
        pidfd_(std::move(pidfd)),
        kmsg_(std::move(kmsg)),
        dir_(std::move(sched_ext_dir)),
        ops_(std::move(ops)),
        attach_time_(attach_time) {}

  ForkScheduler(const ForkScheduler&) = delete;
  ForkScheduler& operator=(const ForkScheduler&) = delete;
  ~ForkScheduler() override {
    if (!death_ && !detached_) {
      (void)detach();
    }
  }

  [[nodiscard]] pid_t pid() const override { return process_->pid(); }
  [[nodiscard]] const SchedulerRequest& request() const override { return request_; }
  [[nodiscard]] std::string ops() const override { return ops_; }
  [[nodiscard]] std::chrono::microseconds attach_time() const override { return attach_time_; }
  void set_on_detected(std::function<void(std::uint64_t)> callback) override {
    on_detected_ = std::move(callback);
  }

  std::optional<SchedulerDeath> wait_for_death(ExecutorClock::TimePoint deadline) override {
    if (death_ || detached_) {
      return death_;
    }
    std::array<pollfd, 2> fds{pollfd{pidfd_.get(), POLLIN, 0}, pollfd{kmsg_.fd(), POLLIN, 0}};
    for (;;) {
      // First the state, so a deadline already past still checks once.
      const bool exited = pidfd_readable();
      collect_kmsg();
      if (exited || read_state(dir_) != "enabled" || disable_logged()) {
        const std::uint64_t detected_us = monotonic_us();
        if (on_detected_) {
          on_detected_(detected_us);
        }
        death_ = gather(detected_us);
        return death_;
      }
      if (Clock::now() >= deadline) {
        return std::nullopt;
      }
      (void)poll_until(fds, deadline, kStatePoll);
    }
  }

  Result<void> detach() override {
    if (detached_) {
      return {};
    }
    if (auto death = wait_for_death(Clock::now())) {
      return fail("it had stopped already: {}", death->message);
    }
    detached_ = true;
    (void)::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGTERM, nullptr, 0);
    std::array<pollfd, 2> fds{pollfd{pidfd_.get(), POLLIN, 0}, pollfd{kmsg_.fd(), POLLIN, 0}};
    const auto grace_end = Clock::now() + kDetachGrace;
    while (!pidfd_readable() && Clock::now() < grace_end) {
      (void)poll_until(fds, grace_end, 100ms);
    }
    std::string problem;
    if (!pidfd_readable()) {
      problem = fmt::format("it ignored SIGTERM for {} ms and was killed", kDetachGrace.count());
      (void)process_->kill();
    }
    (void)process_->wait(kReportBudget);  // reaped; a detach has no report to give
    // Without link mode an exited loader can leave its ops attached.
    const auto disable_end = Clock::now() + kDisableBudget;
    while (read_state(dir_) != "disabled" && Clock::now() < disable_end) {
      std::this_thread::sleep_for(kStatePoll);
    }
    const std::string state = read_state(dir_);
    if (state != "disabled") {
      return fail("sched_ext is still {} {} ms after the scheduler exited", state, kDisableBudget.count());
    }
    if (!problem.empty()) {
      return fail("{}", problem);
    }
    collect_kmsg();
    if (const auto disable = find_kernel_disable(records_);
        disable && kind_of_reason(disable->reason) != wire::Detail::SCHEDULER_EXITED) {
      return fail("the kernel disabled it with an error while it detached ({}): {}", disable->reason,
                  disable->message);
    }
    return {};
  }

 private:
  bool pidfd_readable() const { return readable(pidfd_.get()); }

  // Keeps sched_ext's records only: a chatty kernel must not grow this for
  // the whole scenario.
  void collect_kmsg() {
    for (auto& record : kmsg_.drain()) {
      if (record.text.starts_with("sched_ext: ")) {
        records_.push_back(std::move(record));
      }
    }
  }

  bool disable_logged() const { return find_kernel_disable(records_).has_value(); }

  // Classifies the death from the kernel's record, waiting (bounded) for it
  // only when the process went first. The process's own exit is not waited
  // for: a loader may take its polling interval to notice, and the death is
  // reported at once; settle_death() adds the exit later.
  SchedulerDeath gather(std::uint64_t detected_us) {
    std::array<pollfd, 2> fds{pollfd{pidfd_.get(), POLLIN, 0}, pollfd{kmsg_.fd(), POLLIN, 0}};
    const auto end = Clock::now() + kGatherBudget;
    while (!disable_logged() && Clock::now() < end) {
      (void)poll_until(fds, end, kStatePoll);
      collect_kmsg();
    }
    // An error's message follows its "disabled" line at once.
    const auto message_end = Clock::now() + kMessageWait;
    for (auto disable = find_kernel_disable(records_);
         disable && disable->message.empty() &&
         kind_of_reason(disable->reason) != wire::Detail::SCHEDULER_EXITED && Clock::now() < message_end;
         disable = find_kernel_disable(records_)) {
      (void)poll_until(fds, message_end, kStatePoll);
      collect_kmsg();
    }
    if (pidfd_readable()) {
      reap();
    }
    auto death = classify_death(find_kernel_disable(records_), process_end_);
    death.detected_us = detected_us;
    return death;
  }

  void reap() {
    if (process_end_) {
      return;
    }
    if (auto report = process_->wait(kReportBudget)) {
      process_end_ = end_of(*report);
    }
  }

 public:
  SchedulerDeath settle_death(std::chrono::milliseconds budget) override {
    if (!death_) {
      return SchedulerDeath{};
    }
    if (!process_end_) {
      std::array<pollfd, 2> fds{pollfd{pidfd_.get(), POLLIN, 0}, pollfd{pidfd_.get(), POLLIN, 0}};
      const auto end = Clock::now() + budget;
      while (!pidfd_readable() && Clock::now() < end) {
        (void)poll_until(fds, end, budget);
      }
      if (pidfd_readable()) {
        reap();
      }
      collect_kmsg();
      auto settled = classify_death(find_kernel_disable(records_), process_end_);
      settled.detected_us = death_->detected_us;
      death_ = std::move(settled);
    }
    return *death_;
  }

 private:
  SchedulerRequest request_;
  std::unique_ptr<Payload> process_;
  UniqueFd pidfd_;
  KmsgWatch kmsg_;
  std::filesystem::path dir_;
  std::string ops_;
  std::chrono::microseconds attach_time_;
  std::vector<KmsgRecord> records_;  // sched_ext's, since the attach
  std::optional<ProcessEnd> process_end_;
  std::function<void(std::uint64_t)> on_detected_;
  std::optional<SchedulerDeath> death_;
  bool detached_ = false;
};

}  // namespace

std::uint64_t monotonic_us() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
}

Result<std::unique_ptr<Scheduler>> ForkSchedulerLauncher::attach(const SchedulerRequest& request) {
  const auto dir = paths_.sys_root / "kernel" / "sched_ext";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail("the kernel lacks sched_ext ({} does not exist; CONFIG_SCHED_CLASS_EXT is off)",
                dir.string());
  }
  if (const auto state = read_state(dir); state.empty()) {
    return fail("cannot read {}: the sched_ext state is unknown", (dir / "state").string());
  } else if (state != "disabled") {
    return fail("another sched_ext scheduler is attached (state {}, ops '{}')", state, read_ops(dir));
  }
  auto kmsg = KmsgWatch::open(paths_.kmsg);
  if (!kmsg) {
    return Unexpected{std::move(kmsg).error()};
  }

  PayloadRequest spawn;
  spawn.id = request.name;
  spawn.decl.set_name(request.name);
  spawn.decl.set_kind(scenario::SCHEDULER);
  spawn.guest_path = request.guest_path;
  spawn.args = request.args;
  spawn.scheduler = true;
  const auto started = Clock::now();
  auto process = processes_.start(spawn);
  if (!process) {
    return Unexpected{std::move(process).error()};
  }
  UniqueFd pidfd = open_pidfd((*process)->pid());

  std::array<pollfd, 2> fds{pollfd{pidfd.get(), POLLIN, 0}, pollfd{kmsg->fd(), POLLIN, 0}};
  const auto deadline = started + request.attach_timeout;
  for (;;) {
    // No pidfd: the process was gone (and reaped) before it could be opened.
    const bool exited = !pidfd || readable(pidfd.get());
    if (read_state(dir) == "enabled") {
      if (auto ops = read_ops(dir); !ops.empty()) {
        const auto attach_time =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
        return std::unique_ptr<Scheduler>{std::make_unique<ForkScheduler>(request, std::move(*process),
                                                                          std::move(pidfd), std::move(*kmsg),
                                                                          dir, std::move(ops), attach_time)};
      }
    }
    if (exited) {
      auto report = (*process)->wait(kReportBudget);
      const std::string how = report ? describe_process_end(*end_of(*report)) : "exited";
      const std::string tail = report ? stderr_excerpt(report->stderr_tail()) : std::string{};
      if (is_verifier_rejection(tail)) {
        return fail("rejected by the verifier: it {} before attaching; its stderr:\n{}", how, tail);
      }
      return fail("died before attaching: it {}{}{}", how, tail.empty() ? "" : "; its stderr:\n", tail);
    }
    if (Clock::now() >= deadline) {
      const auto state = read_state(dir);
      (void)(*process)->kill();
      return fail("timed out: not attached {} ms after it started (sched_ext state: {})",
                  request.attach_timeout.count(), state);
    }
    (void)poll_until(fds, deadline, 5ms);
  }
}

}  // namespace kstep::guest
