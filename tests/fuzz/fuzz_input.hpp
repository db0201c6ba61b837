// Layout of a frame-decoder-fuzz input, shared by the fuzzer and the unit
// test that writes and checks the seed corpus.
//
//   byte 0       control: bits 0-2 = n, the number of chunk-size bytes;
//                bit 3 = deliver with prepare()/commit() instead of feed();
//                bits 4-7 = cap selector (0: kMaxFramePayload, s: 16 << s)
//   bytes 1..n   chunk sizes, each byte b meaning b + 1 bytes, used in turn
//                (cyclically); with n = 0 the stream arrives in one piece
//   the rest     the byte stream given to the decoder
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/frame_codec.hpp"

namespace kstep::fuzz {

struct FuzzPlan {
  std::vector<std::size_t> chunk_sizes;  // empty: one piece
  bool zero_copy = false;
  std::uint32_t max_payload = kMaxFramePayload;
  std::span<const std::byte> stream;
};

inline FuzzPlan parse_plan(std::span<const std::byte> input) {
  FuzzPlan plan;
  if (input.empty()) {
    return plan;
  }
  const auto control = static_cast<std::uint8_t>(input[0]);
  input = input.subspan(1);
  const std::size_t n = std::min<std::size_t>(control & 0x7U, input.size());
  for (std::size_t i = 0; i < n; ++i) {
    plan.chunk_sizes.push_back(static_cast<std::size_t>(static_cast<std::uint8_t>(input[i])) + 1);
  }
  plan.zero_copy = (control & 0x8U) != 0;
  if (const unsigned selector = control >> 4U; selector != 0) {
    plan.max_payload = 16U << selector;
  }
  plan.stream = input.subspan(n);
  return plan;
}

// The inverse of parse_plan, for writing seeds. Sizes must be 1..256, at
// most 7 of them; `cap_selector` at most 15.
inline std::string make_input(std::span<const std::size_t> chunk_sizes, bool zero_copy, unsigned cap_selector,
                              std::string_view stream) {
  std::string input;
  input.push_back(
      static_cast<char>((chunk_sizes.size() & 0x7U) | (zero_copy ? 0x8U : 0U) | (cap_selector << 4U)));
  for (std::size_t size : chunk_sizes) {
    input.push_back(static_cast<char>(size - 1));
  }
  input.append(stream);
  return input;
}

}  // namespace kstep::fuzz
