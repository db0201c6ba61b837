// Initramfs archive: a compressed cpio (newc) image written with libarchive.
//
// The image is a pure function of its inputs (the entries' destinations,
// modes and contents, and the compression): every header has mtime 0,
// uid/gid 0, synthetic inode numbers, and the members appear sorted by path,
// each directory before what it contains. So equal inputs give equal bytes,
// and the cache (initramfs_cache.hpp) may name images by a content hash.
//
// Parent directories of every destination are added implicitly (mode 0755):
// the kernel's unpacker does not create them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::host {

// The caller picks what the kernel can unpack: CONFIG_RD_ZSTD or CONFIG_RD_GZIP.
enum class Compression { Zstd, Gzip };

[[nodiscard]] std::string_view to_string(Compression compression) noexcept;
// ".cpio.zst" or ".cpio.gz".
[[nodiscard]] std::string_view image_suffix(Compression compression) noexcept;

struct InitramfsEntry {
  std::filesystem::path source;  // a regular file on the host
  std::string destination;    // path in the image, e.g. "init" or "bin/scx_simple"; a leading '/' is ignored
  std::uint32_t mode = 0755;  // permission bits only (at most 07777)
};

struct InitramfsSpec {
  std::vector<InitramfsEntry> entries;
  Compression compression = Compression::Zstd;
};

// Checks the entries and returns them sorted by destination, with the
// destination normalised (no leading '/'). Rejects empty, "." and ".."
// components, duplicates, a file that is also another entry's parent,
// mode bits beyond 07777 and empty source paths.
[[nodiscard]] Result<std::vector<InitramfsEntry>> normalize_entries(
    const std::vector<InitramfsEntry>& entries);

// A file as it went into the image.
struct WrittenFile {
  std::string destination;  // normalised
  std::string sha256;       // hex, of the bytes written
  std::uint64_t size = 0;
};

// Writes the compressed image to `out_fd` (left open, not synced). Returns
// the files in image order with the hash of what was actually written, so a
// caller that keyed the image by earlier hashes can detect a file that
// changed in between.
[[nodiscard]] Result<std::vector<WrittenFile>> write_initramfs(const InitramfsSpec& spec, int out_fd);

}  // namespace kstep::host
