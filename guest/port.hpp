// Port: the framed, non-blocking duplex over the control port's fd.
//
// Outgoing messages are framed into a send buffer and written as the fd
// accepts them, so a partial write, EINTR or EAGAIN never loses or splits a
// frame, and the agent's loop never blocks on a host that is slow to read.
// Incoming bytes go straight into a MessageDecoder.
//
// The virtio port has two quirks this class absorbs: until the host side is
// connected, poll() reports POLLHUP and writes would block; once connected,
// read() returning 0 means the host went away.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "common/message_codec.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "kstep.pb.h"

namespace kstep::guest {

class Port {
 public:
  // `fd` must be non-blocking (open_port() opens it so); the Port owns it.
  explicit Port(UniqueFd fd) noexcept : fd_(std::move(fd)) {}

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

  // Frames `message` into the send buffer; nothing is written yet.
  [[nodiscard]] Result<void> queue(const wire::GuestMessage& message);
  // Raw bytes into the send buffer (test agents use this to misbehave).
  void queue_raw(std::string_view bytes);

  [[nodiscard]] bool has_pending() const noexcept { return sent_ < out_.size(); }
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return out_.size() - sent_; }

  // Writes as much of the send buffer as the fd takes without blocking.
  // Returns the number of bytes written (0 when the fd is full).
  [[nodiscard]] Result<std::size_t> flush();

  // Writes the whole send buffer, waiting for the fd (and, on a virtio port,
  // for the host to connect) at most `timeout`.
  [[nodiscard]] Result<void> flush_blocking(std::chrono::milliseconds timeout);

  enum class ReadStatus { kData, kWouldBlock, kEndOfStream };

  // One read() into the decoder.
  [[nodiscard]] Result<ReadStatus> receive();

  // The next decoded message, as MessageDecoder::next().
  [[nodiscard]] std::optional<Result<wire::HostMessage, FrameError>> next_message() {
    return decoder_.next();
  }

 private:
  UniqueFd fd_;
  std::string out_;
  std::size_t sent_ = 0;  // bytes of out_ already written
  MessageDecoder<wire::HostMessage> decoder_;
};

}  // namespace kstep::guest
