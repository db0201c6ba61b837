// libFuzzer target for the wire decoder (MessageDecoder<GuestMessage>).
//
// The input's first bytes choose how the stream is chunked and the payload
// cap (tests/fuzz/fuzz_input.hpp); the rest is the byte stream. Besides the
// sanitizers' checks, the decoder's contracts are asserted, trapping on any
// violation:
//   - an error is sticky: next() and finish() repeat its kind and offset,
//     also after more bytes arrive;
//   - error offset <= bytes_consumed() <= bytes fed;
//   - finish() fails with kTruncated exactly when a clean stream left bytes;
//   - the outcome (messages, error kind and offset) does not depend on how
//     the stream was split;
//   - every decoded message has a kind and survives encode/decode unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "common/frame_codec.hpp"
#include "common/message_codec.hpp"
#include "kstep.pb.h"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using kstep::FrameError;
using kstep::MessageDecoder;
using kstep::wire::GuestMessage;

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

bool same_error(const FrameError& a, const FrameError& b) {
  return a.kind == b.kind && a.offset == b.offset;
}

struct Outcome {
  std::vector<std::string> messages;  // serialized
  std::optional<FrameError> error;
};

void check_sticky(MessageDecoder<GuestMessage>& decoder, const FrameError& error) {
  auto again = decoder.next();
  check(again.has_value() && !again->ok() && same_error(again->error(), error));
  auto end = decoder.finish();
  check(!end.ok() && same_error(end.error(), error));
}

void check_round_trip(const GuestMessage& message) {
  check(message.body_case() != GuestMessage::BODY_NOT_SET);
  std::string frame;
  if (!kstep::append_frame(message, frame).ok()) {
    return;  // re-encoding may exceed the default cap only if the input did too
  }
  MessageDecoder<GuestMessage> decoder;
  decoder.feed(std::as_bytes(std::span{frame.data(), frame.size()}));
  auto back = decoder.next();
  check(back.has_value() && back->ok());
  check(back->value().SerializeAsString() == message.SerializeAsString());
  check(!decoder.next().has_value() && decoder.finish().ok());
}

Outcome run(const kstep::fuzz::FuzzPlan& plan, bool split, bool check_messages) {
  MessageDecoder<GuestMessage> decoder(plan.max_payload);
  Outcome out;
  std::size_t fed = 0;
  std::size_t chunk_index = 0;
  const auto stream = plan.stream;
  while (fed < stream.size()) {
    std::size_t n = stream.size() - fed;
    if (split && !plan.chunk_sizes.empty()) {
      n = std::min(n, plan.chunk_sizes[chunk_index++ % plan.chunk_sizes.size()]);
    }
    if (plan.zero_copy && split) {
      auto space = decoder.prepare(n + 3);
      check(space.size() == n + 3);
      std::memcpy(space.data(), stream.data() + fed, n);
      decoder.commit(n);
    } else {
      decoder.feed(stream.subspan(fed, n));
    }
    fed += n;
    if (out.error) {
      check_sticky(decoder, *out.error);
      continue;
    }
    while (auto next = decoder.next()) {
      check(decoder.bytes_consumed() <= fed);
      if (!*next) {
        out.error = next->error();
        check(out.error->offset <= decoder.bytes_consumed());
        check_sticky(decoder, *out.error);
        break;
      }
      if (check_messages) {
        check_round_trip(next->value());
      }
      out.messages.push_back(next->value().SerializeAsString());
    }
  }
  check(decoder.bytes_consumed() <= fed);
  if (!out.error) {
    auto end = decoder.finish();
    const bool clean = decoder.bytes_consumed() == fed;
    check(end.ok() == clean);
    if (!end.ok()) {
      check(end.error().kind == kstep::FrameErrorKind::kTruncated);
      check(end.error().offset == decoder.bytes_consumed());
      out.error = end.error();
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Payloads with invalid UTF-8 make protobuf log each parse failure.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto plan = kstep::fuzz::parse_plan(std::as_bytes(std::span{data, size}));
  const Outcome chunked = run(plan, true, true);
  const Outcome whole = run(plan, false, false);
  check(chunked.messages == whole.messages);
  check(chunked.error.has_value() == whole.error.has_value());
  if (chunked.error) {
    check(same_error(*chunked.error, *whole.error));
  }
  return 0;
}
