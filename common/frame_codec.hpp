// Framing of protobuf messages on a byte stream (the virtio-console port).
//
// A frame is a 16-byte little-endian header followed by the payload:
//
//   offset 0  u32  magic    0x5054534B ("KSTP" in stream order)
//   offset 4  u16  version  kFrameVersion
//   offset 6  u16  flags    reserved, 0
//   offset 8  u32  length   payload bytes, at most the decoder's cap
//   offset 12 u32  crc32c   over header bytes 0..11 and then the payload
//
// The length is checked against the cap before anything is allocated. The
// decoder is incremental: bytes may arrive split at any point and decode the
// same. Every defect is a distinct FrameError naming the stream offset; after
// one, the decoder stays failed (a byte stream cannot be resynchronised
// safely) and keeps returning that error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace google::protobuf {
class MessageLite;
}

namespace kstep {

inline constexpr std::uint32_t kFrameMagic = 0x5054534BU;
inline constexpr std::uint16_t kFrameVersion = 1;
inline constexpr std::size_t kFrameHeaderSize = 16;
// Large enough for a BPF map dump or a long log chunk, small enough that a
// corrupt length cannot make either side allocate without bound.
inline constexpr std::uint32_t kMaxFramePayload = 8U << 20U;

enum class FrameErrorKind {
  kBadMagic,
  kUnsupportedVersion,
  kOversize,
  kCrcMismatch,
  kTruncated,         // the stream ended inside a frame
  kMalformedPayload,  // the payload is not a valid protobuf message
  kUnknownKind,       // the message parsed but carries no body we know
};

[[nodiscard]] std::string_view to_string(FrameErrorKind kind) noexcept;

struct FrameError {
  FrameErrorKind kind;
  std::uint64_t offset;  // stream offset of the frame (or bytes) at fault
  std::string detail;

  [[nodiscard]] std::string describe() const;
};

// A complete frame. `payload` points into the decoder's buffer and is valid
// until the next call to feed(), prepare() or next().
struct FrameView {
  std::uint64_t offset;
  std::span<const std::byte> payload;
};

class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_payload = kMaxFramePayload) noexcept : max_payload_(max_payload) {}

  // Appends bytes received from the stream.
  void feed(std::span<const std::byte> bytes);

  // Zero-copy alternative to feed(): write up to `size` bytes into the
  // returned span, then commit() how many were written.
  [[nodiscard]] std::span<std::byte> prepare(std::size_t size);
  void commit(std::size_t written) noexcept;

  // The next complete frame; nullopt when more bytes are needed.
  [[nodiscard]] std::optional<Result<FrameView, FrameError>> next();

  // To be called at end of stream: fails with kTruncated if a partial frame
  // is buffered, or with the sticky error if the stream already failed.
  [[nodiscard]] Result<void, FrameError> finish() const;

  [[nodiscard]] std::uint64_t bytes_consumed() const noexcept { return stream_offset_; }
  [[nodiscard]] std::size_t bytes_buffered() const noexcept { return end_ - read_; }

 private:
  void compact();
  Result<FrameView, FrameError> fail(FrameErrorKind kind, std::uint64_t offset, std::string detail);

  std::uint32_t max_payload_;
  std::vector<std::byte> buffer_;
  std::size_t read_ = 0;             // first unconsumed byte in buffer_
  std::size_t end_ = 0;              // one past the last valid byte in buffer_
  std::uint64_t stream_offset_ = 0;  // stream offset of buffer_[read_]
  std::optional<FrameError> error_;
};

// Appends one frame holding `message` to `out`. Fails if the serialized
// message exceeds `max_payload`.
Result<void> append_frame(const google::protobuf::MessageLite& message, std::string& out,
                          std::uint32_t max_payload = kMaxFramePayload);

}  // namespace kstep
