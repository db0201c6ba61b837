#include "guest/workers/proc_sched.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kstep::guest::workers {

std::optional<std::uint64_t> parse_nr_migrations(std::string_view text) noexcept {
  constexpr std::string_view kKey = "se.nr_migrations";
  std::size_t at = 0;
  for (;;) {
    at = text.find(kKey, at);
    if (at == std::string_view::npos) {
      return std::nullopt;
    }
    // Whole key at the start of a line: "se.nr_migrations_x" must not match.
    const std::size_t end = at + kKey.size();
    const bool line_start = at == 0 || text[at - 1] == '\n';
    if (line_start && end < text.size() && (text[end] == ' ' || text[end] == ':')) {
      break;
    }
    at = end;
  }
  std::size_t pos = at + kKey.size();
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
    ++pos;
  }
  if (pos >= text.size() || text[pos] != ':') {
    return std::nullopt;
  }
  ++pos;
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
    ++pos;
  }
  std::uint64_t value = 0;
  bool any = false;
  for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
    value = value * 10 + static_cast<std::uint64_t>(text[pos] - '0');
    any = true;
  }
  if (!any) {
    return std::nullopt;
  }
  return value;
}

std::uint64_t read_nr_migrations(const char* path) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  // The key is among the first lines; 4 KiB holds it with room to spare.
  char buffer[4096];
  std::size_t used = 0;
  while (used < sizeof buffer) {
    const ssize_t n = ::read(fd, buffer + used, sizeof buffer - used);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return parse_nr_migrations(std::string_view{buffer, used}).value_or(0);
}

}  // namespace kstep::guest::workers
