#include "common/frame_codec.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <set>
#include <string>

#include "common/message_codec.hpp"
#include "kstep.pb.h"
#include "tests/unit/common/codec_test_util.hpp"

namespace kstep {
namespace {

using test::bytes_of;
using test::decode_all;
using test::encode;
using test::raw_frame;
using wire::GuestMessage;
using wire::HostMessage;

constexpr FrameErrorKind kAllKinds[] = {
    FrameErrorKind::kBadMagic,    FrameErrorKind::kUnsupportedVersion, FrameErrorKind::kOversize,
    FrameErrorKind::kCrcMismatch, FrameErrorKind::kTruncated,          FrameErrorKind::kMalformedPayload,
    FrameErrorKind::kUnknownKind,
};

// Field 99, wire type varint, value 1: parses as a GuestMessage whose body
// oneof is unset, like a message kind a newer agent added.
const std::string kUnknownFieldPayload = "\x98\x06\x01";

// ---------------------------------------------------------------- round trips

template <class Message>
void expect_round_trip(const Message& original) {
  const std::string stream = encode(original);
  ASSERT_EQ(stream.size(), kFrameHeaderSize + original.ByteSizeLong());
  auto out = decode_all<Message>(stream);
  ASSERT_FALSE(out.error) << out.error->describe();
  ASSERT_EQ(out.messages.size(), 1U);
  EXPECT_EQ(out.messages[0].body_case(), original.body_case());
  EXPECT_EQ(out.messages[0].SerializeAsString(), original.SerializeAsString());
}

TEST(CodecRoundTrip, EachGuestKind) {
  expect_round_trip(test::make_hello());
  expect_round_trip(test::make_log("scheduler attached", wire::Log::WARN));
  expect_round_trip(test::make_heartbeat(987'654'321));
  expect_round_trip(test::make_fatal("cannot mount cgroup2: EBUSY"));
}

TEST(CodecRoundTrip, HostShutdown) {
  expect_round_trip(test::make_shutdown("scenario finished"));
}

TEST(CodecRoundTrip, DefaultValuedBodyStillHasKind) {
  // A heartbeat with uptime 0 serializes to just its tag and a zero length;
  // the kind must survive.
  GuestMessage heartbeat;
  heartbeat.mutable_heartbeat();
  expect_round_trip(heartbeat);
  HostMessage shutdown;
  shutdown.mutable_shutdown();
  expect_round_trip(shutdown);
}

TEST(CodecRoundTrip, HeaderLayoutMatchesHandWrittenFrame) {
  const GuestMessage log = test::make_log("layout");
  EXPECT_EQ(encode(log), raw_frame(log.SerializeAsString()));
  // Magic is "KSTP" in stream order.
  EXPECT_EQ(encode(log).substr(0, 4), "KSTP");
}

TEST(CodecRoundTrip, ManyFramesBackToBack) {
  std::string stream;
  std::vector<GuestMessage> sent;
  for (int i = 0; i < 200; ++i) {
    GuestMessage m = (i % 3 == 0)   ? test::make_heartbeat(static_cast<std::uint64_t>(i))
                     : (i % 3 == 1) ? test::make_log(std::string(static_cast<std::size_t>(i), 'x'))
                                    : test::make_hello();
    stream += encode(m);
    sent.push_back(std::move(m));
  }
  MessageDecoder<GuestMessage> decoder;
  decoder.feed(bytes_of(stream));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto next = decoder.next();
    ASSERT_TRUE(next.has_value()) << "frame " << i;
    ASSERT_TRUE(next->ok()) << next->error().describe();
    EXPECT_EQ(next->value().SerializeAsString(), sent[i].SerializeAsString()) << "frame " << i;
  }
  EXPECT_FALSE(decoder.next().has_value());
  EXPECT_EQ(decoder.bytes_consumed(), stream.size());
  EXPECT_TRUE(decoder.finish().ok());
}

TEST(CodecRoundTrip, FrameViewOffsetsAndPayload) {
  const std::string a = raw_frame("first");
  const std::string b = raw_frame("");
  const std::string c = raw_frame("third!");
  FrameDecoder decoder;
  decoder.feed(bytes_of(a + b + c));
  std::vector<std::pair<std::uint64_t, std::string>> got;
  while (auto frame = decoder.next()) {
    ASSERT_TRUE(frame->ok()) << frame->error().describe();
    const auto payload = frame->value().payload;
    got.emplace_back(frame->value().offset,
                     std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
  }
  const std::vector<std::pair<std::uint64_t, std::string>> want = {
      {0, "first"}, {a.size(), ""}, {a.size() + b.size(), "third!"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(decoder.bytes_consumed(), a.size() + b.size() + c.size());
  EXPECT_EQ(decoder.bytes_buffered(), 0U);
}

TEST(CodecRoundTrip, WaitsForCompleteFrame) {
  const std::string frame = encode(test::make_log("partial"));
  MessageDecoder<GuestMessage> decoder;
  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    decoder.feed(bytes_of(frame).subspan(i, 1));
    ASSERT_FALSE(decoder.next().has_value()) << "after " << i + 1 << " bytes";
    EXPECT_EQ(decoder.bytes_consumed(), 0U);
  }
  decoder.feed(bytes_of(frame).last(1));
  auto next = decoder.next();
  ASSERT_TRUE(next.has_value());
  ASSERT_TRUE(next->ok());
  EXPECT_EQ(next->value().log().text(), "partial");
}

// ---------------------------------------------------------------- bad magic

void expect_error(const std::optional<FrameError>& error, FrameErrorKind kind, std::uint64_t offset) {
  ASSERT_TRUE(error.has_value()) << "expected " << to_string(kind) << " at " << offset;
  EXPECT_EQ(error->kind, kind) << error->describe();
  EXPECT_EQ(error->offset, offset) << error->describe();
}

TEST(CodecBadMagic, AtStreamStart) {
  std::string stream = encode(test::make_heartbeat(1));
  stream[0] = 'X';
  auto out = decode_all<GuestMessage>(stream);
  EXPECT_TRUE(out.messages.empty());
  expect_error(out.error, FrameErrorKind::kBadMagic, 0);
}

TEST(CodecBadMagic, InLaterFrame) {
  const std::string good = encode(test::make_log("one")) + encode(test::make_heartbeat(2));
  std::string bad = encode(test::make_log("three"));
  bad[2] ^= 0x20;
  auto out = decode_all<GuestMessage>(good + bad + encode(test::make_heartbeat(4)));
  EXPECT_EQ(out.messages.size(), 2U);
  expect_error(out.error, FrameErrorKind::kBadMagic, good.size());
}

TEST(CodecBadMagic, DetectedFromFirstBytes) {
  // A wrong byte is reported as soon as it arrives: with 1, 2 and 3 bytes of
  // the header buffered, not after a whole header's worth of garbage.
  for (std::size_t wrong = 0; wrong < 3; ++wrong) {
    std::string magic = "KSTP";
    magic[wrong] = '?';
    FrameDecoder decoder;
    decoder.feed(bytes_of(magic).first(wrong + 1));
    auto next = decoder.next();
    ASSERT_TRUE(next.has_value()) << "wrong byte " << wrong;
    ASSERT_FALSE(next->ok());
    EXPECT_EQ(next->error().kind, FrameErrorKind::kBadMagic);
    EXPECT_EQ(next->error().offset, 0U);
  }
}

TEST(CodecBadMagic, DetectedFromFirstBytesOfLaterFrame) {
  const std::string good = encode(test::make_heartbeat(5));
  MessageDecoder<GuestMessage> decoder;
  decoder.feed(bytes_of(good + "K?"));
  auto first = decoder.next();
  ASSERT_TRUE(first.has_value() && first->ok());
  auto second = decoder.next();
  ASSERT_TRUE(second.has_value());
  ASSERT_FALSE(second->ok());
  EXPECT_EQ(second->error().kind, FrameErrorKind::kBadMagic);
  EXPECT_EQ(second->error().offset, good.size());
}

TEST(CodecBadMagic, CorrectPrefixWaits) {
  FrameDecoder decoder;
  decoder.feed(bytes_of("KST"));
  EXPECT_FALSE(decoder.next().has_value());
}

// ---------------------------------------------------------------- version

TEST(CodecVersion, Unsupported) {
  const std::string good = encode(test::make_heartbeat(1));
  auto out = decode_all<GuestMessage>(good + raw_frame(test::make_heartbeat(2).SerializeAsString(), 2));
  EXPECT_EQ(out.messages.size(), 1U);
  expect_error(out.error, FrameErrorKind::kUnsupportedVersion, good.size());
  EXPECT_NE(out.error->describe().find("version 2"), std::string::npos) << out.error->describe();
}

TEST(CodecVersion, ZeroAndMaxAreUnsupported) {
  for (std::uint16_t version : {std::uint16_t{0}, std::uint16_t{0xFFFF}}) {
    auto out = decode_all<GuestMessage>(raw_frame("", version));
    expect_error(out.error, FrameErrorKind::kUnsupportedVersion, 0);
  }
}

// ---------------------------------------------------------------- oversize

std::size_t heap_in_use() {
  // Under ASan mallinfo2 reports nothing; the bytes_buffered() checks below
  // still hold the decoder to its contract there.
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

TEST(CodecOversize, HugeLengthWithSmallCapAllocatesNothing) {
  const std::string header = raw_frame("", kFrameVersion, 0, 0xFFFFFFFFU).substr(0, kFrameHeaderSize);
  const std::size_t heap_before = heap_in_use();
  MessageDecoder<GuestMessage> decoder(1024);
  decoder.feed(bytes_of(header));
  auto next = decoder.next();
  ASSERT_TRUE(next.has_value());
  ASSERT_FALSE(next->ok());
  EXPECT_EQ(next->error().kind, FrameErrorKind::kOversize);
  EXPECT_EQ(next->error().offset, 0U);
  EXPECT_NE(next->error().describe().find("4294967295"), std::string::npos) << next->error().describe();
  EXPECT_LT(heap_in_use(), heap_before + (1U << 20U));

  FrameDecoder frames(1024);
  frames.feed(bytes_of(header));
  auto frame = frames.next();
  ASSERT_TRUE(frame.has_value());
  ASSERT_FALSE(frame->ok());
  EXPECT_EQ(frame->error().kind, FrameErrorKind::kOversize);
  // Only the header is held; nothing was reserved for the claimed payload.
  EXPECT_EQ(frames.bytes_buffered(), kFrameHeaderSize);
  EXPECT_LT(heap_in_use(), heap_before + (1U << 20U));
}

TEST(CodecOversize, DefaultCapBoundary) {
  // Exactly the cap is a legal length (the decoder waits for the payload);
  // one more byte is oversize, reported from the header alone.
  FrameDecoder at_cap;
  at_cap.feed(bytes_of(raw_frame("", kFrameVersion, 0, kMaxFramePayload).substr(0, kFrameHeaderSize)));
  EXPECT_FALSE(at_cap.next().has_value());
  EXPECT_EQ(at_cap.bytes_buffered(), kFrameHeaderSize);

  FrameDecoder over_cap;
  over_cap.feed(bytes_of(raw_frame("", kFrameVersion, 0, kMaxFramePayload + 1).substr(0, kFrameHeaderSize)));
  auto next = over_cap.next();
  ASSERT_TRUE(next.has_value());
  ASSERT_FALSE(next->ok());
  EXPECT_EQ(next->error().kind, FrameErrorKind::kOversize);
}

TEST(CodecOversize, CustomCapInLaterFrame) {
  const std::string small = encode(test::make_log(std::string(50, 's')));
  const std::string large = encode(test::make_log(std::string(200, 'l')));
  auto out = decode_all<GuestMessage>(small + large, 100);
  EXPECT_EQ(out.messages.size(), 1U);
  expect_error(out.error, FrameErrorKind::kOversize, small.size());
}

// ---------------------------------------------------------------- CRC

TEST(CodecCrc, FlippedPayloadByte) {
  const std::string first = encode(test::make_log("intact"));
  std::string second = encode(test::make_log("corrupted in transit"));
  second[kFrameHeaderSize + 5] ^= 0x01;
  auto out = decode_all<GuestMessage>(first + second);
  EXPECT_EQ(out.messages.size(), 1U);
  expect_error(out.error, FrameErrorKind::kCrcMismatch, first.size());
}

TEST(CodecCrc, FlippedLengthByteIsCovered) {
  // A length one short still leaves a complete "frame" in the buffer; only
  // the CRC, which covers the header, can tell.
  std::string frame = encode(test::make_log("length"));
  frame[8] = static_cast<char>(frame[8] - 1);
  auto out = decode_all<GuestMessage>(frame + encode(test::make_heartbeat(1)));
  EXPECT_TRUE(out.messages.empty());
  expect_error(out.error, FrameErrorKind::kCrcMismatch, 0);

  // A longer length swallows the start of the next frame; same verdict.
  std::string longer = encode(test::make_log("length"));
  longer[8] = static_cast<char>(longer[8] + 3);
  out = decode_all<GuestMessage>(longer + encode(test::make_heartbeat(1)));
  expect_error(out.error, FrameErrorKind::kCrcMismatch, 0);
}

TEST(CodecCrc, FlippedFlagsAndChecksumBytes) {
  for (std::size_t index : {std::size_t{6}, std::size_t{7}, std::size_t{12}, std::size_t{15}}) {
    std::string frame = encode(test::make_heartbeat(77));
    frame[index] ^= 0x40;
    auto out = decode_all<GuestMessage>(frame);
    expect_error(out.error, FrameErrorKind::kCrcMismatch, 0);
  }
}

// ---------------------------------------------------------------- truncation

TEST(CodecTruncated, PartialHeaderAtEof) {
  const std::string good = encode(test::make_heartbeat(3));
  const std::string next = encode(test::make_heartbeat(4));
  for (std::size_t cut = 1; cut < kFrameHeaderSize; ++cut) {
    auto out = decode_all<GuestMessage>(good + next.substr(0, cut));
    EXPECT_EQ(out.messages.size(), 1U);
    expect_error(out.error, FrameErrorKind::kTruncated, good.size());
  }
}

TEST(CodecTruncated, PartialPayloadAtEof) {
  const std::string frame = encode(test::make_log("a payload that gets cut"));
  for (std::size_t cut = kFrameHeaderSize; cut < frame.size(); ++cut) {
    auto out = decode_all<GuestMessage>(frame.substr(0, cut));
    EXPECT_TRUE(out.messages.empty());
    expect_error(out.error, FrameErrorKind::kTruncated, 0);
    EXPECT_NE(out.error->describe().find(std::to_string(cut) + " bytes"), std::string::npos)
        << out.error->describe();
  }
}

TEST(CodecTruncated, CleanEndIsNotTruncated) {
  EXPECT_TRUE(FrameDecoder{}.finish().ok());
  EXPECT_TRUE(MessageDecoder<GuestMessage>{}.finish().ok());
  auto out = decode_all<GuestMessage>(encode(test::make_heartbeat(1)) + encode(test::make_fatal("x")));
  EXPECT_FALSE(out.error);
  EXPECT_EQ(out.messages.size(), 2U);
}

// ---------------------------------------------------------------- payload

TEST(CodecPayload, MalformedProtobuf) {
  const std::string good = encode(test::make_heartbeat(8));
  // An unterminated varint, a length-delimited field running past the end,
  // and an end-group tag with no group: none parse.
  for (const std::string& payload : {std::string("\xff\xff\xff"),
                                     std::string("\x12\x10"
                                                 "ab"),
                                     std::string("\x0c")}) {
    auto out = decode_all<GuestMessage>(good + raw_frame(payload) + good);
    EXPECT_EQ(out.messages.size(), 1U);
    expect_error(out.error, FrameErrorKind::kMalformedPayload, good.size());
  }
}

TEST(CodecPayload, NonUtf8StringIsMalformed) {
  // proto3 `string` fields must be UTF-8: a Log whose text is raw bytes does
  // not parse on the receiving side. Senders must sanitise text.
  // Built by hand so protobuf's serializer does not log about it:
  // GuestMessage.log (field 2) { Log.text (field 2) = "caf\xe9" }.
  const std::string text = "caf\xe9";  // Latin-1, not UTF-8
  const std::string log_body = std::string("\x12\x04") + text;
  const std::string envelope = std::string("\x12") + static_cast<char>(log_body.size()) + log_body;
  // The same bytes with valid UTF-8 parse, so the failure is the encoding.
  const std::string valid_body = std::string("\x12\x04") + "cafe";
  const std::string valid = std::string("\x12") + static_cast<char>(valid_body.size()) + valid_body;
  auto ok = decode_all<GuestMessage>(raw_frame(valid));
  ASSERT_FALSE(ok.error) << ok.error->describe();
  ASSERT_EQ(ok.messages.size(), 1U);
  EXPECT_EQ(ok.messages[0].log().text(), "cafe");

  auto out = decode_all<GuestMessage>(raw_frame(envelope));
  expect_error(out.error, FrameErrorKind::kMalformedPayload, 0);
}

TEST(CodecPayload, UnknownKind) {
  const std::string good = encode(test::make_log("known"));
  auto out = decode_all<GuestMessage>(good + raw_frame(kUnknownFieldPayload));
  EXPECT_EQ(out.messages.size(), 1U);
  expect_error(out.error, FrameErrorKind::kUnknownKind, good.size());
}

TEST(CodecPayload, EmptyPayloadIsUnknownKind) {
  auto out = decode_all<HostMessage>(raw_frame(""));
  expect_error(out.error, FrameErrorKind::kUnknownKind, 0);
}

TEST(CodecPayload, FrameDecoderDoesNotParse) {
  // Framing is independent of the schema: the same frames pass FrameDecoder.
  FrameDecoder decoder;
  decoder.feed(bytes_of(raw_frame("\xff\xff\xff") + raw_frame(kUnknownFieldPayload)));
  for (int i = 0; i < 2; ++i) {
    auto next = decoder.next();
    ASSERT_TRUE(next.has_value());
    EXPECT_TRUE(next->ok());
  }
  EXPECT_TRUE(decoder.finish().ok());
}

// ---------------------------------------------------------------- sticky errors

// One stream per error kind (truncation is only reported by finish()).
struct Corruption {
  const char* name;
  std::string stream;
  FrameErrorKind kind;
};

std::vector<Corruption> corruptions(const std::string& prefix) {
  std::string bad_magic = encode(test::make_heartbeat(1));
  bad_magic[1] = 'Z';
  std::string bad_crc = encode(test::make_log("crc"));
  bad_crc.back() ^= 0x7F;
  return {
      {"magic", prefix + bad_magic, FrameErrorKind::kBadMagic},
      {"version", prefix + raw_frame("", 9), FrameErrorKind::kUnsupportedVersion},
      {"oversize", prefix + raw_frame("", kFrameVersion, 0, kMaxFramePayload + 1), FrameErrorKind::kOversize},
      {"crc", prefix + bad_crc, FrameErrorKind::kCrcMismatch},
      {"malformed", prefix + raw_frame("\xff"), FrameErrorKind::kMalformedPayload},
      {"unknown", prefix + raw_frame(kUnknownFieldPayload), FrameErrorKind::kUnknownKind},
  };
}

TEST(CodecSticky, ErrorRepeatsAndSurvivesMoreInput) {
  const std::string prefix = encode(test::make_hello());
  const std::string good = encode(test::make_heartbeat(42));
  for (const auto& c : corruptions(prefix)) {
    SCOPED_TRACE(c.name);
    MessageDecoder<GuestMessage> decoder;
    decoder.feed(bytes_of(c.stream));
    auto first = decoder.next();
    ASSERT_TRUE(first.has_value() && first->ok());
    auto failed = decoder.next();
    ASSERT_TRUE(failed.has_value());
    ASSERT_FALSE(failed->ok());
    EXPECT_EQ(failed->error().kind, c.kind);
    EXPECT_EQ(failed->error().offset, prefix.size());
    for (int i = 0; i < 3; ++i) {
      decoder.feed(bytes_of(good));  // a valid frame after the fault changes nothing
      auto again = decoder.next();
      ASSERT_TRUE(again.has_value());
      ASSERT_FALSE(again->ok());
      EXPECT_EQ(again->error().kind, c.kind);
      EXPECT_EQ(again->error().offset, prefix.size());
    }
    auto end = decoder.finish();
    ASSERT_FALSE(end.ok());
    EXPECT_EQ(end.error().kind, c.kind);
    EXPECT_EQ(end.error().offset, prefix.size());
  }
}

TEST(CodecSticky, DistinctKindsPerDefect) {
  std::set<FrameErrorKind> seen;
  for (const auto& c : corruptions("")) {
    auto out = decode_all<GuestMessage>(c.stream);
    ASSERT_TRUE(out.error.has_value()) << c.name;
    EXPECT_EQ(out.error->kind, c.kind) << c.name << ": " << out.error->describe();
    seen.insert(out.error->kind);
  }
  auto truncated = decode_all<GuestMessage>(encode(test::make_heartbeat(1)).substr(0, 5));
  ASSERT_TRUE(truncated.error.has_value());
  seen.insert(truncated.error->kind);
  EXPECT_EQ(seen.size(), std::size(kAllKinds));
}

TEST(CodecSticky, FrameDecoderErrorRepeats) {
  FrameDecoder decoder;
  decoder.feed(bytes_of(raw_frame("", 3)));
  for (int i = 0; i < 3; ++i) {
    auto next = decoder.next();
    ASSERT_TRUE(next.has_value());
    ASSERT_FALSE(next->ok());
    EXPECT_EQ(next->error().kind, FrameErrorKind::kUnsupportedVersion);
  }
  auto end = decoder.finish();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().kind, FrameErrorKind::kUnsupportedVersion);
}

// ---------------------------------------------------------------- append_frame

TEST(CodecAppend, RefusesAboveCap) {
  const GuestMessage log = test::make_log(std::string(100, 'x'));
  const std::size_t size = log.ByteSizeLong();
  std::string out = "existing";
  auto refused = append_frame(log, out, static_cast<std::uint32_t>(size - 1));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find(std::to_string(size)), std::string::npos) << refused.error().message;
  EXPECT_EQ(out, "existing");  // nothing half-written

  auto at_cap = append_frame(log, out, static_cast<std::uint32_t>(size));
  ASSERT_TRUE(at_cap.ok()) << at_cap.error().message;
  EXPECT_EQ(out.size(), std::string("existing").size() + kFrameHeaderSize + size);
}

TEST(CodecAppend, AppendsAfterExistingBytes) {
  std::string out;
  ASSERT_TRUE(append_frame(test::make_heartbeat(1), out).ok());
  const std::size_t first = out.size();
  ASSERT_TRUE(append_frame(test::make_heartbeat(2), out).ok());
  EXPECT_EQ(out.substr(0, first), encode(test::make_heartbeat(1)));
  EXPECT_EQ(out.substr(first), encode(test::make_heartbeat(2)));
}

// ---------------------------------------------------------------- describe

TEST(CodecDescribe, NamesKindAndOffset) {
  std::set<std::string_view> names;
  for (FrameErrorKind kind : kAllKinds) {
    const FrameError error{kind, 123456789012ULL, "some detail"};
    const std::string text = error.describe();
    EXPECT_NE(text.find(to_string(kind)), std::string::npos) << text;
    EXPECT_NE(text.find("123456789012"), std::string::npos) << text;
    EXPECT_NE(text.find("some detail"), std::string::npos) << text;
    names.insert(to_string(kind));
  }
  EXPECT_EQ(names.size(), std::size(kAllKinds));
}

TEST(CodecDescribe, DecoderErrorsAreSpecific) {
  std::string stream = encode(test::make_log("x"));
  stream[0] = 'Q';
  auto out = decode_all<GuestMessage>(stream);
  ASSERT_TRUE(out.error.has_value());
  const std::string text = out.error->describe();
  EXPECT_NE(text.find("bad magic"), std::string::npos) << text;
  EXPECT_NE(text.find("offset 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace kstep
