#include "host/initramfs/file_hash_index.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "common/unique_fd.hpp"

namespace kstep::host {

namespace {

constexpr std::string_view kHeader = "kstep-file-hashes 1\n";
constexpr std::size_t kMaxIndexBytes = std::size_t{4} << 20U;

std::int64_t to_ns(const timespec& ts) {
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

FileIdentity identity_of(const struct stat& st) {
  return FileIdentity{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                      static_cast<std::uint64_t>(st.st_size), to_ns(st.st_mtim), to_ns(st.st_ctim)};
}

bool is_hex_digest(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Takes the next space-terminated field off `line`.
std::string_view next_field(std::string_view& line) {
  const auto space = line.find(' ');
  const auto field = line.substr(0, space);
  line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  return field;
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && !text.empty();
}

// "<sha256> <dev> <ino> <size> <mtime_ns> <ctime_ns> <path>"; the path is
// last because it may contain spaces (never a newline: those are not stored).
bool parse_line(std::string_view line, std::string& path, FileIdentity& identity, std::string& sha256) {
  const auto digest = next_field(line);
  if (!is_hex_digest(digest) || !parse_int(next_field(line), identity.dev) ||
      !parse_int(next_field(line), identity.ino) || !parse_int(next_field(line), identity.size) ||
      !parse_int(next_field(line), identity.mtime_ns) || !parse_int(next_field(line), identity.ctime_ns) ||
      line.empty() || line.front() != '/') {
    return false;
  }
  sha256.assign(digest);
  path.assign(line);
  return true;
}

Result<std::string> read_small_file(const std::filesystem::path& path) {
  const UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return fail("cannot open {}: {}", path.string(), std::strerror(errno));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail("cannot read {}: {}", path.string(), std::strerror(errno));
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxIndexBytes) {
      return fail("{} is larger than {} bytes", path.string(), kMaxIndexBytes);
    }
  }
}

Result<void> write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail("cannot write {}: {}", path.string(), std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

FileHashIndex FileHashIndex::load(std::filesystem::path index_file) {
  FileHashIndex index{std::move(index_file)};
  auto text = read_small_file(index.index_file_);
  if (!text || !std::string_view{*text}.starts_with(kHeader)) {
    return index;
  }
  std::string_view rest = std::string_view{*text}.substr(kHeader.size());
  // Lines are stored most recently used first.
  std::vector<std::pair<std::string, Memo>> loaded;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos) {
      break;  // a torn last line
    }
    std::string path;
    Memo memo;
    if (parse_line(rest.substr(0, newline), path, memo.identity, memo.sha256)) {
      loaded.emplace_back(std::move(path), std::move(memo));
    }
    rest.remove_prefix(newline + 1);
  }
  index.clock_ = loaded.size();
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    loaded[i].second.last_used = loaded.size() - i;
    index.entries_.insert(std::move(loaded[i]));
  }
  return index;
}

Result<std::string> FileHashIndex::hash(const std::filesystem::path& file,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::nanoseconds racy_window) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return fail("cannot stat {}: {}", file.string(), std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("{} is not a regular file", file.string());
  }
  const auto key = file.string();
  if (const auto it = entries_.find(key); it != entries_.end() && it->second.identity == identity_of(st)) {
    it->second.last_used = ++clock_;  // in memory only: a warm run writes nothing
    return it->second.sha256;
  }

  const UniqueFd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return fail("cannot open {}: {}", file.string(), std::strerror(errno));
  }
  const auto before = identity_of(st);
  Sha256 hasher;
  std::vector<std::byte> buffer(std::size_t{1} << 18U);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail("cannot read {}: {}", file.string(), std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    hasher.update(std::span{buffer.data(), static_cast<std::size_t>(n)});
  }
  ++files_hashed_;
  const auto digest = hasher.finish();
  auto sha256 = to_hex(digest);

  const bool unchanged = ::fstat(fd.get(), &st) == 0 && identity_of(st) == before;
  const auto newest_ns = std::max(before.mtime_ns, before.ctime_ns);
  const auto settled_before =
      std::chrono::duration_cast<std::chrono::nanoseconds>((now - racy_window).time_since_epoch()).count();
  if (unchanged && newest_ns < settled_before && key.find('\n') == std::string::npos) {
    entries_[key] = Memo{before, sha256, ++clock_};
    dirty_ = true;
  }
  return sha256;
}

Result<void> FileHashIndex::save() {
  if (!dirty_) {
    return {};
  }
  std::vector<const std::pair<const std::string, Memo>*> order;
  order.reserve(entries_.size());
  for (const auto& entry : entries_) {
    order.push_back(&entry);
  }
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->second.last_used > b->second.last_used; });
  if (order.size() > kMaxEntries) {
    order.resize(kMaxEntries);
  }
  std::string text{kHeader};
  for (const auto* entry : order) {
    const auto& [path, memo] = *entry;
    fmt::format_to(std::back_inserter(text), "{} {} {} {} {} {} {}\n", memo.sha256, memo.identity.dev,
                   memo.identity.ino, memo.identity.size, memo.identity.mtime_ns, memo.identity.ctime_ns,
                   path);
  }

  std::string temp = index_file_.string() + ".XXXXXX";
  const UniqueFd fd{::mkostemp(temp.data(), O_CLOEXEC)};
  if (!fd) {
    return fail("cannot create a temporary file next to {}: {}", index_file_.string(), std::strerror(errno));
  }
  auto written = write_all(fd.get(), text, temp);
  if (written && ::fchmod(fd.get(), 0644) != 0) {
    written = fail("cannot chmod {}: {}", temp, std::strerror(errno));
  }
  if (written && ::rename(temp.c_str(), index_file_.c_str()) != 0) {
    written = fail("cannot rename {} to {}: {}", temp, index_file_.string(), std::strerror(errno));
  }
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  dirty_ = false;
  return {};
}

}  // namespace kstep::host
