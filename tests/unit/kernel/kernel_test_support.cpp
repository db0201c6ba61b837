#include "tests/unit/kernel/kernel_test_support.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include <gtest/gtest.h>

namespace kstep::kernel_test {
namespace fs = std::filesystem;

fs::path config_sample(std::string_view name) {
  return fs::path{KSTEP_TEST_DATA_DIR} / "kernel-configs" / name;
}

TempDir::TempDir() {
  auto dir = host::PrivateDir::create(host::temp_root(std::getenv("TMPDIR")), "kstep-kernel-test-");
  if (!dir) {
    ADD_FAILURE() << "cannot create a temporary directory: " << dir.error().message;
    return;
  }
  dir_.emplace(std::move(dir).value());
}

void write_file(const fs::path& path, std::string_view content) {
  write_bytes(path, {reinterpret_cast<const std::byte*>(content.data()), content.size()});
}

void write_bytes(const fs::path& path, std::span<const std::byte> content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  ASSERT_FALSE(ec) << path << ": " << ec.message();
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
  out.close();
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::vector<std::byte> to_bytes(std::string_view text) {
  const auto* begin = reinterpret_cast<const std::byte*>(text.data());
  return {begin, begin + text.size()};
}

void put_le(std::vector<std::byte>& bytes, std::size_t offset, std::uint64_t value, std::size_t width) {
  if (bytes.size() < offset + width) {
    bytes.resize(offset + width);
  }
  for (std::size_t i = 0; i < width; ++i) {
    bytes[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
  }
}

std::vector<std::byte> make_elf(const ElfSpec& spec) {
  const std::size_t n = spec.contents.size();
  const std::size_t shoff = (kElfSegmentOffset + n + 7) / 8 * 8;
  std::vector<std::byte> elf(shoff + 2 * 64);
  const std::string_view ident{
      "\x7f"
      "ELF"};
  for (std::size_t i = 0; i < ident.size(); ++i) {
    elf[i] = static_cast<std::byte>(ident[i]);
  }
  put_le(elf, 4, spec.elf_class, 1);
  put_le(elf, 5, 1, 1);   // little-endian
  put_le(elf, 6, 1, 1);   // EV_CURRENT
  put_le(elf, 16, 2, 2);  // ET_EXEC
  put_le(elf, 18, spec.machine, 2);
  put_le(elf, 20, 1, 4);
  put_le(elf, 0x20, kElfProgramHeader, 8);  // e_phoff
  put_le(elf, 0x28, shoff, 8);              // e_shoff
  put_le(elf, 0x34, 64, 2);                 // e_ehsize
  put_le(elf, 0x36, 56, 2);                 // e_phentsize
  put_le(elf, 0x38, 1, 2);                  // e_phnum
  put_le(elf, 0x3a, 64, 2);                 // e_shentsize
  put_le(elf, 0x3c, 2, 2);                  // e_shnum

  // PT_LOAD of the contents.
  put_le(elf, kElfProgramHeader + 0x00, 1, 4);
  put_le(elf, kElfProgramHeader + 0x04, 5, 4);
  put_le(elf, kElfProgramHeader + 0x08, kElfSegmentOffset, 8);
  put_le(elf, kElfProgramHeader + 0x10, 0xffffffff81000000, 8);
  put_le(elf, kElfProgramHeader + 0x20, n, 8);  // p_filesz
  put_le(elf, kElfProgramHeader + 0x28, n, 8);  // p_memsz

  for (std::size_t i = 0; i < n; ++i) {
    elf[kElfSegmentOffset + i] = static_cast<std::byte>(spec.contents[i]);
  }

  // Section 0 is the null section; section 1 a PROGBITS over the contents.
  const std::size_t section = shoff + 64;
  put_le(elf, section + 0x04, 1, 4);
  put_le(elf, section + 0x18, kElfSegmentOffset, 8);
  put_le(elf, section + 0x20, n, 8);
  return elf;
}

std::vector<std::byte> compress(std::span<const std::byte> data, Codec codec) {
  struct WriteDeleter {
    void operator()(archive* a) const noexcept { archive_write_free(a); }
  };
  struct EntryDeleter {
    void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
  };
  std::unique_ptr<archive, WriteDeleter> writer{archive_write_new()};
  int added = ARCHIVE_FATAL;
  switch (codec) {
    case Codec::Gzip: added = archive_write_add_filter_gzip(writer.get()); break;
    case Codec::Zstd: added = archive_write_add_filter_zstd(writer.get()); break;
    case Codec::Xz: added = archive_write_add_filter_xz(writer.get()); break;
  }
  EXPECT_EQ(added, ARCHIVE_OK) << archive_error_string(writer.get());
  EXPECT_EQ(archive_write_set_format_raw(writer.get()), ARCHIVE_OK);
  // No blocking: libarchive would otherwise pad the output with zeros.
  EXPECT_EQ(archive_write_set_bytes_per_block(writer.get(), 0), ARCHIVE_OK);
  std::vector<std::byte> out(data.size() + 64 * 1024);
  std::size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(writer.get(), out.data(), out.size(), &used), ARCHIVE_OK)
      << archive_error_string(writer.get());
  std::unique_ptr<archive_entry, EntryDeleter> entry{archive_entry_new()};
  archive_entry_set_pathname(entry.get(), "vmlinux");
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  EXPECT_EQ(archive_write_header(writer.get(), entry.get()), ARCHIVE_OK)
      << archive_error_string(writer.get());
  EXPECT_EQ(archive_write_data(writer.get(), data.data(), data.size()), static_cast<la_ssize_t>(data.size()))
      << archive_error_string(writer.get());
  EXPECT_EQ(archive_write_close(writer.get()), ARCHIVE_OK) << archive_error_string(writer.get());
  out.resize(used);
  return out;
}

std::vector<std::byte> make_bzimage(const BzImageSpec& spec) {
  std::vector<std::byte> image(kBzImageCodeStart);
  put_le(image, 0x1f1, 1, 1);  // setup_sects
  put_le(image, 0x1fe, 0xaa55, 2);
  const std::string_view magic = "HdrS";
  for (std::size_t i = 0; i < magic.size(); ++i) {
    image[0x202 + i] = static_cast<std::byte>(magic[i]);
  }
  put_le(image, 0x206, spec.protocol, 2);
  if (!spec.kernel_version.empty()) {
    constexpr std::size_t kVersionAt = 0x300;
    put_le(image, 0x20e, kVersionAt - 0x200, 2);
    for (std::size_t i = 0; i < spec.kernel_version.size(); ++i) {
      image[kVersionAt + i] = static_cast<std::byte>(spec.kernel_version[i]);
    }
  }
  if (spec.payload_in_header) {
    put_le(image, 0x248, spec.decompressor.size(), 4);
    put_le(image, 0x24c, spec.payload.size(), 4);
  }
  image.insert(image.end(), spec.decompressor.begin(), spec.decompressor.end());
  image.insert(image.end(), spec.payload.begin(), spec.payload.end());
  return image;
}

std::vector<std::byte> with_size_trailer(std::vector<std::byte> stream, std::uint32_t size) {
  const std::size_t at = stream.size();
  put_le(stream, at, size, 4);
  return stream;
}

}  // namespace kstep::kernel_test
