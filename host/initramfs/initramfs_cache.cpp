#include "host/initramfs/initramfs_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "common/unique_fd.hpp"
#include "host/initramfs/file_hash_index.hpp"

namespace kstep::host {

namespace {

constexpr std::string_view kIndexName = "file-hashes";

// Every field is length-prefixed, so no two different inputs share a key
// through a clever choice of names.
std::string compute_key(Compression compression, const std::vector<InitramfsEntry>& entries,
                        const std::vector<std::string>& hashes) {
  Sha256 key;
  const auto field = [&key](std::string_view value) {
    key.update(fmt::format("{}:", value.size()));
    key.update(value);
  };
  field(kInitramfsFormatVersion);
  field(to_string(compression));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    field(entries[i].destination);
    field(fmt::format("{:o}", entries[i].mode));
    field(hashes[i]);
  }
  const auto digest = key.finish();
  return to_hex(digest);
}

bool usable_image(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

// A temporary file that is unlinked unless committed by rename.
class PendingFile {
 public:
  static Result<PendingFile> create(const std::filesystem::path& final_path) {
    std::string temp = final_path.string() + ".tmp.XXXXXX";
    UniqueFd fd{::mkostemp(temp.data(), O_CLOEXEC)};
    if (!fd) {
      return fail("cannot create a temporary file in {}: {}", final_path.parent_path().string(),
                  std::strerror(errno));
    }
    return PendingFile{std::move(temp), final_path, std::move(fd)};
  }
  PendingFile(PendingFile&&) noexcept = default;
  PendingFile& operator=(PendingFile&&) = delete;
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile() {
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
    }
  }

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

  // Makes the file durable and visible under its final name.
  Result<void> commit() {
    if (::fchmod(fd_.get(), 0644) != 0 || ::fsync(fd_.get()) != 0) {
      return fail("cannot finish {}: {}", temp_, std::strerror(errno));
    }
    if (::rename(temp_.c_str(), final_.c_str()) != 0) {
      return fail("cannot rename {} to {}: {}", temp_, final_.string(), std::strerror(errno));
    }
    temp_.clear();
    return {};
  }

 private:
  PendingFile(std::string temp, std::filesystem::path final_path, UniqueFd fd)
      : temp_(std::move(temp)), final_(std::move(final_path)), fd_(std::move(fd)) {}

  std::string temp_;
  std::filesystem::path final_;
  UniqueFd fd_;
};

Result<void> write_image(const InitramfsSpec& spec, const std::vector<InitramfsEntry>& entries,
                         const std::vector<std::string>& hashes, const std::filesystem::path& image) {
  auto pending = PendingFile::create(image);
  if (!pending) {
    return Unexpected{std::move(pending).error()};
  }
  auto written = write_initramfs(spec, pending->fd());
  if (!written) {
    return Unexpected{std::move(written).error().context(fmt::format("building {}", image.string()))};
  }
  // write_initramfs orders its files as normalize_entries does.
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if ((*written)[i].sha256 != hashes[i]) {
      return fail("initramfs entry '{}': {} changed while the initramfs was being built; try again",
                  entries[i].destination, entries[i].source.string());
    }
  }
  return pending->commit();
}

}  // namespace

Result<InitramfsImage> build_initramfs(const InitramfsSpec& spec, const std::filesystem::path& cache_dir,
                                       const InitramfsCacheOptions& options) {
  auto entries = normalize_entries(spec.entries);
  if (!entries) {
    return Unexpected{std::move(entries).error()};
  }
  const auto dir = cache_dir / "initramfs";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail("cannot create the initramfs cache {}: {}", dir.string(), ec.message());
  }

  auto index = FileHashIndex::load(dir / kIndexName);
  const auto now = std::chrono::system_clock::now();
  std::vector<std::string> hashes;
  hashes.reserve(entries->size());
  for (const auto& entry : *entries) {
    // The memo is keyed by path, so make it independent of the cwd.
    auto source = std::filesystem::absolute(entry.source, ec);
    if (ec) {
      return fail("initramfs entry '{}': cannot resolve {}: {}", entry.destination, entry.source.string(),
                  ec.message());
    }
    auto hash = index.hash(source, now, options.racy_window);
    if (!hash) {
      return Unexpected{
          std::move(hash).error().context(fmt::format("initramfs entry '{}'", entry.destination))};
    }
    hashes.push_back(std::move(hash).value());
  }
  KSTEP_TRY(index.save());

  InitramfsImage image;
  image.key = compute_key(spec.compression, *entries, hashes);
  image.path = dir / (image.key + std::string{image_suffix(spec.compression)});
  image.files_hashed = index.files_hashed();
  if (usable_image(image.path)) {
    image.cache_hit = true;
    return image;
  }
  KSTEP_TRY(write_image(spec, *entries, hashes, image.path));
  return image;
}

}  // namespace kstep::host
