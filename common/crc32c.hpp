// CRC32C (Castagnoli), the checksum of every wire frame.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (every x86-64 host
// and QEMU's default guest CPU model do), a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kstep {

// Extends `crc` (0 for a fresh checksum) over `bytes`.
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> bytes) noexcept;

[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::byte> bytes) noexcept {
  return crc32c_extend(0, bytes);
}

// The portable path, exposed so tests can check it against the hardware one.
[[nodiscard]] std::uint32_t crc32c_extend_portable(std::uint32_t crc,
                                                   std::span<const std::byte> bytes) noexcept;

}  // namespace kstep
