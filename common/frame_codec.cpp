#include "common/frame_codec.hpp"

#include <algorithm>
#include <cstring>

#include <google/protobuf/message_lite.h>

#include "common/crc32c.hpp"

namespace kstep {
namespace {

std::uint32_t load_u32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8U) | static_cast<std::uint8_t>(p[i]);
  }
  return v;
}

std::uint16_t load_u16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(p[0]) |
                                    (static_cast<std::uint8_t>(p[1]) << 8U));
}

void store_u32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<char>((v >> (8U * static_cast<unsigned>(i))) & 0xFFU);
  }
}

void store_u16(char* p, std::uint16_t v) noexcept {
  p[0] = static_cast<char>(v & 0xFFU);
  p[1] = static_cast<char>(v >> 8U);
}

}  // namespace

std::string_view to_string(FrameErrorKind kind) noexcept {
  switch (kind) {
    case FrameErrorKind::kBadMagic: return "bad magic";
    case FrameErrorKind::kUnsupportedVersion: return "unsupported frame version";
    case FrameErrorKind::kOversize: return "oversize frame";
    case FrameErrorKind::kCrcMismatch: return "CRC mismatch";
    case FrameErrorKind::kTruncated: return "truncated frame";
    case FrameErrorKind::kMalformedPayload: return "malformed payload";
    case FrameErrorKind::kUnknownKind: return "unknown message kind";
  }
  return "unknown frame error";
}

std::string FrameError::describe() const {
  return fmt::format("{} at byte offset {}: {}", to_string(kind), offset, detail);
}

void FrameDecoder::compact() {
  if (read_ == 0) {
    return;
  }
  if (read_ != end_) {
    std::memmove(buffer_.data(), buffer_.data() + read_, end_ - read_);
  }
  end_ -= read_;
  read_ = 0;
}

std::span<std::byte> FrameDecoder::prepare(std::size_t size) {
  // Reclaim consumed space before growing, so a long stream of frames keeps
  // the buffer at roughly one frame's size.
  if (buffer_.size() - end_ < size) {
    compact();
  }
  if (buffer_.size() - end_ < size) {
    buffer_.resize(std::max(end_ + size, buffer_.size() * 2));
  }
  return {buffer_.data() + end_, size};
}

void FrameDecoder::commit(std::size_t written) noexcept {
  end_ += std::min(written, buffer_.size() - end_);
}

void FrameDecoder::feed(std::span<const std::byte> bytes) {
  auto space = prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), space.begin());
  commit(bytes.size());
}

Result<FrameView, FrameError> FrameDecoder::fail(FrameErrorKind kind, std::uint64_t offset,
                                                 std::string detail) {
  error_ = FrameError{kind, offset, std::move(detail)};
  return Unexpected{*error_};
}

std::optional<Result<FrameView, FrameError>> FrameDecoder::next() {
  if (error_) {
    return Result<FrameView, FrameError>{Unexpected{*error_}};
  }
  const std::size_t available = end_ - read_;
  const std::byte* header = buffer_.data() + read_;
  // Check the magic as soon as its bytes arrive, so garbage is reported at
  // once rather than after a full header's worth of it.
  const std::size_t magic_bytes = std::min<std::size_t>(available, 4);
  for (std::size_t i = 0; i < magic_bytes; ++i) {
    const auto expected = static_cast<std::byte>((kFrameMagic >> (8U * i)) & 0xFFU);
    if (header[i] != expected) {
      std::uint32_t seen = 0;
      std::memcpy(&seen, header, magic_bytes);
      return fail(FrameErrorKind::kBadMagic, stream_offset_,
                  fmt::format("expected 0x{:08x}, got 0x{:0{}x} ({} bytes)", kFrameMagic, seen,
                              magic_bytes * 2, magic_bytes));
    }
  }
  if (available < kFrameHeaderSize) {
    return std::nullopt;
  }
  const std::uint16_t version = load_u16(header + 4);
  if (version != kFrameVersion) {
    return fail(FrameErrorKind::kUnsupportedVersion, stream_offset_,
                fmt::format("frame version {}, this build speaks {}", version, kFrameVersion));
  }
  const std::uint32_t length = load_u32(header + 8);
  if (length > max_payload_) {
    return fail(FrameErrorKind::kOversize, stream_offset_,
                fmt::format("payload length {} exceeds the cap of {} bytes", length, max_payload_));
  }
  if (available < kFrameHeaderSize + length) {
    return std::nullopt;
  }
  const std::uint32_t expected_crc = load_u32(header + 12);
  std::uint32_t crc = crc32c(std::span{header, 12});
  crc = crc32c_extend(crc, std::span{header + kFrameHeaderSize, length});
  if (crc != expected_crc) {
    return fail(
        FrameErrorKind::kCrcMismatch, stream_offset_,
        fmt::format("header says 0x{:08x}, payload of {} bytes sums to 0x{:08x}", expected_crc, length, crc));
  }
  FrameView view{stream_offset_, std::span{header + kFrameHeaderSize, length}};
  read_ += kFrameHeaderSize + length;
  stream_offset_ += kFrameHeaderSize + length;
  return Result<FrameView, FrameError>{view};
}

Result<void, FrameError> FrameDecoder::finish() const {
  if (error_) {
    return Unexpected{*error_};
  }
  if (read_ != end_) {
    return Unexpected{
        FrameError{FrameErrorKind::kTruncated, stream_offset_,
                   fmt::format("stream ended with {} bytes of an incomplete frame", end_ - read_)}};
  }
  return {};
}

Result<void> append_frame(const google::protobuf::MessageLite& message, std::string& out,
                          std::uint32_t max_payload) {
  const std::size_t length = message.ByteSizeLong();
  if (length > max_payload) {
    return fail("message of {} bytes exceeds the frame cap of {} bytes", length, max_payload);
  }
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderSize + length);
  char* header = out.data() + start;
  store_u32(header, kFrameMagic);
  store_u16(header + 4, kFrameVersion);
  store_u16(header + 6, 0);
  store_u32(header + 8, static_cast<std::uint32_t>(length));
  auto* payload = reinterpret_cast<std::uint8_t*>(header + kFrameHeaderSize);
  message.SerializeWithCachedSizesToArray(payload);
  const auto* bytes = reinterpret_cast<const std::byte*>(header);
  std::uint32_t crc = crc32c(std::span{bytes, 12});
  crc = crc32c_extend(crc, std::span{bytes + kFrameHeaderSize, length});
  store_u32(header + 12, crc);
  return {};
}

}  // namespace kstep
