#include "guest/port.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace kstep::guest {

Result<void> Port::queue(const wire::GuestMessage& message) {
  return append_frame(message, out_);
}

void Port::queue_raw(std::string_view bytes) {
  out_.append(bytes);
}

Result<std::size_t> Port::flush() {
  std::size_t written = 0;
  while (has_pending()) {
    const ssize_t n = ::write(fd_.get(), out_.data() + sent_, out_.size() - sent_);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      return fail("writing to the control port: {}", std::strerror(errno));
    }
    sent_ += static_cast<std::size_t>(n);
    written += static_cast<std::size_t>(n);
  }
  // Drop what was sent once the buffer is drained (or mostly sent), so it
  // does not grow with every heartbeat over a long run.
  if (sent_ == out_.size()) {
    out_.clear();
    sent_ = 0;
  } else if (sent_ > (64U << 10U) && sent_ > out_.size() / 2) {
    out_.erase(0, sent_);
    sent_ = 0;
  }
  return written;
}

Result<void> Port::flush_blocking(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto written = flush();
    if (!written) {
      return Unexpected{std::move(written).error()};
    }
    if (!has_pending()) {
      return {};
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return fail("writing to the control port: {} bytes still unsent after {} ms (is the host reading?)",
                  pending_bytes(), timeout.count());
    }
    struct pollfd pfd {
      fd_.get(), POLLOUT, 0
    };
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      return fail("waiting to write to the control port: {}", std::strerror(errno));
    }
    if (ready > 0 && (pfd.revents & POLLOUT) == 0 && (pfd.revents & POLLHUP) != 0) {
      // A virtio port whose host side is not connected (yet) reports POLLHUP
      // without POLLOUT, immediately: wait a little instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
  }
}

Result<Port::ReadStatus> Port::receive() {
  constexpr std::size_t kChunk = 64U << 10U;
  for (;;) {
    const std::span<std::byte> buffer = decoder_.prepare(kChunk);
    const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      return ReadStatus::kData;
    }
    decoder_.commit(0);
    if (n == 0) {
      return ReadStatus::kEndOfStream;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return ReadStatus::kWouldBlock;
    }
    return fail("reading from the control port: {}", std::strerror(errno));
  }
}

}  // namespace kstep::guest
