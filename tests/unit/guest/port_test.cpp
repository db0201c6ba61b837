#include "guest/port.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/unit/guest/wire_peer.hpp"

namespace kstep::guest {
namespace {

using namespace std::chrono_literals;
using testing::HostPeer;
using testing::SocketPair;

wire::GuestMessage big_log(std::size_t size) {
  wire::GuestMessage message;
  message.mutable_log()->set_level(wire::Log::INFO);
  std::string text(size, 'x');
  for (std::size_t i = 0; i < size; ++i) {
    text[i] = static_cast<char>('a' + i % 26);
  }
  message.mutable_log()->set_text(std::move(text));
  return message;
}

// A send buffer far smaller than the frames forces many partial writes and
// EAGAINs; the frames must still arrive whole and in order.
TEST(GuestPort, PartialWritesDeliverWholeFrames) {
  auto pair = SocketPair::make();
  const int small = 4096;
  ASSERT_EQ(::setsockopt(pair.guest.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  Port port{std::move(pair.guest)};
  const auto first = big_log(300'000);
  wire::GuestMessage second;
  second.mutable_heartbeat()->set_uptime_us(42);
  ASSERT_TRUE(port.queue(first));
  ASSERT_TRUE(port.queue(second));

  std::size_t flushes = 0;
  std::thread writer{[&] {
    while (port.has_pending()) {
      auto written = port.flush();
      if (!written) {
        ADD_FAILURE() << written.error().message;
        return;
      }
      ++flushes;
      struct pollfd pfd {
        port.fd(), POLLOUT, 0
      };
      ::poll(&pfd, 1, 1000);
    }
  }};
  HostPeer host{pair.host.get()};
  auto got_first = host.read_message();
  auto got_second = host.read_message();
  writer.join();
  ASSERT_TRUE(got_first && got_second);
  EXPECT_EQ(got_first->log().text(), first.log().text());
  EXPECT_EQ(got_second->heartbeat().uptime_us(), 42U);
  EXPECT_GT(flushes, 1U) << "the test did not exercise partial writes";
  EXPECT_FALSE(port.has_pending());
}

TEST(GuestPort, FlushBlockingWaitsForTheReader) {
  auto pair = SocketPair::make();
  const int small = 4096;
  ASSERT_EQ(::setsockopt(pair.guest.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  Port port{std::move(pair.guest)};
  ASSERT_TRUE(port.queue(big_log(200'000)));
  HostPeer host{pair.host.get()};
  std::optional<wire::GuestMessage> got;
  std::thread reader{[&] { got = host.read_message(); }};
  auto flushed = port.flush_blocking(10s);
  reader.join();
  ASSERT_TRUE(flushed) << flushed.error().message;
  ASSERT_TRUE(got);
  EXPECT_EQ(got->log().text().size(), 200'000U);
}

TEST(GuestPort, FlushBlockingGivesUpWhenNobodyReads) {
  auto pair = SocketPair::make();
  Port port{std::move(pair.guest)};
  ASSERT_TRUE(port.queue(big_log(4U << 20U)));  // more than any socket buffer
  auto flushed = port.flush_blocking(50ms);
  ASSERT_FALSE(flushed);
  EXPECT_NE(flushed.error().message.find("still unsent after 50 ms"), std::string::npos)
      << flushed.error().message;
  EXPECT_TRUE(port.has_pending());
}

TEST(GuestPort, ReceivesFramesAndSeesTheEndOfStream) {
  auto pair = SocketPair::make();
  HostPeer host{pair.host.get()};
  host.send(HostPeer::shutdown("bye"));
  Port port{std::move(pair.guest)};

  auto status = port.receive();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, Port::ReadStatus::kData);
  auto message = port.next_message();
  ASSERT_TRUE(message && *message);
  EXPECT_EQ(message->value().shutdown().reason(), "bye");
  EXPECT_FALSE(port.next_message());

  status = port.receive();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, Port::ReadStatus::kWouldBlock);

  pair.host.reset();
  status = port.receive();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, Port::ReadStatus::kEndOfStream);
}

TEST(GuestPort, WritingToAClosedPeerIsAnError) {
  auto pair = SocketPair::make();
  pair.host.reset();
  Port port{std::move(pair.guest)};
  port.queue_raw("x");
  // write() would raise SIGPIPE; the test runner ignores it only here.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous), 0);
  auto written = port.flush();
  ::sigaction(SIGPIPE, &previous, nullptr);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("writing to the control port"), std::string::npos);
}

}  // namespace
}  // namespace kstep::guest
