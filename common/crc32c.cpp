#include "common/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace kstep {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78U;  // reflected Castagnoli

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1U) != 0 ? (crc >> 1U) ^ kPolynomial : crc >> 1U;
    }
    table[i] = crc;
  }
  return table;
}

constexpr auto kTable = make_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             std::span<const std::byte> bytes) noexcept {
  const auto* data = bytes.data();
  std::size_t size = bytes.size();
  std::uint64_t state = ~crc;
  while (size >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data, sizeof word);
    state = _mm_crc32_u64(state, word);
    data += 8;
    size -= 8;
  }
  auto state32 = static_cast<std::uint32_t>(state);
  while (size-- > 0) {
    state32 = _mm_crc32_u8(state32, static_cast<std::uint8_t>(*data++));
  }
  return ~state32;
}

bool cpu_has_sse42() noexcept {
  // Evaluated once; __builtin_cpu_supports is safe in static binaries after
  // __builtin_cpu_init, which the first call here performs.
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return has;
}
#endif

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, std::span<const std::byte> bytes) noexcept {
  crc = ~crc;
  for (std::byte b : bytes) {
    crc = kTable[(crc ^ static_cast<std::uint8_t>(b)) & 0xFFU] ^ (crc >> 8U);
  }
  return ~crc;
}

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> bytes) noexcept {
#if defined(__x86_64__)
  if (cpu_has_sse42()) {
    return crc32c_sse42(crc, bytes);
  }
#endif
  return crc32c_extend_portable(crc, bytes);
}

}  // namespace kstep
