#include "guest/scenario_process.hpp"

#include "common/frame_codec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace kstep::guest {
namespace {

// How long a forwarded frame may wait for room in the socket.
constexpr int kForwardWaitMs = 1000;

}  // namespace

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  }
  return fmt::format("ended with wait status {:#x}", status);
}

Result<std::unique_ptr<ScenarioProcess>> ScenarioProcess::start(const wire::RunScenario& run,
                                                                const ScenarioEntry& entry) {
  std::array<int, 2> pair{-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0) {
    return fail("socketpair for the scenario process: {}", std::strerror(errno));
  }
  UniqueFd ours{pair[0]};
  UniqueFd theirs{pair[1]};
  const pid_t pid = ::fork();
  if (pid < 0) {
    return fail("fork of the scenario process: {}", std::strerror(errno));
  }
  if (pid == 0) {
    ours.reset();
    int status = 1;
    try {
      // The agent blocks SIGCHLD for its signalfd; the executor waits for
      // its children by pid and payloads need a default mask.
      sigset_t none;
      sigemptyset(&none);
      ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
      status = entry(run, theirs.get());
    } catch (...) {
      status = 2;
    }
    ::_exit(status);
  }
  theirs.reset();
  if (::fcntl(ours.get(), F_SETFL, O_NONBLOCK) != 0) {
    ::kill(pid, SIGKILL);
    return fail("making the scenario socket non-blocking: {}", std::strerror(errno));
  }
  return std::make_unique<ScenarioProcess>(pid, std::move(ours));
}

ScenarioProcess::~ScenarioProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
  }
}

Result<std::vector<wire::GuestMessage>> ScenarioProcess::read_available() {
  std::vector<wire::GuestMessage> messages;
  while (fd_) {
    auto buffer = decoder_.prepare(64 * 1024);
    const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        break;
      }
      return fail("reading the scenario process's frames: {}", std::strerror(errno));
    }
    if (n == 0) {
      fd_.reset();
      break;
    }
    decoder_.commit(static_cast<std::size_t>(n));
    while (auto message = decoder_.next()) {
      if (!*message) {
        return fail("the scenario process sent an undecodable frame: {}", message->error().describe());
      }
      if (message->value().has_scenario_end()) {
        ended_ = true;
      }
      messages.push_back(std::move(message->value()));
    }
  }
  return messages;
}

Result<void> ScenarioProcess::forward(const wire::HostMessage& message) {
  if (!fd_ || exited_) {
    return fail("the scenario process has ended");
  }
  std::string frame;
  KSTEP_TRY(append_frame(message, frame));
  std::size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t n = ::send(fd_.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        // A frame must go out whole or the stream is lost: give the reader
        // a moment.
        struct pollfd writable {
          fd_.get(), POLLOUT, 0
        };
        if (::poll(&writable, 1, kForwardWaitMs) > 0) {
          continue;
        }
      }
      return fail("writing to the scenario process: {}", std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

Result<std::vector<wire::GuestMessage>> ScenarioProcess::drain() {
  exited_ = true;
  // The process is gone, so the socket holds all it will ever hold: clear
  // O_NONBLOCK is unnecessary, reading until EAGAIN/EOF gets everything.
  auto messages = read_available();
  fd_.reset();
  return messages;
}

wire::GuestMessage ScenarioProcess::ending_for_death(int status) {
  wire::GuestMessage message;
  auto* end = message.mutable_scenario_end();
  end->set_passed(false);
  auto* detail = end->add_details();
  detail->set_kind(wire::Detail::STEP_FAILED);
  detail->set_message(
      fmt::format("the scenario process {} before the scenario ended", describe_wait_status(status)));
  return message;
}

}  // namespace kstep::guest
