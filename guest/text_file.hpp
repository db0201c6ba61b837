// Small readers for the one-value text files of sysfs and procfs.
//
// Every reader names the path in its error, so a failure deep in Hello
// building reads as "reading /sys/.../core_id: No such file or directory".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace kstep::guest {

// The whole file. sysfs files are small; the cap guards against a wrong path
// pointing at something huge.
[[nodiscard]] Result<std::string> read_text_file(const std::filesystem::path& path,
                                                 std::size_t max_bytes = 1U << 20U);

// The file with surrounding whitespace (sysfs's trailing newline) removed.
[[nodiscard]] Result<std::string> read_trimmed(const std::filesystem::path& path);

// A file holding one unsigned decimal number.
[[nodiscard]] Result<std::uint64_t> read_unsigned(const std::filesystem::path& path);

[[nodiscard]] std::string_view trim(std::string_view text) noexcept;

// Parses the whole of `text` (already trimmed) as an unsigned decimal.
[[nodiscard]] Result<std::uint64_t> parse_unsigned(std::string_view text);

}  // namespace kstep::guest
