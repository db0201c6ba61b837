#include "guest/agent.hpp"

#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "guest/system_info.hpp"

namespace kstep::guest {

namespace {

using Clock = std::chrono::steady_clock;

AgentStop stop(StopReason reason, std::string detail) {
  return AgentStop{reason, std::move(detail)};
}

}  // namespace

std::string_view to_string(StopReason reason) noexcept {
  switch (reason) {
    case StopReason::kShutdown: return "shutdown";
    case StopReason::kHostGone: return "host gone";
    case StopReason::kProtocolError: return "protocol error";
    case StopReason::kInternalError: return "internal error";
  }
  return "unknown";
}

Result<Agent> Agent::create(Port& port, PowerControl& power, AgentOptions options,
                            ScenarioEntry scenario_entry) {
  if (options.heartbeat_interval.count() <= 0) {
    return fail("heartbeat interval must be positive, not {} ms", options.heartbeat_interval.count());
  }
  UniqueFd timer{::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)};
  if (!timer) {
    return fail("timerfd_create: {}", std::strerror(errno));
  }
  auto reaper = ChildReaper::create();
  if (!reaper) {
    return Unexpected{std::move(reaper).error()};
  }
  return Agent{port, power, options, std::move(timer), std::move(*reaper), std::move(scenario_entry)};
}

Result<void> Agent::say_hello(const wire::Hello& hello) {
  wire::GuestMessage message;
  *message.mutable_hello() = hello;
  KSTEP_TRY(port_->queue(message));
  auto sent = port_->flush_blocking(options_.send_timeout);
  if (!sent) {
    return Unexpected{sent.error().context("sending Hello")};
  }
  return {};
}

AgentStop Agent::run() {
  // Armed only now: a heartbeat must never precede Hello.
  const auto interval = options_.heartbeat_interval;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(interval);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(interval - seconds);
  struct itimerspec spec {};
  spec.it_interval.tv_sec = seconds.count();
  spec.it_interval.tv_nsec = nanos.count();
  spec.it_value = spec.it_interval;
  std::optional<AgentStop> result;
  if (::timerfd_settime(timer_.get(), 0, &spec, nullptr) != 0) {
    result = stop(StopReason::kInternalError, fmt::format("timerfd_settime: {}", std::strerror(errno)));
  }
  last_write_progress_ = Clock::now();
  while (!result) {
    result = step();
  }
  finish(*result);
  return std::move(*result);
}

std::optional<AgentStop> Agent::step() {
  const int scenario_fd = scenario_ ? scenario_->fd() : -1;
  std::array<struct pollfd, 4> fds{{
      {port_->fd(), static_cast<short>(POLLIN | (port_->has_pending() ? POLLOUT : 0)), 0},
      {reaper_.fd(), POLLIN, 0},
      {timer_.get(), POLLIN, 0},
      {scenario_fd, POLLIN, 0},  // poll ignores a negative fd
  }};
  if (::poll(fds.data(), fds.size(), -1) < 0) {
    if (errno == EINTR) {
      return std::nullopt;
    }
    return stop(StopReason::kInternalError, fmt::format("poll: {}", std::strerror(errno)));
  }
  if (fds[3].revents != 0) {
    if (auto done = on_scenario_readable()) {
      return done;
    }
  }
  if (fds[1].revents != 0) {
    if (auto done = on_children_exited()) {
      return done;
    }
  }
  if (fds[2].revents != 0) {
    if (auto done = on_timer()) {
      return done;
    }
  }
  if (fds[0].revents != 0) {
    if (auto done = on_port_ready(fds[0].revents)) {
      return done;
    }
  }
  return flush_output();
}

std::optional<AgentStop> Agent::on_port_ready(short revents) {
  if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
    return std::nullopt;  // POLLOUT only; flush_output() handles it
  }
  for (;;) {
    auto status = port_->receive();
    if (!status) {
      return stop(StopReason::kHostGone, status.error().message);
    }
    while (auto message = port_->next_message()) {
      if (!*message) {
        return stop(StopReason::kProtocolError,
                    fmt::format("undecodable frame from the host: {}", message->error().describe()));
      }
      const wire::HostMessage& host = message->value();
      switch (host.body_case()) {
        case wire::HostMessage::kShutdown: {
          const std::string& reason = host.shutdown().reason();
          if (auto done = queue_log(wire::Log::INFO, fmt::format("shutdown requested: {}", reason))) {
            return done;
          }
          return stop(StopReason::kShutdown, reason);
        }
        case wire::HostMessage::kRunScenario:
          if (auto done = on_run_scenario(host.run_scenario())) {
            return done;
          }
          break;
        case wire::HostMessage::kAccessorReady:
        case wire::HostMessage::kBpfMapWrite:
        case wire::HostMessage::kBpfWriteDone:
        case wire::HostMessage::kDumpRequest:
          if (auto done = forward_to_scenario(host)) {
            return done;
          }
          break;
        case wire::HostMessage::BODY_NOT_SET: break;  // MessageDecoder rejects it before here
      }
    }
    switch (*status) {
      case Port::ReadStatus::kData: continue;
      case Port::ReadStatus::kEndOfStream:
        return stop(StopReason::kHostGone, "the host closed the control port");
      case Port::ReadStatus::kWouldBlock:
        if ((revents & (POLLHUP | POLLERR)) != 0) {
          // Hung up with nothing left to read: polling again would spin.
          return stop(StopReason::kHostGone, "the control port hung up");
        }
        return std::nullopt;
    }
  }
}

std::optional<AgentStop> Agent::on_timer() {
  std::uint64_t expirations = 0;
  // Several missed periods still send one heartbeat: it says "alive now".
  if (::read(timer_.get(), &expirations, sizeof expirations) < 0 && errno != EAGAIN && errno != EINTR) {
    return stop(StopReason::kInternalError,
                fmt::format("reading the heartbeat timer: {}", std::strerror(errno)));
  }
  wire::GuestMessage message;
  message.mutable_heartbeat()->set_uptime_us(boot_time_us());
  return queue(message);
}

std::optional<AgentStop> Agent::on_run_scenario(const wire::RunScenario& run) {
  if (!scenario_entry_) {
    return stop(StopReason::kProtocolError, "this agent cannot run scenarios");
  }
  waiting_runs_.push_back(run);
  return scenario_ ? std::nullopt : start_next_scenario();
}

std::optional<AgentStop> Agent::forward_to_scenario(const wire::HostMessage& message) {
  if (scenario_) {
    if (auto forwarded = scenario_->forward(message); forwarded) {
      return std::nullopt;
    } else {
      return queue_log(wire::Log::WARN,
                       forwarded.error().context("a host handshake frame was dropped").message);
    }
  }
  if (message.has_dump_request()) {
    // Nothing holds maps: an empty answer, so the host does not wait.
    wire::GuestMessage answer;
    answer.mutable_bpf_map_dump()->set_request(message.dump_request().request());
    return queue(answer);
  }
  return queue_log(wire::Log::WARN, "a host handshake frame came while no scenario runs: dropped");
}

std::optional<AgentStop> Agent::start_next_scenario() {
  while (!scenario_ && !waiting_runs_.empty()) {
    const wire::RunScenario run = std::move(waiting_runs_.front());
    waiting_runs_.pop_front();
    auto started = ScenarioProcess::start(run, scenario_entry_);
    if (started) {
      scenario_ = std::move(*started);
      continue;
    }
    // The host still gets a verdict for this run.
    if (auto done = queue_log(wire::Log::ERROR, started.error().message)) {
      return done;
    }
    if (auto done = queue(ScenarioProcess::ending_for_death(0))) {
      return done;
    }
  }
  return std::nullopt;
}

std::optional<AgentStop> Agent::on_scenario_readable() {
  return relay(scenario_->read_available());
}

std::optional<AgentStop> Agent::on_children_exited() {
  for (const ChildExit& exit : reaper_.reap()) {
    if (!scenario_ || exit.pid != scenario_->pid()) {
      continue;  // an orphan, or a child of a test: reaped, nothing more
    }
    if (auto done = relay(scenario_->drain())) {
      return done;
    }
    if (!scenario_->ended()) {
      if (auto done = queue(ScenarioProcess::ending_for_death(exit.status))) {
        return done;
      }
    }
    scenario_.reset();
    if (auto done = start_next_scenario()) {
      return done;
    }
  }
  return std::nullopt;
}

std::optional<AgentStop> Agent::relay(Result<std::vector<wire::GuestMessage>> messages) {
  if (!messages) {
    return stop(StopReason::kInternalError, messages.error().message);
  }
  for (const auto& message : *messages) {
    if (auto done = queue(message)) {
      return done;
    }
  }
  return std::nullopt;
}

std::optional<AgentStop> Agent::queue(const wire::GuestMessage& message) {
  if (!port_->has_pending()) {
    // The stall clock measures from when output became pending.
    last_write_progress_ = Clock::now();
  }
  if (auto queued = port_->queue(message); !queued) {
    return stop(StopReason::kInternalError, queued.error().message);
  }
  return std::nullopt;
}

std::optional<AgentStop> Agent::queue_log(wire::Log::Level level, std::string text) {
  wire::GuestMessage message;
  message.mutable_log()->set_level(level);
  message.mutable_log()->set_text(std::move(text));
  return queue(message);
}

std::optional<AgentStop> Agent::flush_output() {
  if (!port_->has_pending()) {
    return std::nullopt;
  }
  auto written = port_->flush();
  if (!written) {
    return stop(StopReason::kHostGone, written.error().message);
  }
  const auto now = Clock::now();
  if (*written > 0) {
    last_write_progress_ = now;
  } else if (port_->has_pending() && now - last_write_progress_ > options_.write_stall_timeout) {
    return stop(
        StopReason::kHostGone,
        fmt::format(
            "the host stopped reading: {} bytes unsent for {} ms", port_->pending_bytes(),
            std::chrono::duration_cast<std::chrono::milliseconds>(now - last_write_progress_).count()));
  }
  return std::nullopt;
}

void Agent::finish(const AgentStop& stop) noexcept {
  try {
    if (stop.reason == StopReason::kProtocolError || stop.reason == StopReason::kInternalError) {
      wire::GuestMessage message;
      message.mutable_fatal()->set_message(stop.detail);
      (void)port_->queue(message);
    }
    if (stop.reason != StopReason::kHostGone) {
      // Best effort: the host may already be gone; power-off goes ahead.
      (void)port_->flush_blocking(options_.send_timeout);
    }
  } catch (...) {
    // Out of memory while framing the last words: power off regardless.
  }
  power_->stop_processes(options_.stop_grace);
  power_->power_off();
}

}  // namespace kstep::guest
