#include "common/crc32c.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace kstep {
namespace {

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span{text.data(), text.size()});
}

TEST(Crc32c, StandardCheckValue) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283U);
  EXPECT_EQ(crc32c_extend_portable(0, as_bytes("123456789")), 0xE3069283U);
}

TEST(Crc32c, EmptyInput) {
  EXPECT_EQ(crc32c({}), 0U);
  EXPECT_EQ(crc32c_extend_portable(0, {}), 0U);
  // Extending by nothing keeps the checksum.
  EXPECT_EQ(crc32c_extend(0xDEADBEEFU, {}), 0xDEADBEEFU);
}

TEST(Crc32c, KnownVectors) {
  // RFC 3720 (iSCSI) B.4 test patterns.
  const std::vector<std::byte> zeros(32, std::byte{0x00});
  const std::vector<std::byte> ones(32, std::byte{0xFF});
  std::vector<std::byte> ascending(32);
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    ascending[i] = static_cast<std::byte>(i);
  }
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAU);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43U);
  EXPECT_EQ(crc32c(ascending), 0x46DD794EU);
}

TEST(Crc32c, HardwareMatchesPortableOverLengthsAndAlignments) {
  std::mt19937 rng(20240601);
  std::vector<std::byte> data(4096 + 16);
  for (auto& b : data) {
    b = static_cast<std::byte>(rng());
  }
  // Every length up to 64 at every alignment mod 8 covers the 8-byte loop and
  // its byte tail; then random long spans.
  for (std::size_t align = 0; align < 8; ++align) {
    for (std::size_t len = 0; len <= 64; ++len) {
      const std::span<const std::byte> span{data.data() + align, len};
      ASSERT_EQ(crc32c(span), crc32c_extend_portable(0, span)) << "align " << align << " len " << len;
    }
  }
  std::uniform_int_distribution<std::size_t> pick_align(0, 15);
  std::uniform_int_distribution<std::size_t> pick_len(0, 4096);
  std::uniform_int_distribution<std::uint32_t> pick_seed;
  for (int i = 0; i < 500; ++i) {
    const std::size_t align = pick_align(rng);
    const std::span<const std::byte> span{data.data() + align, pick_len(rng)};
    const std::uint32_t seed = pick_seed(rng);
    ASSERT_EQ(crc32c_extend(seed, span), crc32c_extend_portable(seed, span))
        << "align " << align << " len " << span.size();
  }
}

TEST(Crc32c, ExtendComposesLikeOneShot) {
  std::mt19937 rng(7);
  std::vector<std::byte> data(1000);
  for (auto& b : data) {
    b = static_cast<std::byte>(rng());
  }
  const std::uint32_t whole = crc32c(data);
  const std::span<const std::byte> all{data};
  for (std::size_t cut = 0; cut <= data.size(); cut += 37) {
    const std::uint32_t head = crc32c(all.first(cut));
    EXPECT_EQ(crc32c_extend(head, all.subspan(cut)), whole) << "cut " << cut;
    EXPECT_EQ(crc32c_extend_portable(crc32c_extend_portable(0, all.first(cut)), all.subspan(cut)), whole)
        << "cut " << cut;
  }
}

TEST(Crc32c, DetectsSingleBitFlip) {
  std::vector<std::byte> data(256, std::byte{0x5A});
  const std::uint32_t before = crc32c(data);
  for (std::size_t i = 0; i < data.size(); i += 17) {
    data[i] ^= std::byte{0x01};
    EXPECT_NE(crc32c(data), before) << "byte " << i;
    data[i] ^= std::byte{0x01};
  }
}

}  // namespace
}  // namespace kstep
