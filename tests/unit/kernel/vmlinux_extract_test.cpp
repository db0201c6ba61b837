#include "host/kernel/vmlinux_extract.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/kernel/image_format.hpp"
#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

namespace fs = std::filesystem;
using kernel_test::BzImageSpec;
using kernel_test::Codec;
using kernel_test::compress;
using kernel_test::ElfSpec;
using kernel_test::make_bzimage;
using kernel_test::make_elf;
using kernel_test::TempDir;
using kernel_test::to_bytes;
using kernel_test::with_size_trailer;
using kernel_test::write_bytes;
using ::testing::HasSubstr;

// A vmlinux big enough to span several compressor blocks (zstd blocks are
// at most 128 KiB) and not trivially compressible.
std::vector<std::byte> big_elf() {
  ElfSpec spec;
  std::string contents = "Linux version 7.3.4+test-amd64 (builder@host) #1 SMP\n";
  std::uint32_t x = 12345;
  while (contents.size() < 600 * 1024) {
    x = x * 1103515245 + 12345;
    contents += static_cast<char>('a' + (x >> 16) % 8);
  }
  spec.contents = std::move(contents);
  return make_elf(spec);
}

// The kernel's layout: the compressed vmlinux plus its size, at the payload pointer.
std::vector<std::byte> bzimage_with(const std::vector<std::byte>& elf, Codec codec) {
  BzImageSpec spec;
  spec.payload = with_size_trailer(compress(elf, codec), static_cast<std::uint32_t>(elf.size()));
  return make_bzimage(spec);
}

class KernelVmlinuxExtract : public ::testing::TestWithParam<Codec> {};

TEST_P(KernelVmlinuxExtract, FromThePayloadPointer) {
  const auto elf = big_elf();
  auto extracted = extract_vmlinux(bzimage_with(elf, GetParam()), "vmlinuz");
  ASSERT_TRUE(extracted.ok()) << extracted.error().message;
  EXPECT_EQ(extracted->size(), elf.size());
  EXPECT_TRUE(*extracted == elf);
}

TEST_P(KernelVmlinuxExtract, ByScanningWithoutAPayloadPointer) {
  const auto elf = big_elf();
  BzImageSpec spec;
  spec.protocol = 0x0207;  // before payload_offset existed
  spec.payload = with_size_trailer(compress(elf, GetParam()), static_cast<std::uint32_t>(elf.size()));
  auto extracted = extract_vmlinux(make_bzimage(spec), "vmlinuz");
  ASSERT_TRUE(extracted.ok()) << extracted.error().message;
  EXPECT_TRUE(*extracted == elf);
}

TEST_P(KernelVmlinuxExtract, SkipsMagicBytesInTheDecompressor) {
  // Each codec's magic occurs in the decompressor code before the real
  // stream; the scan must get past all of them.
  const auto elf = big_elf();
  BzImageSpec spec;
  spec.payload_in_header = false;
  spec.decompressor =
      to_bytes(std::string{"\x90\x28\xb5\x2f\xfd\x00\x00\x1f\x8b\x08\x00\xfd"
                           "7zXZ\0\0\x90",
                           19});
  spec.payload = with_size_trailer(compress(elf, GetParam()), static_cast<std::uint32_t>(elf.size()));
  auto extracted = extract_vmlinux(make_bzimage(spec), "vmlinuz");
  ASSERT_TRUE(extracted.ok()) << extracted.error().message;
  EXPECT_TRUE(*extracted == elf);
}

TEST_P(KernelVmlinuxExtract, TruncatedStreamIsRejected) {
  const auto elf = big_elf();
  auto stream = compress(elf, GetParam());
  stream.resize(stream.size() / 2);
  BzImageSpec spec;
  spec.payload = stream;
  auto extracted = extract_vmlinux(make_bzimage(spec), "half-vmlinuz");
  ASSERT_FALSE(extracted.ok()) << "accepted " << extracted->size() << " bytes";
  EXPECT_THAT(extracted.error().message, HasSubstr("half-vmlinuz"));
}

TEST_P(KernelVmlinuxExtract, StreamOfANonElfIsRejected) {
  const auto text = to_bytes(std::string(100000, 'k'));
  BzImageSpec spec;
  spec.payload = with_size_trailer(compress(text, GetParam()), 100000);
  auto extracted = extract_vmlinux(make_bzimage(spec), "not-elf");
  ASSERT_FALSE(extracted.ok());
  EXPECT_THAT(extracted.error().message, HasSubstr("not-elf"));
  EXPECT_THAT(extracted.error().message, HasSubstr("complete ELF"));
  EXPECT_THAT(extracted.error().message, HasSubstr("no ELF header"));
}

INSTANTIATE_TEST_SUITE_P(Codecs, KernelVmlinuxExtract, ::testing::Values(Codec::Zstd, Codec::Gzip, Codec::Xz),
                         [](const ::testing::TestParamInfo<Codec>& info) {
                           switch (info.param) {
                             case Codec::Zstd: return "zstd";
                             case Codec::Gzip: return "gzip";
                             case Codec::Xz: return "xz";
                           }
                           return "unknown";
                         });

TEST(KernelVmlinuxExtractErrors, NoCompressedStreamInside) {
  auto extracted = extract_vmlinux(to_bytes(std::string(8192, 'x')), "garbage.img");
  ASSERT_FALSE(extracted.ok());
  EXPECT_THAT(extracted.error().message, HasSubstr("garbage.img"));
  EXPECT_THAT(extracted.error().message, HasSubstr("no zstd, gzip or xz"));

  auto empty = extract_vmlinux({}, "empty");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("empty"));
}

TEST(KernelVmlinuxExtractErrors, APayloadPointerPastTheEndFallsBackToScanning) {
  const auto elf = big_elf();
  auto image = bzimage_with(elf, Codec::Zstd);
  kernel_test::put_le(image, 0x24c, 0x7fffffff, 4);  // payload_length
  auto extracted = extract_vmlinux(image, "vmlinuz");
  ASSERT_TRUE(extracted.ok()) << extracted.error().message;
  EXPECT_TRUE(*extracted == elf);
}

TEST(KernelVmlinuxExtractFile, WritesTheElfAtomically) {
  TempDir tmp;
  const auto elf = big_elf();
  write_bytes(tmp / "vmlinuz", bzimage_with(elf, Codec::Gzip));
  auto done = extract_vmlinux_file(tmp / "vmlinuz", tmp / "vmlinux");
  ASSERT_TRUE(done.ok()) << done.error().message;
  auto written = read_file_head(tmp / "vmlinux", SIZE_MAX);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_TRUE(*written == elf);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "vmlinux").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644U);
  // Nothing but the input and the output: no temporary left behind.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(tmp.path())) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("vmlinuz", "vmlinux"));
}

TEST(KernelVmlinuxExtractFile, FailureLeavesNoOutput) {
  TempDir tmp;
  write_bytes(tmp / "vmlinuz", make_bzimage(BzImageSpec{}));  // no payload at all
  auto done = extract_vmlinux_file(tmp / "vmlinuz", tmp / "vmlinux");
  ASSERT_FALSE(done.ok());
  EXPECT_THAT(done.error().message, HasSubstr((tmp / "vmlinuz").string()));
  EXPECT_FALSE(fs::exists(tmp / "vmlinux"));

  auto missing = extract_vmlinux_file(tmp / "missing", tmp / "out");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr((tmp / "missing").string()));
  EXPECT_FALSE(fs::exists(tmp / "out"));

  const auto elf = big_elf();
  write_bytes(tmp / "good", bzimage_with(elf, Codec::Zstd));
  auto no_dir = extract_vmlinux_file(tmp / "good", tmp / "no-such-dir" / "vmlinux");
  ASSERT_FALSE(no_dir.ok());
  EXPECT_THAT(no_dir.error().message, HasSubstr("no-such-dir"));
}

// ---- zstd frame walking (RFC 8878), on hand-built frames

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) {
    out.push_back(static_cast<std::byte>(v));
  }
  return out;
}

TEST(KernelZstdFrame, RawBlockSingleSegment) {
  // Magic, descriptor 0x20 (single segment, 1-byte content size), size 5,
  // one last raw block of 5 bytes.
  const auto frame = bytes_of({0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, 0x29, 0, 0, 'h', 'e', 'l', 'l', 'o'});
  EXPECT_EQ(zstd_frame_size(frame), frame.size());
  // Trailing bytes (the kernel's appended size) are not part of the frame.
  auto trailed = frame;
  trailed.insert(trailed.end(), {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}});
  EXPECT_EQ(zstd_frame_size(trailed), frame.size());
  // Cut anywhere: not a whole frame.
  for (std::size_t n = 0; n < frame.size(); ++n) {
    EXPECT_EQ(zstd_frame_size(std::span{frame}.first(n)), std::nullopt) << n;
  }
}

TEST(KernelZstdFrame, RleBlocksWindowDescriptorAndChecksum) {
  // Descriptor 0x04: not single segment (window descriptor byte), no
  // content size, checksum. A non-last RLE block of 1000 bytes (one byte
  // stored), a last raw block of 2, then the 4-byte checksum.
  const int rle = (1000 << 3) | (1 << 1);
  const int raw_last = (2 << 3) | 1;
  const auto frame = bytes_of({0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, rle & 0xff, (rle >> 8) & 0xff, 0, 'x',
                               raw_last, 0, 0, 'a', 'b', 0xde, 0xad, 0xbe, 0xef});
  EXPECT_EQ(zstd_frame_size(frame), frame.size());
  EXPECT_EQ(zstd_frame_size(std::span{frame}.first(frame.size() - 1)), std::nullopt);  // checksum cut
}

TEST(KernelZstdFrame, HeaderFieldSizes) {
  // Descriptor 0x43: 2-byte content size (flag 1), window descriptor,
  // 4-byte dictionary id.
  const auto frame = bytes_of({0x28, 0xb5, 0x2f, 0xfd, 0x43, 0x58, 1, 2, 3, 4, 0x10, 0x01, 0x09, 0, 0, 'z'});
  EXPECT_EQ(zstd_frame_size(frame), frame.size());
}

TEST(KernelZstdFrame, RejectsNonFrames) {
  EXPECT_EQ(zstd_frame_size({}), std::nullopt);
  EXPECT_EQ(zstd_frame_size(bytes_of({0x28, 0xb5, 0x2f, 0xfd})), std::nullopt);
  EXPECT_EQ(zstd_frame_size(bytes_of({0x1f, 0x8b, 0x08, 0x00, 0x20, 0, 0x01, 0, 0})), std::nullopt);
  // Reserved descriptor bit.
  EXPECT_EQ(zstd_frame_size(bytes_of({0x28, 0xb5, 0x2f, 0xfd, 0x28, 0, 0x01, 0, 0})), std::nullopt);
  // Reserved block type 3.
  EXPECT_EQ(zstd_frame_size(bytes_of({0x28, 0xb5, 0x2f, 0xfd, 0x20, 0, 0x07, 0, 0})), std::nullopt);
}

TEST(KernelZstdFrame, MeasuresARealFrame) {
  const auto elf = big_elf();
  const auto stream = compress(elf, Codec::Zstd);
  ASSERT_GT(stream.size(), 4U);
  EXPECT_EQ(zstd_frame_size(with_size_trailer(stream, 123)), stream.size());
}

}  // namespace
}  // namespace kstep::host::kernel
