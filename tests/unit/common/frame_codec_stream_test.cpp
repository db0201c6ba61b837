// The decoder's central promise: bytes may arrive split at any point and
// decode the same. A seeded stream of mixed frames is cut into random chunks
// (1-byte feeds, random feeds, the zero-copy prepare()/commit() path) and
// every split must give the same messages, and the same error at the same
// offset when a byte is corrupted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/message_codec.hpp"
#include "kstep.pb.h"
#include "tests/unit/common/codec_test_util.hpp"

namespace kstep {
namespace {

using test::bytes_of;
using test::Drained;
using test::encode;
using wire::GuestMessage;

struct Stream {
  std::string bytes;
  std::vector<std::string> serialized;  // each message's payload, in order
  std::vector<std::size_t> frame_starts;
};

GuestMessage random_message(std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<std::size_t> text_len(0, 300);
  std::uniform_int_distribution<int> letter('a', 'z');
  auto text = [&](std::size_t n) {
    std::string s(n, ' ');
    for (char& c : s) {
      c = static_cast<char>(letter(rng));
    }
    return s;
  };
  switch (kind(rng)) {
    case 0: return test::make_hello();
    case 1: return test::make_fatal(text(text_len(rng)));
    case 2: return test::make_log(text(4096 + text_len(rng)));  // a few larger frames
    case 3:
    case 4:
    case 5: return test::make_log(text(text_len(rng)), wire::Log::DEBUG);
    default: return test::make_heartbeat(rng());
  }
}

Stream make_stream(std::uint32_t seed, int frames) {
  std::mt19937 rng(seed);
  Stream s;
  for (int i = 0; i < frames; ++i) {
    const GuestMessage m = random_message(rng);
    s.frame_starts.push_back(s.bytes.size());
    s.bytes += encode(m);
    s.serialized.push_back(m.SerializeAsString());
  }
  return s;
}

enum class Feeding { kWhole, kOneByte, kRandomFeed, kRandomPrepareCommit };

struct Outcome {
  std::vector<std::string> serialized;
  std::optional<FrameError> error;
  bool error_from_finish = false;
  std::uint64_t consumed = 0;
};

// Delivers `bytes` to a decoder in chunks chosen by `feeding`, draining
// after every chunk like a real reader, then calls finish().
Outcome decode_split(const std::string& bytes, Feeding feeding, std::mt19937& rng) {
  MessageDecoder<GuestMessage> decoder;
  Drained<GuestMessage> drained;
  std::uniform_int_distribution<std::size_t> chunk(1, 700);
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t n = 0;
    switch (feeding) {
      case Feeding::kWhole: n = bytes.size(); break;
      case Feeding::kOneByte: n = 1; break;
      case Feeding::kRandomFeed:
      case Feeding::kRandomPrepareCommit: n = chunk(rng); break;
    }
    n = std::min(n, bytes.size() - pos);
    if (feeding == Feeding::kRandomPrepareCommit) {
      // Ask for more room than gets written, like a read() that comes up short.
      auto space = decoder.prepare(n + chunk(rng));
      std::memcpy(space.data(), bytes.data() + pos, n);
      decoder.commit(n);
    } else {
      decoder.feed(bytes_of(bytes).subspan(pos, n));
    }
    pos += n;
    test::drain_into(decoder, drained);
    EXPECT_LE(decoder.bytes_consumed(), pos);
  }
  Outcome out;
  for (const auto& m : drained.messages) {
    out.serialized.push_back(m.SerializeAsString());
  }
  out.error = drained.error;
  if (!out.error) {
    if (auto end = decoder.finish(); !end) {
      out.error = end.error();
      out.error_from_finish = true;
    }
  }
  out.consumed = decoder.bytes_consumed();
  return out;
}

constexpr Feeding kAllFeedings[] = {Feeding::kWhole, Feeding::kOneByte, Feeding::kRandomFeed,
                                    Feeding::kRandomPrepareCommit};

TEST(CodecStream, RandomSplitsDecodeIdentically) {
  for (std::uint32_t seed : {1U, 2U, 3U}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    const Stream stream = make_stream(seed, 300);
    std::mt19937 rng(seed * 7919U);
    for (Feeding feeding : kAllFeedings) {
      const int repeats = feeding == Feeding::kWhole || feeding == Feeding::kOneByte ? 1 : 5;
      for (int r = 0; r < repeats; ++r) {
        const Outcome out = decode_split(stream.bytes, feeding, rng);
        ASSERT_FALSE(out.error) << static_cast<int>(feeding) << ": " << out.error->describe();
        ASSERT_EQ(out.serialized.size(), stream.serialized.size()) << static_cast<int>(feeding);
        EXPECT_TRUE(out.serialized == stream.serialized) << static_cast<int>(feeding);
        EXPECT_EQ(out.consumed, stream.bytes.size());
      }
    }
  }
}

TEST(CodecStream, CorruptionDetectedAtSameOffsetForEverySplit) {
  const Stream stream = make_stream(11, 120);
  std::mt19937 rng(4242);
  std::uniform_int_distribution<std::size_t> position(0, stream.bytes.size() - 1);
  std::uniform_int_distribution<int> flip(1, 255);
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t at = position(rng);
    std::string corrupted = stream.bytes;
    corrupted[at] = static_cast<char>(corrupted[at] ^ flip(rng));
    // Whichever field the byte lands in, the fault belongs to the frame that
    // contains it: every frame before it decodes, and the error names its start.
    const auto frame = static_cast<std::size_t>(
        std::upper_bound(stream.frame_starts.begin(), stream.frame_starts.end(), at) -
        stream.frame_starts.begin() - 1);
    SCOPED_TRACE(testing::Message() << "byte " << at << " in frame " << frame);

    const Outcome reference = decode_split(corrupted, Feeding::kWhole, rng);
    ASSERT_TRUE(reference.error.has_value());
    EXPECT_EQ(reference.error->offset, stream.frame_starts[frame]) << reference.error->describe();
    EXPECT_EQ(reference.serialized.size(), frame);
    for (Feeding feeding : kAllFeedings) {
      const Outcome out = decode_split(corrupted, feeding, rng);
      ASSERT_TRUE(out.error.has_value()) << static_cast<int>(feeding);
      EXPECT_EQ(out.error->kind, reference.error->kind) << out.error->describe();
      EXPECT_EQ(out.error->offset, reference.error->offset) << out.error->describe();
      EXPECT_EQ(out.error_from_finish, reference.error_from_finish);
      EXPECT_EQ(out.serialized.size(), reference.serialized.size());
    }
  }
}

TEST(CodecStream, LongSplitStreamAccountsEveryByte) {
  // Thousands of frames, each fed in two pieces: after draining, nothing is
  // left buffered and the consumed count is exact.
  const std::string frame = encode(test::make_heartbeat(123456));
  FrameDecoder decoder;
  std::size_t frames = 0;
  for (int i = 0; i < 5000; ++i) {
    decoder.feed(bytes_of(frame).first(7));
    decoder.feed(bytes_of(frame).subspan(7));
    while (auto next = decoder.next()) {
      ASSERT_TRUE(next->ok());
      ++frames;
    }
    ASSERT_EQ(decoder.bytes_buffered(), 0U);
  }
  EXPECT_EQ(frames, 5000U);
  EXPECT_EQ(decoder.bytes_consumed(), 5000U * frame.size());
}

}  // namespace
}  // namespace kstep
