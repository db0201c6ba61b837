#include "host/kernel/image_format.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

namespace fs = std::filesystem;
using kernel_test::BzImageSpec;
using kernel_test::ElfSpec;
using kernel_test::kElfProgramHeader;
using kernel_test::make_bzimage;
using kernel_test::make_elf;
using kernel_test::put_le;
using kernel_test::TempDir;
using kernel_test::to_bytes;
using kernel_test::write_bytes;
using kernel_test::write_file;
using ::testing::HasSubstr;

// check_complete_elf's complaint; "complete" when it has none.
std::string elf_problem(std::span<const std::byte> bytes) {
  auto complete = check_complete_elf(bytes);
  return complete.ok() ? "complete" : complete.error().message;
}

TEST(KernelImageFormat, Names) {
  EXPECT_EQ(to_string(ImageFormat::Vmlinux), "vmlinux");
  EXPECT_EQ(to_string(ImageFormat::BzImage), "bzImage");
}

TEST(KernelImageFormat, DetectsX86_64Elf) {
  auto format = detect_image_format(make_elf(ElfSpec{}), "vmlinux");
  ASSERT_TRUE(format.ok()) << format.error().message;
  EXPECT_EQ(*format, ImageFormat::Vmlinux);
}

TEST(KernelImageFormat, RejectsOtherElfs) {
  ElfSpec arm;
  arm.machine = 183;  // EM_AARCH64
  auto format = detect_image_format(make_elf(arm), "Image");
  ASSERT_FALSE(format.ok());
  EXPECT_THAT(format.error().message, HasSubstr("Image"));
  EXPECT_THAT(format.error().message, HasSubstr("not an x86-64 kernel"));
  EXPECT_THAT(format.error().message, HasSubstr("machine 183"));

  ElfSpec elf32;
  elf32.elf_class = 1;
  auto format32 = detect_image_format(make_elf(elf32), "vmlinux32");
  ASSERT_FALSE(format32.ok());
  EXPECT_THAT(format32.error().message, HasSubstr("class 1"));

  // Just the magic: too short to say what machine.
  auto stub = detect_image_format(to_bytes("\x7f"
                                           "ELF"),
                                  "stub");
  EXPECT_FALSE(stub.ok());
}

TEST(KernelImageFormat, DetectsBzImageByHdrSAt0x202) {
  const auto image = make_bzimage(BzImageSpec{});
  auto format = detect_image_format(image, "bzImage");
  ASSERT_TRUE(format.ok()) << format.error().message;
  EXPECT_EQ(*format, ImageFormat::BzImage);

  // The same magic one byte off is not a bzImage.
  std::vector<std::byte> shifted(1, std::byte{0});
  shifted.insert(shifted.end(), image.begin(), image.end());
  auto shifted_format = detect_image_format(shifted, "shifted");
  ASSERT_FALSE(shifted_format.ok());
  EXPECT_THAT(shifted_format.error().message, HasSubstr("HdrS"));
}

TEST(KernelImageFormat, GarbageIsAnErrorNamingTheFile) {
  for (const auto& bytes : {std::vector<std::byte>{}, to_bytes("MZ"), to_bytes(std::string(4096, '\0')),
                            to_bytes(std::string(0x202, 'x') + "HdrX" + std::string(100, 'x')),
                            to_bytes(std::string(0x202, 'x') + "Hdr")}) {
    auto format = detect_image_format(bytes, "/path/to/junk");
    ASSERT_FALSE(format.ok()) << bytes.size();
    EXPECT_THAT(format.error().message, HasSubstr("/path/to/junk"));
    EXPECT_THAT(format.error().message, HasSubstr("not a kernel image"));
  }
}

TEST(KernelImageFormat, ParsesTheSetupHeader) {
  BzImageSpec spec;
  spec.decompressor = std::vector<std::byte>(100, std::byte{0xcc});
  spec.payload = std::vector<std::byte>(300, std::byte{0x11});
  const auto header = parse_bzimage_header(make_bzimage(spec));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->protocol, 0x020f);
  EXPECT_EQ(header->payload_start, kernel_test::kBzImageCodeStart + 100);
  EXPECT_EQ(header->payload_length, 300U);
  EXPECT_EQ(header->kernel_version, "7.3.4+test-amd64 (builder@host) #1 SMP PREEMPT_DYNAMIC");
}

TEST(KernelImageFormat, SetupSectsZeroMeansFour) {
  BzImageSpec spec;
  spec.payload = std::vector<std::byte>(16, std::byte{0x11});
  auto image = make_bzimage(spec);
  put_le(image, 0x1f1, 0, 1);
  const auto header = parse_bzimage_header(image);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->payload_start, 5 * 512 + spec.decompressor.size());
}

TEST(KernelImageFormat, OldProtocolHasNoPayloadPointer) {
  BzImageSpec spec;
  spec.protocol = 0x0207;
  spec.payload = std::vector<std::byte>(16, std::byte{0x11});
  const auto header = parse_bzimage_header(make_bzimage(spec));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->protocol, 0x0207);
  EXPECT_EQ(header->payload_start, 0U);
  EXPECT_EQ(header->payload_length, 0U);
}

TEST(KernelImageFormat, HeaderWithoutVersionOrPayload) {
  BzImageSpec spec;
  spec.kernel_version.clear();
  spec.payload_in_header = false;
  const auto header = parse_bzimage_header(make_bzimage(spec));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->kernel_version, "");
  EXPECT_EQ(header->payload_start, 0U);

  // A version pointer past the end of what was read is ignored, not read.
  auto image = make_bzimage(BzImageSpec{});
  put_le(image, 0x20e, 0xfff0, 2);
  const auto far = parse_bzimage_header(image);
  ASSERT_TRUE(far.has_value());
  EXPECT_EQ(far->kernel_version, "");
}

TEST(KernelImageFormat, ParseHeaderRejectsNonBzImages) {
  EXPECT_EQ(parse_bzimage_header({}), std::nullopt);
  EXPECT_EQ(parse_bzimage_header(make_elf(ElfSpec{})), std::nullopt);
  auto image = make_bzimage(BzImageSpec{});
  image.resize(0x205);  // "HdrS" cut off
  EXPECT_EQ(parse_bzimage_header(image), std::nullopt);
}

TEST(KernelImageFormat, LinuxBannerRelease) {
  EXPECT_EQ(find_linux_banner_release(to_bytes("xx Linux version 6.12.10+bpo-cloud-amd64 (gcc) #1\n")),
            "6.12.10+bpo-cloud-amd64");
  // A format string is skipped for the real banner after it.
  EXPECT_EQ(find_linux_banner_release(
                to_bytes(std::string{"Linux version %s (%s)\0Linux version 7.3.4\0more", 46})),
            "7.3.4");
  EXPECT_EQ(find_linux_banner_release(to_bytes("Linux version 7.3.4\nnext")), "7.3.4");
  EXPECT_EQ(find_linux_banner_release(to_bytes("no banner here")), std::nullopt);
  EXPECT_EQ(find_linux_banner_release(to_bytes("Linux version ")), std::nullopt);
  // Cut off at the end: the release might go on.
  EXPECT_EQ(find_linux_banner_release(to_bytes("Linux version 7.3.4+de")), std::nullopt);
}

TEST(KernelImageFormat, ImageReleaseFromBzImageHeader) {
  TempDir tmp;
  BzImageSpec spec;
  spec.kernel_version = "7.3.4+deb13-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC";
  write_bytes(tmp / "vmlinuz", make_bzimage(spec));
  auto release = image_release(tmp / "vmlinuz", ImageFormat::BzImage);
  ASSERT_TRUE(release.ok()) << release.error().message;
  EXPECT_EQ(*release, "7.3.4+deb13-cloud-amd64");

  spec.kernel_version.clear();
  write_bytes(tmp / "anonymous", make_bzimage(spec));
  auto none = image_release(tmp / "anonymous", ImageFormat::BzImage);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, std::nullopt);
}

TEST(KernelImageFormat, ImageReleaseFromVmlinuxBanner) {
  TempDir tmp;
  write_bytes(tmp / "vmlinux", make_elf(ElfSpec{}));
  auto release = image_release(tmp / "vmlinux", ImageFormat::Vmlinux);
  ASSERT_TRUE(release.ok()) << release.error().message;
  EXPECT_EQ(*release, "7.3.4+test-amd64");

  ElfSpec quiet;
  quiet.contents = "no banner";
  write_bytes(tmp / "quiet", make_elf(quiet));
  auto none = image_release(tmp / "quiet", ImageFormat::Vmlinux);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, std::nullopt);

  auto missing = image_release(tmp / "missing", ImageFormat::Vmlinux);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr((tmp / "missing").string()));
}

TEST(KernelImageFormat, ImageReleaseFindsABannerAcrossTheReadChunkBoundary) {
  // The vmlinux scan reads 4 MiB at a time; a banner split by that boundary
  // must still be found, and one deep in the file too.
  constexpr std::size_t kChunk = 4 << 20;
  const std::string banner = "Linux version 6.12.10+bpo-cloud-amd64 (debian-kernel@lists.debian.org) #1";
  TempDir tmp;
  for (const std::size_t at : {kChunk - 20, kChunk - 1, kChunk, 2 * kChunk + 7}) {
    std::string bytes(at + 4096, '\0');
    bytes.replace(0, 4,
                  "\x7f"
                  "ELF");
    bytes.replace(at, banner.size(), banner);
    write_file(tmp / "vmlinux", bytes);
    auto release = image_release(tmp / "vmlinux", ImageFormat::Vmlinux);
    ASSERT_TRUE(release.ok()) << release.error().message;
    EXPECT_EQ(*release, "6.12.10+bpo-cloud-amd64") << "banner at " << at;
  }
}

TEST(KernelImageFormat, CompleteElfPasses) {
  const auto elf = make_elf(ElfSpec{});
  auto complete = check_complete_elf(elf);
  EXPECT_TRUE(complete.ok()) << complete.error().message;
}

TEST(KernelImageFormat, EveryTruncationIsDetected) {
  const auto elf = make_elf(ElfSpec{});
  for (std::size_t size = 0; size < elf.size(); ++size) {
    auto complete = check_complete_elf(std::span{elf}.first(size));
    EXPECT_FALSE(complete.ok()) << "truncated to " << size << " of " << elf.size();
  }
  EXPECT_THAT(elf_problem(std::span{elf}.first(elf.size() - 1)), HasSubstr("section headers"));
}

TEST(KernelImageFormat, TruncatedSegmentAndSectionDataAreNamed) {
  // Section headers right after the program header and the contents last:
  // a cut then loses segment data with the headers intact.
  auto elf = make_elf(ElfSpec{});
  const auto n = static_cast<std::ptrdiff_t>(ElfSpec{}.contents.size());
  const auto data = elf.begin() + kernel_test::kElfSegmentOffset;
  const std::vector<std::byte> sections(elf.end() - 128, elf.end());
  const std::vector<std::byte> contents(data, data + n);
  // The section headers move to 0x100, the contents to 0x200 (the end).
  elf.resize(0x200);
  std::fill(elf.begin() + 0x100, elf.end(), std::byte{0});
  std::copy(sections.begin(), sections.end(), elf.begin() + 0x100);
  elf.insert(elf.end(), contents.begin(), contents.end());
  put_le(elf, 0x28, 0x100, 8);                      // e_shoff
  put_le(elf, kElfProgramHeader + 0x08, 0x200, 8);  // p_offset
  put_le(elf, 0x100 + 64 + 0x18, 0x200, 8);         // sh_offset of section 1
  ASSERT_EQ(elf_problem(elf), "complete");
  EXPECT_THAT(elf_problem(std::span{elf}.first(elf.size() - 1)), HasSubstr("segment 0"));

  // With no program headers, the section is what is cut off.
  put_le(elf, 0x38, 0, 2);
  EXPECT_THAT(elf_problem(std::span{elf}.first(elf.size() - 1)), HasSubstr("section 1"));

  // A NOBITS section (.bss) has no file contents, whatever its size.
  put_le(elf, 0x100 + 64 + 0x04, 8, 4);
  put_le(elf, 0x100 + 64 + 0x20, 0x7fffffff, 8);
  EXPECT_EQ(elf_problem(elf), "complete");
}

TEST(KernelImageFormat, IncompleteElfErrors) {
  EXPECT_THAT(elf_problem(to_bytes("not an elf")), HasSubstr("no ELF header"));

  ElfSpec elf32;
  elf32.elf_class = 1;
  EXPECT_THAT(elf_problem(make_elf(elf32)), HasSubstr("64-bit"));

  auto big_endian = make_elf(ElfSpec{});
  put_le(big_endian, 5, 2, 1);
  EXPECT_THAT(elf_problem(big_endian), HasSubstr("little-endian"));

  auto small_entries = make_elf(ElfSpec{});
  put_le(small_entries, 0x36, 8, 2);  // e_phentsize
  EXPECT_THAT(elf_problem(small_entries), HasSubstr("program header entries"));

  // A header offset so large that offset + count * size overflows.
  auto overflow = make_elf(ElfSpec{});
  put_le(overflow, 0x28, 0xffffffffffffff00, 8);
  EXPECT_THAT(elf_problem(overflow), HasSubstr("section headers"));

  auto huge_segment = make_elf(ElfSpec{});
  put_le(huge_segment, kElfProgramHeader + 0x20, 0xffffffffffffffff, 8);
  EXPECT_THAT(elf_problem(huge_segment), HasSubstr("segment 0"));
}

TEST(KernelImageFormat, ReadFileHead) {
  TempDir tmp;
  std::string text(10000, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<char>('a' + i % 26);
  }
  write_file(tmp / "f", text);

  auto head = read_file_head(tmp / "f", 100);
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(*head, to_bytes(text.substr(0, 100)));

  auto all = read_file_head(tmp / "f", SIZE_MAX);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, to_bytes(text));

  auto more = read_file_head(tmp / "f", 20000);
  ASSERT_TRUE(more.ok()) << more.error().message;
  EXPECT_EQ(more->size(), text.size());

  write_file(tmp / "empty", "");
  auto empty = read_file_head(tmp / "empty", 4096);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->empty());

  auto missing = read_file_head(tmp / "missing", 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr((tmp / "missing").string()));
}

}  // namespace
}  // namespace kstep::host::kernel
