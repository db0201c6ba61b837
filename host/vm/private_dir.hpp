// PrivateDir: a per-VM temporary directory that nobody else can enter.
//
// It holds the VM's control socket, so it is created with mkdtemp (mode
// 0700, a fresh unpredictable name): no other user can connect to the
// socket or plant a file at its path. The destructor removes the directory
// and everything in it, best effort and without throwing, unless keep() was
// called (for post-mortem inspection). Move-only: exactly one owner removes it.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.hpp"

namespace kstep::host {

class PrivateDir {
 public:
  // Creates `<parent>/<prefix>XXXXXX` with mode 0700. `parent` must exist.
  [[nodiscard]] static Result<PrivateDir> create(const std::filesystem::path& parent,
                                                 std::string_view prefix = "kstep-");

  PrivateDir(PrivateDir&& other) noexcept;
  PrivateDir& operator=(PrivateDir&& other) noexcept;
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  ~PrivateDir();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // Leaves the directory on disk when this object goes away.
  void keep() noexcept { keep_ = true; }
  [[nodiscard]] bool kept() const noexcept { return keep_; }
  // Removes the directory now (unless kept); later calls do nothing.
  void remove() noexcept;

 private:
  explicit PrivateDir(std::filesystem::path path) noexcept : path_(std::move(path)) {}

  std::filesystem::path path_;
  bool keep_ = false;
};

// The parent for temporary directories: $TMPDIR when set to an absolute
// path, else /tmp. Pass getenv("TMPDIR").
[[nodiscard]] std::filesystem::path temp_root(const char* tmpdir_env);

}  // namespace kstep::host
