// Initramfs cache: images named by a hash of their inputs.
//
// key = SHA-256 over (format version, compression, and for each entry in
// destination order: destination, mode, content SHA-256). The image lives at
// <cache_dir>/initramfs/<key>.cpio.zst (or .cpio.gz) and is written once:
// to a temporary file in the same directory, fsynced, then renamed, so a
// reader never sees a partial image and concurrent builders of the same key
// both end with the same bytes.
//
// The warm path (nothing changed) stats each input, finds its hash in the
// FileHashIndex, computes the key and finds the image: no file is read and
// nothing is written. Files are hashed when their stat identity changed,
// and on a miss every file is hashed again as it is archived, so a file
// edited between keying and archiving fails the build instead of caching
// an image under the wrong key.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "host/initramfs/initramfs_archive.hpp"

namespace kstep::host {

// Part of every key: bump it when the archive layout changes (member order,
// header fields, implicit directories), so old images are not reused.
inline constexpr std::string_view kInitramfsFormatVersion = "kstep-initramfs-1";

struct InitramfsCacheOptions {
  // See FileHashIndex: hashes of files modified this recently are not
  // memoized. Tests set it to zero.
  std::chrono::nanoseconds racy_window = std::chrono::seconds{2};
};

struct InitramfsImage {
  std::filesystem::path path;    // <cache_dir>/initramfs/<key><suffix>
  std::string key;               // hex SHA-256
  bool cache_hit = false;        // true: an existing image was reused, nothing written
  std::size_t files_hashed = 0;  // inputs whose content was read to key the image
};

// Returns the cached image for `spec`, building it on a miss. Creates
// <cache_dir>/initramfs if needed.
[[nodiscard]] Result<InitramfsImage> build_initramfs(const InitramfsSpec& spec,
                                                     const std::filesystem::path& cache_dir,
                                                     const InitramfsCacheOptions& options = {});

}  // namespace kstep::host
