// The host end of a socketpair, for tests that talk to Port and Agent: the
// guest side gets a non-blocking fd, the test reads and writes frames here
// with a timeout so a broken agent fails the test instead of hanging it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "common/message_codec.hpp"
#include "common/unique_fd.hpp"
#include "kstep.pb.h"

namespace kstep::guest::testing {

struct SocketPair {
  UniqueFd guest;  // non-blocking, like the opened port
  UniqueFd host;

  static SocketPair make() {
    int fds[2] = {-1, -1};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    EXPECT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    return SocketPair{UniqueFd{fds[0]}, UniqueFd{fds[1]}};
  }
};

class HostPeer {
 public:
  explicit HostPeer(int fd) : fd_(fd) {}

  // The next GuestMessage, or nullopt on timeout, EOF or a decode error
  // (reported as a test failure).
  std::optional<wire::GuestMessage> read_message(std::chrono::milliseconds timeout = std::chrono::seconds{
                                                     10}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto message = decoder_.next()) {
        if (!*message) {
          ADD_FAILURE() << "guest sent an undecodable frame: " << message->error().describe();
          return std::nullopt;
        }
        return std::move(*message).value();
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      struct pollfd pfd {
        fd_, POLLIN, 0
      };
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
        return std::nullopt;
      }
      char buffer[4096];
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) {
        return std::nullopt;
      }
      decoder_.feed(std::as_bytes(std::span{buffer, static_cast<std::size_t>(n)}));
    }
  }

  // Next message that is not a Heartbeat.
  std::optional<wire::GuestMessage> read_non_heartbeat() {
    for (;;) {
      auto message = read_message();
      if (!message || !message->has_heartbeat()) {
        return message;
      }
    }
  }

  void write_raw(const std::string& bytes) {
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  void send(const wire::HostMessage& message) {
    std::string frame;
    ASSERT_TRUE(append_frame(message, frame));
    write_raw(frame);
  }

  static wire::HostMessage shutdown(const std::string& reason) {
    wire::HostMessage message;
    message.mutable_shutdown()->set_reason(reason);
    return message;
  }

 private:
  int fd_;
  MessageDecoder<wire::GuestMessage> decoder_;
};

}  // namespace kstep::guest::testing
