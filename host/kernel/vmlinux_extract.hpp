// vmlinux extraction: the kernel ELF inside a compressed bzImage (vmlinuz).
//
// A bzImage carries vmlinux compressed (zstd on current Debian kernels,
// gzip or xz on others) behind a small decompressor. kstep wants the ELF:
// QEMU boots it through PVH without the decompressor (~0.8 s faster), and it
// holds the kernel's BTF.
//
// Where the compressed stream starts: from the setup header (payload_offset,
// protocol 2.08+) when present, else the first stream magic found
// (28 b5 2f fd zstd, 1f 8b 08 gzip, fd 37 7a 58 5a 00 xz). Where it ends
// matters too: the kernel appends the uncompressed size after the stream, and
// libarchive's zstd and xz readers fail on trailing bytes and drop the output
// they still had buffered. So a zstd frame is measured by walking its block
// headers, and an xz stream ends at its "YZ" footer; gzip stops by itself.
// Whatever the decoder says, the output is accepted only if it is a complete
// ELF (check_complete_elf), and rejected otherwise.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace kstep::host::kernel {

// The exact size of the zstd frame at the start of `bytes`, found by walking
// its block headers; nullopt if it is not a whole, well-formed frame.
[[nodiscard]] std::optional<std::size_t> zstd_frame_size(std::span<const std::byte> bytes);

// The vmlinux ELF inside `bzimage` (or inside any blob that contains one
// compressed stream). `name` goes into errors.
[[nodiscard]] Result<std::vector<std::byte>> extract_vmlinux(std::span<const std::byte> bzimage,
                                                             std::string_view name);

// Reads `bzimage`, writes the ELF to `out` (through a temporary file in the
// same directory, renamed into place, so `out` is whole or absent).
[[nodiscard]] Result<void> extract_vmlinux_file(const std::filesystem::path& bzimage,
                                                const std::filesystem::path& out);

}  // namespace kstep::host::kernel
