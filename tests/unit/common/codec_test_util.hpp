// Helpers shared by the wire codec tests: message builders, a frame writer
// that does not go through append_frame (so the two can check each other),
// and a drain loop over MessageDecoder.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/crc32c.hpp"
#include "common/frame_codec.hpp"
#include "common/message_codec.hpp"
#include "kstep.pb.h"

namespace kstep::test {

inline std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span{text.data(), text.size()});
}

inline void put_u32(std::string& out, std::uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
  }
}

inline void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFFU));
  out.push_back(static_cast<char>(v >> 8U));
}

// A frame written byte by byte from the header layout documented in
// common/frame_codec.hpp. `length` defaults to the payload's size; the CRC
// is always computed over what is written, so an inconsistent length yields
// a frame whose CRC is right for its header but whose payload is short/long.
inline std::string raw_frame(std::string_view payload, std::uint16_t version = kFrameVersion,
                             std::uint16_t flags = 0, std::optional<std::uint32_t> length = std::nullopt) {
  std::string frame;
  put_u32(frame, kFrameMagic);
  put_u16(frame, version);
  put_u16(frame, flags);
  put_u32(frame, length.value_or(static_cast<std::uint32_t>(payload.size())));
  std::uint32_t crc = crc32c(bytes_of(frame));
  crc = crc32c_extend(crc, bytes_of(payload));
  put_u32(frame, crc);
  frame.append(payload);
  return frame;
}

inline std::string encode(const google::protobuf::MessageLite& message) {
  std::string out;
  auto r = append_frame(message, out);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return out;
}

inline wire::GuestMessage make_hello() {
  wire::GuestMessage m;
  auto* hello = m.mutable_hello();
  hello->set_protocol_version(1);
  hello->set_agent_version("kstep-init 0.1.0");
  hello->set_kernel_release("6.12.0-rc1-sched-ext");
  hello->set_cpu_count(4);
  hello->set_memory_bytes(2ULL << 30U);
  hello->set_uptime_us(1'234'567);
  auto* topo = hello->mutable_topology();
  topo->set_packages(1);
  topo->set_cores(2);
  topo->set_threads(4);
  topo->set_llcs(1);
  topo->set_numa_nodes(1);
  for (std::uint32_t cpu = 0; cpu < 4; ++cpu) {
    auto* p = topo->add_cpus();
    p->set_cpu(cpu);
    p->set_core(cpu / 2);
  }
  hello->mutable_sched_ext()->set_supported(true);
  hello->mutable_sched_ext()->set_state("disabled");
  hello->add_cgroup_controllers("cpu");
  hello->add_cgroup_controllers("cpuset");
  return m;
}

inline wire::GuestMessage make_log(std::string text, wire::Log::Level level = wire::Log::INFO) {
  wire::GuestMessage m;
  m.mutable_log()->set_level(level);
  m.mutable_log()->set_text(std::move(text));
  return m;
}

inline wire::GuestMessage make_heartbeat(std::uint64_t uptime_us) {
  wire::GuestMessage m;
  m.mutable_heartbeat()->set_uptime_us(uptime_us);
  return m;
}

inline wire::GuestMessage make_fatal(std::string message) {
  wire::GuestMessage m;
  m.mutable_fatal()->set_message(std::move(message));
  return m;
}

inline wire::HostMessage make_shutdown(std::string reason) {
  wire::HostMessage m;
  m.mutable_shutdown()->set_reason(std::move(reason));
  return m;
}

template <class Message>
struct Drained {
  std::vector<Message> messages;
  std::optional<FrameError> error;
};

// Pulls messages until the decoder needs more bytes or fails.
template <class Message>
void drain_into(MessageDecoder<Message>& decoder, Drained<Message>& out) {
  if (out.error) {
    return;
  }
  while (auto next = decoder.next()) {
    if (!*next) {
      out.error = next->error();
      return;
    }
    out.messages.push_back(std::move(*next).value());
  }
}

// Decodes a whole stream fed in one piece, then calls finish().
template <class Message>
Drained<Message> decode_all(std::string_view stream, std::uint32_t max_payload = kMaxFramePayload) {
  MessageDecoder<Message> decoder(max_payload);
  decoder.feed(bytes_of(stream));
  Drained<Message> out;
  drain_into(decoder, out);
  if (!out.error) {
    if (auto end = decoder.finish(); !end) {
      out.error = end.error();
    }
  }
  return out;
}

}  // namespace kstep::test
