// Helpers for the Kernel* unit tests: a temporary directory per test,
// file writing, and synthetic kernel images (an x86-64 ELF with a Linux
// banner, a bzImage with a compressed payload) built in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/vm/private_dir.hpp"

namespace kstep::kernel_test {

// tests/data/kernel-configs/<name>.
[[nodiscard]] std::filesystem::path config_sample(std::string_view name);

// A fresh private directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_->path(); }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path() / name; }

 private:
  std::optional<host::PrivateDir> dir_;
};

// Creates parent directories as needed; fails the test on error.
void write_file(const std::filesystem::path& path, std::string_view content);
void write_bytes(const std::filesystem::path& path, std::span<const std::byte> content);
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

[[nodiscard]] std::vector<std::byte> to_bytes(std::string_view text);
// Stores the low `width` bytes of `value` little-endian at `offset`.
void put_le(std::vector<std::byte>& bytes, std::size_t offset, std::uint64_t value, std::size_t width);

// A little-endian ELF64 (x86-64 unless `machine` says otherwise): one
// program segment holding `contents`, then a null and a PROGBITS section
// header at the very end of the file (so any truncation cuts them off).
struct ElfSpec {
  std::string contents = "Linux version 7.3.4+test-amd64 (builder@host) #1 SMP";
  std::uint16_t machine = 62;
  std::uint8_t elf_class = 2;  // 2: 64-bit
};
[[nodiscard]] std::vector<std::byte> make_elf(const ElfSpec& spec);
// Where make_elf puts things.
inline constexpr std::size_t kElfSegmentOffset = 0x100;
inline constexpr std::size_t kElfProgramHeader = 64;

enum class Codec { Gzip, Zstd, Xz };
// `data` compressed with libarchive's in-library encoder, one whole stream.
[[nodiscard]] std::vector<std::byte> compress(std::span<const std::byte> data, Codec codec);

// A bzImage: boot sector and setup header (setup_sects = 1, so the
// protected-mode code starts at 1024), a fake decompressor, the payload.
struct BzImageSpec {
  std::uint16_t protocol = 0x020f;
  std::string kernel_version = "7.3.4+test-amd64 (builder@host) #1 SMP PREEMPT_DYNAMIC";  // empty: no pointer
  std::vector<std::byte> decompressor = std::vector<std::byte>(64, std::byte{0x90});
  std::vector<std::byte> payload;  // placed right after the decompressor
  bool payload_in_header = true;   // payload_offset/length set (needs protocol >= 2.08)
};
inline constexpr std::size_t kBzImageCodeStart = 1024;
[[nodiscard]] std::vector<std::byte> make_bzimage(const BzImageSpec& spec);

// `stream` followed by the 4-byte little-endian `size`, as kbuild appends it.
[[nodiscard]] std::vector<std::byte> with_size_trailer(std::vector<std::byte> stream, std::uint32_t size);

}  // namespace kstep::kernel_test
