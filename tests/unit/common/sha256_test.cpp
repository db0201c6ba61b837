#include "common/sha256.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <unistd.h>

namespace kstep {
namespace {

std::string hex_of(Sha256& hash) {
  const auto digest = hash.finish();
  return to_hex(digest);
}

// The NIST FIPS 180-2 / CAVS example messages.
constexpr std::string_view k448Bits = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr std::string_view k896Bits =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrs"
    "tnopqrstu";

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(k448Bits), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(k896Bits), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, OneMillionA) {
  // Fed in uneven pieces so block boundaries fall mid-update.
  Sha256 hash;
  const std::string piece(999, 'a');
  std::size_t left = 1'000'000;
  while (left > 0) {
    const std::size_t n = std::min(left, piece.size());
    hash.update(std::string_view{piece}.substr(0, n));
    left -= n;
  }
  EXPECT_EQ(hex_of(hash), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths 55, 56 and 64 switch between one and two padding blocks.
  EXPECT_EQ(sha256_hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256_hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, SplitUpdatesMatchOneShot) {
  const std::string message = std::string(k896Bits) + std::string(k448Bits);  // 168 bytes, > 2 blocks
  const std::string expected = sha256_hex(message);
  for (std::size_t a = 0; a <= message.size(); ++a) {
    Sha256 two;
    two.update(std::string_view{message}.substr(0, a));
    two.update(std::string_view{message}.substr(a));
    ASSERT_EQ(hex_of(two), expected) << "split at " << a;
  }
  // Three pieces at a sample of boundary pairs, including empty middles.
  for (std::size_t a = 0; a <= message.size(); a += 7) {
    for (std::size_t b = a; b <= message.size(); b += 11) {
      Sha256 three;
      three.update(std::string_view{message}.substr(0, a));
      three.update(std::string_view{message}.substr(a, b - a));
      three.update(std::string_view{message}.substr(b));
      ASSERT_EQ(hex_of(three), expected) << "splits at " << a << ", " << b;
    }
  }
}

TEST(Sha256, ToHex) {
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(to_hex(bytes), "000fa5ff");
  EXPECT_EQ(to_hex({}), "");
}

class Sha256File : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "kstep-sha256-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

TEST_F(Sha256File, HashesContents) {
  // Larger than the 64 KiB read buffer, so the file is hashed in several reads.
  std::string contents(200'000, '\0');
  std::mt19937 rng(99);
  for (char& c : contents) {
    c = static_cast<char>(rng());
  }
  const auto path = dir_ / "blob.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    ASSERT_TRUE(out.good());
  }
  auto hex = sha256_file_hex(path);
  ASSERT_TRUE(hex.ok()) << hex.error().message;
  EXPECT_EQ(*hex, sha256_hex(contents));

  const auto empty = dir_ / "empty";
  std::ofstream{empty}.close();
  auto empty_hex = sha256_file_hex(empty);
  ASSERT_TRUE(empty_hex.ok()) << empty_hex.error().message;
  EXPECT_EQ(*empty_hex, sha256_hex(""));
}

TEST_F(Sha256File, MissingFileNamesPath) {
  const auto path = dir_ / "does-not-exist.img";
  auto hex = sha256_file_hex(path);
  ASSERT_FALSE(hex.ok());
  EXPECT_NE(hex.error().message.find(path.string()), std::string::npos) << hex.error().message;
}

}  // namespace
}  // namespace kstep
