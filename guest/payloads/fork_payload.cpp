#include "guest/payloads/fork_payload.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "guest/payloads/json_metrics.hpp"

namespace kstep::guest {

namespace {

using Clock = std::chrono::steady_clock;

// One frame's worth of output: big enough that a chatty payload does not
// turn into a frame per line, small enough to stay far below the frame cap.
constexpr std::size_t kChunk = 64 * 1024;
// The JSON summary is at the end of stdout; 1 MiB holds it with room.
constexpr std::size_t kStdoutTail = 1024 * 1024;
// Enough for a verifier log's end, which says why a program was rejected.
constexpr std::size_t kStderrTail = 16 * 1024;
// How long output may keep coming after the exit: normally EOF is
// immediate (the group is dead); only a process that left the group can
// hold the pipes open, and it must not hold wait() forever.
constexpr auto kDrainGrace = std::chrono::seconds(2);

int send_sigkill(int pidfd) noexcept {
  // glibc 2.36 declares pidfd_send_signal without extern "C"; the syscall is stable.
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0));
}

int wait_pidfd(int pidfd, siginfo_t& info, int options) noexcept {
  int rc = 0;
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, options);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

wire::PayloadOutput::Stream stream_of(std::size_t index) {
  return index == 0 ? wire::PayloadOutput::STDOUT : wire::PayloadOutput::STDERR;
}

}  // namespace

ForkPayload::ForkPayload(PayloadProcess process, const PayloadRequest& request, FrameSink& sink)
    : process_(std::move(process)),
      sink_(sink),
      id_(request.id),
      name_(request.decl.name()),
      cgroup_(request.cgroup),
      json_metrics_(request.decl.json_metrics()),
      scheduler_(request.scheduler) {}

Result<std::unique_ptr<ForkPayload>> ForkPayload::start(PayloadProcess process, const PayloadRequest& request,
                                                        FrameSink& sink) {
  // Nonblocking reads: poll may report a pipe readable that another read
  // drained already; the monitor must never block outside poll.
  for (const int fd : {process.stdout_fd.get(), process.stderr_fd.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  std::unique_ptr<ForkPayload> payload{new ForkPayload(std::move(process), request, sink)};
  try {
    payload->thread_ = std::thread([raw = payload.get()] { raw->monitor(); });
  } catch (const std::system_error& error) {
    // No monitor: kill and reap here, and leave a report so the
    // destructor's kill() returns at once.
    send_sigkill(payload->process_.pidfd.get());
    ::kill(-payload->process_.pid, SIGKILL);
    payload->reap();
    payload->finish();
    return fail("payload '{}': cannot start its output thread: {}", request.id, error.what());
  }
  return payload;
}

ForkPayload::~ForkPayload() {
  static_cast<void>(kill());
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool ForkPayload::exited() {
  const std::lock_guard lock{mutex_};
  return report_.has_value();
}

Result<wire::PayloadReport> ForkPayload::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock{mutex_};
  if (!done_cv_.wait_for(lock, timeout, [this] { return report_.has_value(); })) {
    return fail("payload '{}' (pid {}) still runs after {} ms", id_, process_.pid, timeout.count());
  }
  return *report_;
}

wire::PayloadReport ForkPayload::kill() {
  std::unique_lock lock{mutex_};
  if (!reaped_) {
    // Unreaped, the leader keeps its pid and so its group id reserved:
    // neither signal can reach a stranger.
    send_sigkill(process_.pidfd.get());
    ::kill(-process_.pid, SIGKILL);
  }
  done_cv_.wait(lock, [this] { return report_.has_value(); });
  return *report_;
}

void ForkPayload::monitor() noexcept {
  std::vector<char> buffer(kChunk);
  std::array<pollfd, 3> fds{{
      {process_.stdout_fd.get(), POLLIN, 0},
      {process_.stderr_fd.get(), POLLIN, 0},
      {process_.pidfd.get(), POLLIN, 0},  // readable once the process exits
  }};
  std::optional<Clock::time_point> drain_deadline;
  for (;;) {
    const bool pipes_open = fds[0].fd >= 0 || fds[1].fd >= 0;
    if (drain_deadline && !pipes_open) {
      break;
    }
    int timeout_ms = -1;
    if (drain_deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*drain_deadline - Clock::now());
      if (left.count() <= 0) {
        break;
      }
      timeout_ms = static_cast<int>(left.count());
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno != EINTR) {
        ::usleep(10'000);  // ENOMEM: transient; the payload must still be reaped
      }
      continue;
    }
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        forward(static_cast<int>(i), buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        fds[i].fd = -1;  // EOF: every writer is gone
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      reap();
      fds[2].fd = -1;
      drain_deadline = Clock::now() + kDrainGrace;
    }
  }
  process_.stdout_fd.reset();
  process_.stderr_fd.reset();
  finish();
}

void ForkPayload::reap() noexcept {
  siginfo_t info{};
  // WNOWAIT first: the leader stays a zombie, its group id reserved, while
  // the rest of the group is killed.
  const int rc = wait_pidfd(process_.pidfd.get(), info, WEXITED | WNOWAIT);
  ended_ = Clock::now();
  const std::lock_guard lock{mutex_};
  if (rc == 0) {
    ::kill(-process_.pid, SIGKILL);
    siginfo_t reaped{};
    wait_pidfd(process_.pidfd.get(), reaped, WEXITED);
    exit_info_ = info;
  } else {
    // ECHILD: reaped behind our back. The group id may be free again, so
    // no signal to it; leftovers at worst hold the pipes for kDrainGrace.
    status_lost_ = true;
  }
  reaped_ = true;
}

void ForkPayload::forward(int stream, const char* data, std::size_t size) {
  if (stream == 0) {
    stdout_tail_.append(data, size);
    // Trimmed in big steps, so the copy is amortised over 1 MiB of output.
    if (stdout_tail_.size() > 2 * kStdoutTail) {
      stdout_tail_.erase(0, stdout_tail_.size() - kStdoutTail);
      stdout_cut_ = true;
    }
  } else {
    stderr_tail_.append(data, size);
    if (stderr_tail_.size() > 2 * kStderrTail) {
      stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
    }
  }
  wire::GuestMessage message;
  auto& output = *message.mutable_payload_output();
  output.set_id(id_);
  output.set_stream(stream_of(static_cast<std::size_t>(stream)));
  output.set_data(data, size);
  output.set_scheduler(scheduler_);
  try {
    sink_.send(message);
  } catch (...) {
    // The sink could not take it (the port is gone): this chunk is lost to
    // the host, but the payload must still be drained and reaped.
  }
}

void ForkPayload::finish() {
  wire::PayloadReport report;
  report.set_id(id_);
  report.set_payload(name_);
  report.set_cgroup(cgroup_);
  {
    const std::lock_guard lock{mutex_};
    if (status_lost_) {
      report.set_exit_code(-1);
    } else if (exit_info_.si_code == CLD_EXITED) {
      report.set_exit_code(exit_info_.si_status);
    } else {
      report.set_exit_code(-1);
      report.set_signal(exit_info_.si_status);
    }
  }
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(ended_ - process_.started);
  report.set_wall_time_us(static_cast<std::uint64_t>(std::max<std::int64_t>(wall.count(), 0)));
  if (json_metrics_) {
    const auto metrics = parse_json_metrics(stdout_tail_, stdout_cut_);
    report.mutable_metrics()->insert(metrics.values.begin(), metrics.values.end());
    if (!metrics.found) {
      wire::GuestMessage message;
      auto& log = *message.mutable_log();
      log.set_level(wire::Log::WARN);
      log.set_text(fmt::format(
          "payload '{}' ({}): json_metrics is set, but no line of its stdout is a JSON object", id_, name_));
      try {
        sink_.send(message);
      } catch (...) {
        // Only a warning; the report below still goes out.
      }
    }
  }
  if (stderr_tail_.size() > kStderrTail) {
    stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
  }
  report.set_stderr_tail(std::move(stderr_tail_));
  stdout_tail_.clear();
  stdout_tail_.shrink_to_fit();
  const std::lock_guard lock{mutex_};
  report_ = std::move(report);
  done_cv_.notify_all();
}

}  // namespace kstep::guest
