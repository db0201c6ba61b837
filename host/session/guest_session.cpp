#include "host/session/guest_session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/frame_codec.hpp"
#include "common/message_codec.hpp"
#include "common/protocol.hpp"
#include "common/unique_fd.hpp"
#include "host/vm/child_process.hpp"

namespace kstep::host {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;

constexpr std::size_t kReadChunk = 64 * 1024;
// After QEMU exits, its console pipe and socket reach EOF at once; this only
// bounds the wait should a descendant hold them open.
constexpr std::chrono::milliseconds kDrainLimit{2000};

std::string kind_name(const wire::GuestMessage& message) {
  const auto* field =
      wire::GuestMessage::descriptor()->FindFieldByNumber(static_cast<int>(message.body_case()));
  return field != nullptr ? std::string{field->name()} : "unknown";
}

class Session final : public SessionControl {
 public:
  Session(const SessionLaunch& launch, const SessionOptions& options, GuestDriver& driver)
      : launch_(launch),
        options_(options),
        driver_(driver),
        acceptor_(io_),
        control_(io_),
        console_(io_),
        exit_watch_(io_),
        signals_(io_, SIGINT, SIGTERM),
        inactivity_timer_(io_),
        grace_timer_(io_),
        drain_timer_(io_) {}

  Result<SessionResult> run();

  // SessionControl
  void send(const wire::HostMessage& message) override;
  void request_shutdown(const std::string& reason) override;
  void protocol_error(const std::string& what) override;
  void scenario_failed(const std::string& reason) override { facts_.scenario_failure = reason; }
  void scheduler_failed(const std::string& reason) override { facts_.scheduler_failure = reason; }
  void kernel_unsupported(const std::string& reason) override { facts_.kernel_unsupported = reason; }

 private:
  Result<void> open_logs();
  Result<void> listen();
  Result<void> spawn();
  void start_accept();
  void start_console_read();
  void start_control_read();
  void start_exit_watch();
  void start_signal_watch();
  void note_activity();
  void arm_inactivity_timer();
  void handle_message(wire::GuestMessage& message);
  void handle_hello(const wire::Hello& hello);
  void flush_writes();
  void stop_vm(const char* why);
  void on_qemu_exit();
  void maybe_finish();
  [[nodiscard]] microseconds since_spawn() const {
    return duration_cast<microseconds>(Clock::now() - spawned_at_);
  }

  const SessionLaunch& launch_;
  const SessionOptions& options_;
  GuestDriver& driver_;

  asio::io_context io_;
  local::acceptor acceptor_;
  local::socket control_;
  asio::posix::stream_descriptor console_;
  asio::posix::stream_descriptor exit_watch_;
  asio::signal_set signals_;
  asio::steady_timer inactivity_timer_;
  asio::steady_timer grace_timer_;
  asio::steady_timer drain_timer_;

  std::optional<ChildProcess> qemu_;
  std::ofstream console_log_;
  std::ofstream agent_log_;
  ConsoleScanner scanner_;
  MessageDecoder<wire::GuestMessage> decoder_;
  std::array<char, kReadChunk> console_buffer_{};
  std::deque<std::string> write_queue_;
  bool writing_ = false;

  SessionFacts facts_;
  SessionResult result_;
  Clock::time_point spawned_at_;
  Clock::time_point last_activity_;
  bool qemu_exited_ = false;
  bool console_eof_ = false;
  bool control_closed_ = false;
  bool kill_sent_ = false;
  bool finished_ = false;
};

Result<void> Session::open_logs() {
  console_log_.open(launch_.run_dir / "console.log", std::ios::binary | std::ios::trunc);
  agent_log_.open(launch_.run_dir / "agent.log", std::ios::trunc);
  if (!console_log_ || !agent_log_) {
    return fail("cannot create logs in {}: {}", launch_.run_dir.string(), std::strerror(errno));
  }
  return {};
}

Result<void> Session::listen() {
  boost::system::error_code ec;
  const local::endpoint endpoint{launch_.control_socket.string()};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(1, ec);
  }
  if (ec) {
    return fail("cannot listen on control socket {}: {}", launch_.control_socket.string(), ec.message());
  }
  return {};
}

Result<void> Session::spawn() {
  std::array<int, 2> console_pipe{};
  if (::pipe2(console_pipe.data(), O_CLOEXEC) != 0) {
    return fail("cannot create the console pipe: {}", std::strerror(errno));
  }
  UniqueFd console_read{console_pipe[0]};
  UniqueFd console_write{console_pipe[1]};
  const auto stderr_path = launch_.run_dir / "qemu.log";
  UniqueFd qemu_stderr{::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (!qemu_stderr) {
    return fail("cannot create {}: {}", stderr_path.string(), std::strerror(errno));
  }
  SpawnSpec spec;
  spec.argv = launch_.qemu_argv;
  spec.stdout_fd = console_write.get();
  spec.stderr_fd = qemu_stderr.get();
  auto child = ChildProcess::spawn(spec);
  if (!child) {
    return Unexpected{std::move(child).error()};
  }
  spawned_at_ = Clock::now();
  last_activity_ = spawned_at_;
  qemu_.emplace(std::move(child).value());
  // Only QEMU may hold the write end, or the console never reaches EOF.
  console_write.reset();
  console_.assign(console_read.release());
  UniqueFd pidfd{::fcntl(qemu_->pidfd(), F_DUPFD_CLOEXEC, 0)};
  if (!pidfd) {
    return fail("cannot watch QEMU's pidfd: {}", std::strerror(errno));
  }
  exit_watch_.assign(pidfd.release());
  return {};
}

void Session::note_activity() {
  last_activity_ = Clock::now();
}

void Session::arm_inactivity_timer() {
  inactivity_timer_.expires_at(last_activity_ + options_.inactivity_timeout);
  inactivity_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || finished_ || qemu_exited_) {
      return;
    }
    if (Clock::now() - last_activity_ >= options_.inactivity_timeout) {
      facts_.inactivity_timeout = true;
      stop_vm("no frame and no console output within the timeout");
      return;
    }
    arm_inactivity_timer();  // activity since arming: wait for the new deadline
  });
}

void Session::start_accept() {
  acceptor_.async_accept(control_, [this](const boost::system::error_code& ec) {
    if (ec) {
      return;  // cancelled at the end, or QEMU never connected (its exit ends the run)
    }
    boost::system::error_code ignored;
    acceptor_.close(ignored);  // one guest, one connection
    start_control_read();
    flush_writes();
  });
}

void Session::start_console_read() {
  console_.async_read_some(
      asio::buffer(console_buffer_), [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          console_eof_ = true;
          for (auto& splat : scanner_.finish()) {
            facts_.splats.push_back(splat);
          }
          maybe_finish();
          return;
        }
        note_activity();
        if (!facts_.console_output_seen) {
          facts_.console_output_seen = true;
          result_.first_console_after = since_spawn();
        }
        const std::string_view chunk{console_buffer_.data(), n};
        console_log_.write(chunk.data(), static_cast<std::streamsize>(n));
        console_log_.flush();
        if (options_.echo_console) {
          std::cerr.write(chunk.data(), static_cast<std::streamsize>(n));
        }
        for (auto& splat : scanner_.feed(chunk)) {
          spdlog::error("kernel {} on the console: {}", to_string(splat.kind), splat.line);
          facts_.splats.push_back(splat);
          // A warning leaves the kernel running; anything worse makes the rest of
          // the run meaningless, so stop after the trace has had time to print.
          if (splat.kind != SplatKind::kWarning && !kill_sent_) {
            grace_timer_.expires_after(options_.splat_grace);
            grace_timer_.async_wait([this](const boost::system::error_code& timer_ec) {
              if (!timer_ec) {
                stop_vm("kernel splat");
              }
            });
          }
        }
        start_console_read();
      });
}

void Session::start_control_read() {
  auto space = decoder_.prepare(kReadChunk);
  control_.async_read_some(
      asio::buffer(space.data(), space.size()), [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          control_closed_ = true;
          if (auto end = decoder_.finish(); !end && !facts_.protocol_error && !kill_sent_) {
            protocol_error(end.error().describe());
          }
          maybe_finish();
          return;
        }
        decoder_.commit(n);
        note_activity();
        while (auto next = decoder_.next()) {
          if (!*next) {
            protocol_error(next->error().describe());
            return;
          }
          handle_message(next->value());
          if (facts_.protocol_error) {
            return;
          }
        }
        start_control_read();
      });
}

void Session::handle_message(wire::GuestMessage& message) {
  using Body = wire::GuestMessage::BodyCase;
  switch (message.body_case()) {
    case Body::kHello:
      if (facts_.hello_received) {
        protocol_error("a second Hello frame");
        return;
      }
      handle_hello(message.hello());
      return;
    case Body::kLog:
      agent_log_ << wire::Log::Level_Name(message.log().level()) << ' ' << message.log().text() << '\n';
      agent_log_.flush();
      return;
    case Body::kHeartbeat:
      if (facts_.hello_received) {
        driver_.on_tick(*this);
      }
      return;
    case Body::kFatal:
      facts_.guest_fatal = message.fatal().message();
      spdlog::error("agent: fatal: {}", message.fatal().message());
      return;  // the agent powers off next
    default: break;
  }
  if (!facts_.hello_received) {
    protocol_error(fmt::format("{} frame before Hello", kind_name(message)));
    return;
  }
  driver_.on_message(message, *this);
}

void Session::handle_hello(const wire::Hello& hello) {
  result_.hello_after = since_spawn();
  if (hello.protocol_version() != kProtocolVersion) {
    protocol_error(fmt::format("protocol version mismatch: the guest speaks {}, this host speaks {}",
                               hello.protocol_version(), kProtocolVersion));
    return;
  }
  facts_.hello_received = true;
  result_.hello = hello;
  spdlog::info("guest: {}", describe_hello(hello));
  driver_.on_hello(hello, *this);
}

void Session::send(const wire::HostMessage& message) {
  std::string frame;
  if (auto appended = append_frame(message, frame); !appended) {
    protocol_error(appended.error().message);
    return;
  }
  write_queue_.push_back(std::move(frame));
  flush_writes();
}

void Session::flush_writes() {
  if (writing_ || write_queue_.empty() || !control_.is_open()) {
    return;
  }
  writing_ = true;
  asio::async_write(control_, asio::buffer(write_queue_.front()),
                    [this](const boost::system::error_code& ec, std::size_t /*n*/) {
                      writing_ = false;
                      if (ec) {
                        return;  // the guest is gone; its exit decides the outcome
                      }
                      write_queue_.pop_front();
                      flush_writes();
                    });
}

void Session::request_shutdown(const std::string& reason) {
  if (facts_.shutdown_sent) {
    return;
  }
  wire::HostMessage message;
  message.mutable_shutdown()->set_reason(reason);
  send(message);
  facts_.shutdown_sent = true;
  grace_timer_.expires_after(options_.shutdown_grace);
  grace_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !qemu_exited_) {
      facts_.ignored_shutdown = true;
      stop_vm("the guest did not power off after Shutdown");
    }
  });
}

void Session::protocol_error(const std::string& what) {
  if (!facts_.protocol_error) {
    facts_.protocol_error = what;
    spdlog::error("protocol error: {}", what);
  }
  // The stream cannot be trusted past this point: stop reading it.
  control_closed_ = true;
  stop_vm("protocol error");
}

void Session::stop_vm(const char* why) {
  if (kill_sent_ || qemu_exited_ || !qemu_) {
    return;
  }
  kill_sent_ = true;
  spdlog::debug("stopping the VM: {}", why);
  // Through the pidfd: the child is not reaped yet, and a pidfd can never
  // hit a recycled pid.
  if (auto sent = qemu_->send_signal(SIGKILL); !sent) {
    spdlog::warn("cannot stop QEMU: {}", sent.error().message);
  }
}

void Session::start_exit_watch() {
  exit_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                           if (!ec) {
                             on_qemu_exit();
                           }
                         });
}

void Session::on_qemu_exit() {
  qemu_exited_ = true;
  result_.total = since_spawn();
  const auto status = qemu_->wait();
  result_.qemu_exit = status.describe();
  if (!kill_sent_ && !status.success()) {
    facts_.qemu_failure =
        fmt::format("QEMU {} (see {})", status.describe(), (launch_.run_dir / "qemu.log").string());
  }
  inactivity_timer_.cancel();
  grace_timer_.cancel();
  drain_timer_.expires_after(kDrainLimit);
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      console_eof_ = true;
      control_closed_ = true;
      maybe_finish();
    }
  });
  maybe_finish();
}

void Session::start_signal_watch() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
    if (ec) {
      return;
    }
    spdlog::warn("{} received: stopping the VM", ::strsignal(signal_number));
    facts_.interrupted = true;
    stop_vm("interrupted");
  });
}

void Session::maybe_finish() {
  if (finished_ || !qemu_exited_ || !console_eof_ || (!control_closed_ && control_.is_open())) {
    return;
  }
  finished_ = true;
  io_.stop();
}

Result<SessionResult> Session::run() {
  KSTEP_TRY(open_logs());
  KSTEP_TRY(listen());
  // Signals are claimed before QEMU exists so a Ctrl-C at any point after
  // this reaches the session, which kills and reaps the VM.
  start_signal_watch();
  KSTEP_TRY(spawn());
  start_accept();
  start_console_read();
  start_exit_watch();
  arm_inactivity_timer();
  io_.run();

  if (!qemu_exited_) {
    // io stopped for another reason; never leave the VM behind.
    qemu_->kill_and_reap();
  }
  result_.facts = facts_;
  result_.classification = classify(facts_);
  result_.console_tail = scanner_.tail();
  return std::move(result_);
}

}  // namespace

Result<SessionResult> run_guest_session(const SessionLaunch& launch, const SessionOptions& options,
                                        GuestDriver& driver) {
  Session session{launch, options, driver};
  return session.run();
}

std::string describe_hello(const wire::Hello& hello) {
  const auto& topo = hello.topology();
  std::string controllers;
  for (const auto& name : hello.cgroup_controllers()) {
    controllers += controllers.empty() ? name : " " + name;
  }
  std::string sched_ext = hello.sched_ext().supported() ? hello.sched_ext().state() : "not supported";
  if (!hello.sched_ext().ops().empty()) {
    sched_ext += fmt::format(" ({})", hello.sched_ext().ops());
  }
  return fmt::format(
      "Linux {}, {} CPUs ({} packages, {} cores, {} threads, {} LLCs, {} NUMA nodes), {} MiB, sched_ext {}, "
      "cgroup controllers: {}, agent {} protocol {}",
      hello.kernel_release(), hello.cpu_count(), topo.packages(), topo.cores(), topo.threads(), topo.llcs(),
      topo.numa_nodes(), hello.memory_bytes() >> 20U, sched_ext, controllers.empty() ? "none" : controllers,
      hello.agent_version(), hello.protocol_version());
}

}  // namespace kstep::host
