// Kernel image formats, told apart by their bytes, never by file name.
//
//   vmlinux  an x86-64 ELF; QEMU boots it through its PVH entry (faster, and
//            it is the file that carries BTF).
//   bzImage  the x86 boot protocol image: "HdrS" at 0x202, then the setup
//            header (boot protocol, Documentation/arch/x86/boot.rst) that
//            points at the kernel version string and, from protocol 2.08,
//            at the compressed vmlinux payload.
//
// Also the ELF completeness check the vmlinux extractor relies on: a
// decompressor that stops early yields a prefix of the ELF, and a prefix
// lacks the section headers at the end of the file or some section's data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::host::kernel {

enum class ImageFormat { Vmlinux, BzImage };

[[nodiscard]] std::string_view to_string(ImageFormat format) noexcept;

// The bzImage setup header fields kstep uses.
struct BzImageHeader {
  std::uint16_t protocol = 0;     // boot protocol version, 0x020f = 2.15
  std::size_t payload_start = 0;  // absolute file offset of the compressed vmlinux; 0 if not given
  std::size_t payload_length = 0;
  std::string kernel_version;  // "7.3.4+deb13-cloud-amd64 (debian-kernel@...) #1 SMP ..."; may be empty
};

// nullopt unless `image` starts with a bzImage setup header.
[[nodiscard]] std::optional<BzImageHeader> parse_bzimage_header(std::span<const std::byte> image);

// Identifies an image from its first bytes (pass at least 4 KiB when the file
// has them). `name` (the file) goes into the error.
[[nodiscard]] Result<ImageFormat> detect_image_format(std::span<const std::byte> head, std::string_view name);

// "Linux version 7.3.4+deb13-cloud-amd64 (...)" somewhere in `bytes` ->
// "7.3.4+deb13-cloud-amd64". The first banner whose release starts with a digit.
[[nodiscard]] std::optional<std::string> find_linux_banner_release(std::span<const std::byte> bytes);

// The release an image file says it is: the bzImage header's version string,
// or the banner in a vmlinux (scanned in chunks; a vmlinux is ~60 MB).
// Best effort: nullopt when the image does not say.
[[nodiscard]] Result<std::optional<std::string>> image_release(const std::filesystem::path& path,
                                                               ImageFormat format);

// Ok when `bytes` is a whole little-endian ELF64: its program and section
// header tables and every program segment and section with file contents lie
// within `bytes`. The error says what is cut off.
[[nodiscard]] Result<void> check_complete_elf(std::span<const std::byte> bytes);

// Reads up to `limit` bytes from the start of `path` (SIZE_MAX: the whole file).
[[nodiscard]] Result<std::vector<std::byte>> read_file_head(const std::filesystem::path& path,
                                                            std::size_t limit);

}  // namespace kstep::host::kernel
