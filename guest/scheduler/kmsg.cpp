#include "guest/scheduler/kmsg.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace kstep::guest {

std::optional<KmsgRecord> parse_kmsg_record(std::string_view record) {
  const auto semicolon = record.find(';');
  if (semicolon == std::string_view::npos) {
    return std::nullopt;
  }
  // Fields: prio, seq, timestamp, flags; the timestamp is the third.
  const std::string_view prefix = record.substr(0, semicolon);
  const auto first = prefix.find(',');
  const auto second = first == std::string_view::npos ? first : prefix.find(',', first + 1);
  if (second == std::string_view::npos) {
    return std::nullopt;
  }
  const auto third = prefix.find(',', second + 1);
  const std::string_view stamp = prefix.substr(
      second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1);
  KmsgRecord parsed;
  const auto [end, error] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), parsed.timestamp_us);
  if (error != std::errc{} || end != stamp.data() + stamp.size()) {
    return std::nullopt;
  }
  std::string_view text = record.substr(semicolon + 1);
  text = text.substr(0, text.find('\n'));
  parsed.text = std::string{text};
  return parsed;
}

Result<KmsgWatch> KmsgWatch::open(const std::filesystem::path& path) {
  UniqueFd fd{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (!fd) {
    return fail("opening {}: {}", path.string(), std::strerror(errno));
  }
  // SEEK_END on /dev/kmsg moves past every record logged so far. A regular
  // file (unit tests) starts at its end the same way.
  if (::lseek(fd.get(), 0, SEEK_END) < 0) {
    return fail("seeking to the end of {}: {}", path.string(), std::strerror(errno));
  }
  return KmsgWatch{std::move(fd)};
}

std::vector<KmsgRecord> KmsgWatch::drain() {
  std::vector<KmsgRecord> records;
  // 8 KiB holds the longest /dev/kmsg record.
  std::array<char, 8192> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n > 0) {
      // /dev/kmsg gives one record per read; a regular file (unit tests)
      // gives many. Continuation lines (" KEY=value") start with a space.
      std::string_view chunk{buffer.data(), static_cast<std::size_t>(n)};
      while (!chunk.empty()) {
        const auto newline = chunk.find('\n');
        const std::string_view line = chunk.substr(0, newline);
        chunk = newline == std::string_view::npos ? std::string_view{} : chunk.substr(newline + 1);
        if (!line.empty() && line.front() != ' ') {
          if (auto record = parse_kmsg_record(line)) {
            records.push_back(std::move(*record));
          }
        }
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    // EPIPE: the ring buffer overwrote records we had not read; the next
    // read continues with the oldest one still there.
    if (n < 0 && errno == EPIPE) {
      continue;
    }
    return records;  // EAGAIN: nothing more now; 0: end of a regular file
  }
}

}  // namespace kstep::guest
