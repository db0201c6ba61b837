// FileHashIndex: memoized content hashes ("direct mode", as in ccache).
//
// Hashing a 4 MB agent on every run would cost more than the whole warm
// path may (20 ms), so each file's SHA-256 is remembered together with its
// identity: (st_dev, st_ino, size, mtime ns, ctime ns). A file is re-hashed
// only when that identity changes. ctime is in the key because it cannot
// be set back from user space: restoring an old mtime after a same-size
// edit still changes the identity.
//
// Racy files: timestamps come from a coarse clock, so a file written twice
// within one tick keeps its identity. A hash is therefore only memoized when
// the file's timestamps are at least `racy_window` older than the moment
// hashing started; fresher files are hashed again next time.
//
// The index is a small text file. It is only a cache: a missing or
// malformed index is treated as empty, and concurrent writers replace it
// atomically (the last one wins; a lost entry only costs one re-hash).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace kstep::host {

struct FileIdentity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;

  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

class FileHashIndex {
 public:
  // Index files that grow past this many entries keep the most recent ones.
  static constexpr std::size_t kMaxEntries = 512;

  // Reads `index_file`; a missing or unreadable one gives an empty index.
  [[nodiscard]] static FileHashIndex load(std::filesystem::path index_file);

  // The hex SHA-256 of `file`'s content, from the memo when its identity is
  // unchanged, else by reading it. `file` should be absolute (the memo is
  // keyed by path). `now` is the wall-clock time hashing started (for the
  // racy check).
  [[nodiscard]] Result<std::string> hash(const std::filesystem::path& file,
                                         std::chrono::system_clock::time_point now,
                                         std::chrono::nanoseconds racy_window);

  // Files read by hash() since load().
  [[nodiscard]] std::size_t files_hashed() const noexcept { return files_hashed_; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

  // Writes the index back (temp file + rename) if hash() changed it.
  [[nodiscard]] Result<void> save();

 private:
  struct Memo {
    FileIdentity identity;
    std::string sha256;
    std::uint64_t last_used = 0;  // load order for old entries, then bumped per use
  };

  explicit FileHashIndex(std::filesystem::path index_file) : index_file_(std::move(index_file)) {}

  std::filesystem::path index_file_;
  std::map<std::string, Memo> entries_;
  std::uint64_t clock_ = 0;
  std::size_t files_hashed_ = 0;
  bool dirty_ = false;
};

}  // namespace kstep::host
