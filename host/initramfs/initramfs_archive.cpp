#include "host/initramfs/initramfs_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "common/sha256.hpp"
#include "common/unique_fd.hpp"

namespace kstep::host {

namespace {

constexpr std::uint32_t kDirMode = 0755;
constexpr std::size_t kCopyChunk = std::size_t{1} << 18U;

struct ArchiveWriterFree {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriterFree>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

Unexpected<Error> archive_failure(archive* a, std::string_view doing) {
  const char* message = archive_error_string(a);
  return fail("writing the initramfs: {}: {}", doing,
              message != nullptr ? message : "unknown libarchive error");
}

// "init" from "/init"; rejects paths the kernel's unpacker would mishandle.
Result<std::string> normalize_destination(std::string_view destination) {
  const std::string_view original = destination;
  while (!destination.empty() && destination.front() == '/') {
    destination.remove_prefix(1);
  }
  if (destination.empty()) {
    return fail("initramfs entry '{}': the destination path is empty", original);
  }
  std::string_view rest = destination;
  while (true) {
    const auto slash = rest.find('/');
    const auto part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") {
      return fail("initramfs entry '{}': the destination has an empty, '.' or '..' component", original);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  return std::string{destination};
}

// One member of the archive: a file entry or an implicit directory.
struct Member {
  std::string path;
  const InitramfsEntry* file = nullptr;  // nullptr: a directory
};

// Files and their parent directories, in path order. A parent is a strict
// prefix of its children, so it sorts first, which the kernel requires.
Result<std::vector<Member>> layout(const std::vector<InitramfsEntry>& sorted) {
  std::map<std::string, const InitramfsEntry*> members;
  for (const auto& entry : sorted) {
    members.emplace(entry.destination, &entry);
  }
  std::set<std::string> dirs;
  for (const auto& entry : sorted) {
    for (auto slash = entry.destination.find('/'); slash != std::string::npos;
         slash = entry.destination.find('/', slash + 1)) {
      std::string dir = entry.destination.substr(0, slash);
      if (const auto it = members.find(dir); it != members.end() && it->second != nullptr) {
        return fail("initramfs entry '{}' is a file, but '{}' needs it to be a directory", dir,
                    entry.destination);
      }
      dirs.insert(std::move(dir));
    }
  }
  for (const auto& dir : dirs) {
    members.emplace(dir, nullptr);
  }
  std::vector<Member> out;
  out.reserve(members.size());
  for (const auto& [path, file] : members) {
    out.push_back(Member{path, file});
  }
  return out;
}

ArchiveEntry make_header(const std::string& path, mode_t type_and_mode, std::uint64_t size, unsigned nlink,
                         std::int64_t ino) {
  ArchiveEntry entry{archive_entry_new()};
  if (!entry) {
    return entry;
  }
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_mode(entry.get(), type_and_mode);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
  archive_entry_set_nlink(entry.get(), nlink);
  // Unique synthetic inodes: the kernel treats equal (dev, ino) with
  // nlink > 1 as hard links, and real inode numbers would break determinism.
  archive_entry_set_ino64(entry.get(), ino);
  archive_entry_set_dev(entry.get(), 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  return entry;
}

Result<WrittenFile> add_file(archive* a, const Member& member, std::int64_t ino,
                             std::vector<std::byte>& buffer) {
  const auto& source = member.file->source;
  const UniqueFd fd{::open(source.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return fail("initramfs entry '{}': cannot open {}: {}", member.path, source.string(),
                std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail("initramfs entry '{}': cannot stat {}: {}", member.path, source.string(),
                std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("initramfs entry '{}': {} is not a regular file", member.path, source.string());
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const auto header = make_header(member.path, S_IFREG | member.file->mode, size, 1, ino);
  if (!header) {
    return fail("writing the initramfs: out of memory");
  }
  if (archive_write_header(a, header.get()) != ARCHIVE_OK) {
    return archive_failure(a, member.path);
  }
  // The header promised `size` bytes: copy exactly that many, so a file
  // that grows meanwhile yields a hash mismatch rather than a corrupt archive.
  Sha256 hash;
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(fd.get(), buffer.data(), std::min<std::uint64_t>(buffer.size(), left));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail("initramfs entry '{}': cannot read {}: {}", member.path, source.string(),
                  std::strerror(errno));
    }
    if (n == 0) {
      return fail("initramfs entry '{}': {} shrank while it was being archived", member.path,
                  source.string());
    }
    const std::span chunk{buffer.data(), static_cast<std::size_t>(n)};
    hash.update(chunk);
    if (archive_write_data(a, chunk.data(), chunk.size()) != n) {
      return archive_failure(a, member.path);
    }
    left -= static_cast<std::uint64_t>(n);
  }
  const auto digest = hash.finish();
  return WrittenFile{member.path, to_hex(digest), size};
}

Result<void> set_filter(archive* a, Compression compression) {
  if (compression == Compression::Zstd) {
    if (archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
      return archive_failure(a, "enabling zstd");
    }
    return {};
  }
  if (archive_write_add_filter_gzip(a) != ARCHIVE_OK) {
    return archive_failure(a, "enabling gzip");
  }
  // Without this the gzip header carries the current time.
  if (archive_write_set_filter_option(a, "gzip", "timestamp", nullptr) != ARCHIVE_OK) {
    return archive_failure(a, "disabling the gzip timestamp");
  }
  return {};
}

}  // namespace

std::string_view to_string(Compression compression) noexcept {
  return compression == Compression::Zstd ? "zstd" : "gzip";
}

std::string_view image_suffix(Compression compression) noexcept {
  return compression == Compression::Zstd ? ".cpio.zst" : ".cpio.gz";
}

Result<std::vector<InitramfsEntry>> normalize_entries(const std::vector<InitramfsEntry>& entries) {
  std::vector<InitramfsEntry> out;
  out.reserve(entries.size());
  for (const auto& entry : entries) {
    auto destination = normalize_destination(entry.destination);
    if (!destination) {
      return Unexpected{std::move(destination).error()};
    }
    if (entry.source.empty()) {
      return fail("initramfs entry '{}': the source path is empty", entry.destination);
    }
    if ((entry.mode & ~std::uint32_t{07777}) != 0) {
      return fail("initramfs entry '{}': mode {:o} has bits beyond 07777 (give permission bits only)",
                  entry.destination, entry.mode);
    }
    out.push_back(InitramfsEntry{entry.source, std::move(destination).value(), entry.mode});
  }
  std::sort(out.begin(), out.end(),
            [](const InitramfsEntry& a, const InitramfsEntry& b) { return a.destination < b.destination; });
  const auto duplicate = std::adjacent_find(
      out.begin(), out.end(),
      [](const InitramfsEntry& a, const InitramfsEntry& b) { return a.destination == b.destination; });
  if (duplicate != out.end()) {
    return fail("initramfs entry '{}' appears more than once", duplicate->destination);
  }
  return out;
}

Result<std::vector<WrittenFile>> write_initramfs(const InitramfsSpec& spec, int out_fd) {
  auto entries = normalize_entries(spec.entries);
  if (!entries) {
    return Unexpected{std::move(entries).error()};
  }
  auto members = layout(*entries);
  if (!members) {
    return Unexpected{std::move(members).error()};
  }

  const ArchiveWriter a{archive_write_new()};
  if (!a) {
    return fail("writing the initramfs: out of memory");
  }
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK) {
    return archive_failure(a.get(), "selecting cpio newc");
  }
  KSTEP_TRY(set_filter(a.get(), spec.compression));
  // No zero padding after the compressed stream: the image ends where the
  // compressor's output ends.
  if (archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK) {
    return archive_failure(a.get(), "disabling block padding");
  }
  if (archive_write_open_fd(a.get(), out_fd) != ARCHIVE_OK) {
    return archive_failure(a.get(), "opening the output");
  }

  std::vector<WrittenFile> written;
  written.reserve(entries->size());
  std::vector<std::byte> buffer(kCopyChunk);
  std::int64_t ino = 1;
  for (const auto& member : *members) {
    if (member.file == nullptr) {
      const auto header = make_header(member.path, S_IFDIR | kDirMode, 0, 2, ino++);
      if (!header) {
        return fail("writing the initramfs: out of memory");
      }
      if (archive_write_header(a.get(), header.get()) != ARCHIVE_OK) {
        return archive_failure(a.get(), member.path);
      }
      continue;
    }
    auto file = add_file(a.get(), member, ino++, buffer);
    if (!file) {
      return Unexpected{std::move(file).error()};
    }
    written.push_back(std::move(file).value());
  }
  // close() flushes the compressor and writes the cpio trailer.
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return archive_failure(a.get(), "finishing the archive");
  }
  return written;
}

}  // namespace kstep::host
