// codec-bench: throughput of the wire codec on one core.
//
// Prints one `name value` line per figure, each the median of kRuns runs:
//   codec.small_frames_per_s     encode + decode of a ~40-byte Log frame
//   codec.64k_mb_per_s           encode + decode of Log frames with 64 KiB text
//   codec.64k_encode_mb_per_s    the encode half alone (append_frame)
//   codec.64k_decode_mb_per_s    the decode half alone (prepare/commit + next)
//   memcpy.64k_mb_per_s          memcpy of the same encoded stream, 64 KiB at a time
//   codec.64k_vs_memcpy_ratio    codec.64k_mb_per_s / memcpy.64k_mb_per_s
//   crc32c.64k_mb_per_s          crc32c over 64 KiB (run once by each half)
//   protobuf.64k_parse_mb_per_s  ParseFromString of one payload (part of decode)
// MB is 10^6 bytes of payload. Decoding uses the zero-copy path: the encoded
// stream is copied into prepare()'s span in 64 KiB reads, as a read() from
// the port would. Not a test: timing goals live here, not in unit tests.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/crc32c.hpp"
#include "common/frame_codec.hpp"
#include "common/message_codec.hpp"
#include "kstep.pb.h"

namespace {

using kstep::MessageDecoder;
using kstep::wire::GuestMessage;
using Clock = std::chrono::steady_clock;

constexpr int kRuns = 9;
constexpr std::size_t kReadSize = 64 * 1024;

// Keeps the optimizer from dropping work whose result is otherwise unused.
void escape(const void* p) {
  asm volatile("" : : "g"(p) : "memory");
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "codec-bench: %s\n", what);
  std::exit(1);
}

template <class F>
double median_seconds(F&& body) {
  std::vector<double> runs;
  body();  // warm-up: caches, allocator, branch predictors
  for (int i = 0; i < kRuns; ++i) {
    const auto start = Clock::now();
    body();
    runs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

GuestMessage make_log(std::string text) {
  GuestMessage m;
  m.mutable_log()->set_level(kstep::wire::Log::INFO);
  m.mutable_log()->set_text(std::move(text));
  return m;
}

void encode_batch(const GuestMessage& message, int count, std::string& stream) {
  stream.clear();
  for (int i = 0; i < count; ++i) {
    if (!kstep::append_frame(message, stream).ok()) {
      die("append_frame failed");
    }
  }
}

// Decodes `stream` as a reader of the port would, checking what comes out.
void decode_stream(const std::string& stream, int expected, std::size_t text_size) {
  MessageDecoder<GuestMessage> decoder;
  int decoded = 0;
  for (std::size_t pos = 0; pos < stream.size();) {
    const std::size_t n = std::min(kReadSize, stream.size() - pos);
    auto space = decoder.prepare(n);
    std::memcpy(space.data(), stream.data() + pos, n);
    decoder.commit(n);
    pos += n;
    while (auto next = decoder.next()) {
      if (!*next || next->value().log().text().size() != text_size) {
        die("decoded stream differs from the encoded one");
      }
      ++decoded;
    }
  }
  if (decoded != expected || !decoder.finish().ok()) {
    die("decoded frame count differs");
  }
}

void print(const char* name, double value) {
  std::printf("%s %.1f\n", name, value);
}

}  // namespace

int main() {
  // One core: pin to wherever we start so the scheduler cannot migrate us.
  if (const int cpu = sched_getcpu(); cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
  }

  // A typical small frame: a ~40-byte Log payload (56 bytes on the wire).
  const GuestMessage small = make_log("cgroup /kstep/w3 attached to sched");
  constexpr int kSmallFrames = 20000;
  std::string stream;
  const double small_s = median_seconds([&] {
    encode_batch(small, kSmallFrames, stream);
    decode_stream(stream, kSmallFrames, small.log().text().size());
  });
  std::printf("codec.small_payload_bytes %zu\n", small.ByteSizeLong());
  print("codec.small_frames_per_s", kSmallFrames / small_s);

  // Large frames: 64 KiB of (valid UTF-8) log text each.
  constexpr std::size_t kBig = 64 * 1024;
  constexpr int kBigFrames = 400;
  std::string text(kBig, ' ');
  for (std::size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<char>('a' + i % 26);
  }
  const GuestMessage big = make_log(text);
  const double payload_mb = static_cast<double>(big.ByteSizeLong()) * kBigFrames / 1e6;
  const double big_s = median_seconds([&] {
    encode_batch(big, kBigFrames, stream);
    decode_stream(stream, kBigFrames, kBig);
  });
  const double encode_s = median_seconds([&] { encode_batch(big, kBigFrames, stream); });
  const double decode_s = median_seconds([&] { decode_stream(stream, kBigFrames, kBig); });

  // The baseline moves the same bytes the codec does: the whole encoded
  // stream, 64 KiB at a time, into a buffer of its own size, so neither side
  // runs from a cache-hot single block.
  encode_batch(big, kBigFrames, stream);
  std::vector<char> copy(stream.size());
  const double memcpy_s = median_seconds([&] {
    for (std::size_t pos = 0; pos < stream.size(); pos += kBig) {
      const std::size_t n = std::min(kBig, stream.size() - pos);
      escape(stream.data() + pos);
      std::memcpy(copy.data() + pos, stream.data() + pos, n);
      escape(copy.data() + pos);
    }
  });
  const double memcpy_mb = static_cast<double>(stream.size()) / 1e6;

  // Protobuf's share of decoding: parsing one payload (UTF-8 check included).
  const std::string payload = big.SerializeAsString();
  const double parse_s = median_seconds([&] {
    for (int i = 0; i < kBigFrames; ++i) {
      GuestMessage m;
      if (!m.ParseFromString(payload)) {
        die("parse failed");
      }
      escape(m.log().text().data());
    }
  });

  std::uint32_t crc_sink = 0;
  const auto text_bytes = std::as_bytes(std::span{text.data(), text.size()});
  const double crc_s = median_seconds([&] {
    for (int i = 0; i < kBigFrames; ++i) {
      escape(text.data());
      crc_sink ^= kstep::crc32c(text_bytes);
    }
  });
  escape(&crc_sink);
  const double text_mb = static_cast<double>(kBig) * kBigFrames / 1e6;

  print("codec.64k_mb_per_s", payload_mb / big_s);
  print("codec.64k_encode_mb_per_s", payload_mb / encode_s);
  print("codec.64k_decode_mb_per_s", payload_mb / decode_s);
  print("memcpy.64k_mb_per_s", memcpy_mb / memcpy_s);
  std::printf("codec.64k_vs_memcpy_ratio %.4f\n", (payload_mb / big_s) / (memcpy_mb / memcpy_s));
  print("crc32c.64k_mb_per_s", text_mb / crc_s);
  print("protobuf.64k_parse_mb_per_s", payload_mb / parse_s);
  return 0;
}
