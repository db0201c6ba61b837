#include "guest/text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/unique_fd.hpp"

namespace kstep::guest {

Result<std::string> read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
  // Plain read(2) rather than iostreams: no locale, no exceptions, and sysfs
  // attributes report a size of 4096 whatever they hold, so stat is useless.
  UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return fail("reading {}: {}", path.string(), std::strerror(errno));
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("reading {}: {}", path.string(), std::strerror(errno));
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      return fail("reading {}: larger than {} bytes", path.string(), max_bytes);
    }
  }
}

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

Result<std::string> read_trimmed(const std::filesystem::path& path) {
  auto text = read_text_file(path);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  return std::string{trim(*text)};
}

Result<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) {
    return fail("'{}' is not an unsigned number", text);
  }
  return value;
}

Result<std::uint64_t> read_unsigned(const std::filesystem::path& path) {
  auto text = read_trimmed(path);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  auto value = parse_unsigned(*text);
  if (!value) {
    return Unexpected{value.error().context(fmt::format("reading {}", path.string()))};
  }
  return value;
}

}  // namespace kstep::guest
