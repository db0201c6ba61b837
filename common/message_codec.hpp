// Typed decoding of wire frames into GuestMessage / HostMessage.
#pragma once

#include <optional>

#include "common/frame_codec.hpp"

namespace kstep {

// Wraps FrameDecoder and parses each payload as `Message`, a protobuf
// envelope with a `body` oneof (kstep::wire::GuestMessage or HostMessage).
template <class Message>
class MessageDecoder {
 public:
  explicit MessageDecoder(std::uint32_t max_payload = kMaxFramePayload) noexcept : frames_(max_payload) {}

  void feed(std::span<const std::byte> bytes) { frames_.feed(bytes); }
  [[nodiscard]] std::span<std::byte> prepare(std::size_t size) { return frames_.prepare(size); }
  void commit(std::size_t written) noexcept { frames_.commit(written); }

  // The next message; nullopt when more bytes are needed. Errors are sticky.
  [[nodiscard]] std::optional<Result<Message, FrameError>> next() {
    if (error_) {
      return Result<Message, FrameError>{Unexpected{*error_}};
    }
    auto frame = frames_.next();
    if (!frame) {
      return std::nullopt;
    }
    if (!*frame) {
      error_ = frame->error();
      return Result<Message, FrameError>{Unexpected{*error_}};
    }
    const FrameView& view = frame->value();
    Message message;
    if (!message.ParseFromArray(view.payload.data(), static_cast<int>(view.payload.size()))) {
      error_ =
          FrameError{FrameErrorKind::kMalformedPayload, view.offset,
                     fmt::format("{} bytes do not parse as {}", view.payload.size(), message.GetTypeName())};
      return Result<Message, FrameError>{Unexpected{*error_}};
    }
    if (message.body_case() == Message::BODY_NOT_SET) {
      error_ = FrameError{FrameErrorKind::kUnknownKind, view.offset,
                          fmt::format("{} carries no message kind this build knows ({} bytes)",
                                      message.GetTypeName(), view.payload.size())};
      return Result<Message, FrameError>{Unexpected{*error_}};
    }
    return Result<Message, FrameError>{std::move(message)};
  }

  [[nodiscard]] Result<void, FrameError> finish() const {
    if (error_) {
      return Unexpected{*error_};
    }
    return frames_.finish();
  }

  [[nodiscard]] std::uint64_t bytes_consumed() const noexcept { return frames_.bytes_consumed(); }

 private:
  FrameDecoder frames_;
  std::optional<FrameError> error_;
};

}  // namespace kstep
