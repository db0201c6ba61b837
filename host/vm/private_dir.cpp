#include "host/vm/private_dir.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace kstep::host {

Result<PrivateDir> PrivateDir::create(const std::filesystem::path& parent, std::string_view prefix) {
  if (prefix.find('/') != std::string_view::npos) {
    return fail("temporary directory prefix '{}' must not contain '/'", prefix);
  }
  std::string templ = (parent / prefix).string() + "XXXXXX";
  // mkdtemp creates the directory with mode 0700 regardless of the umask
  // (it can only clear bits), and fails rather than reuse an existing name.
  if (::mkdtemp(templ.data()) == nullptr) {
    return fail("cannot create a temporary directory in {}: {}", parent.string(), std::strerror(errno));
  }
  return PrivateDir{std::filesystem::path{std::move(templ)}};
}

PrivateDir::PrivateDir(PrivateDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(std::exchange(other.keep_, false)) {}

PrivateDir& PrivateDir::operator=(PrivateDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
    keep_ = std::exchange(other.keep_, false);
  }
  return *this;
}

PrivateDir::~PrivateDir() {
  remove();
}

void PrivateDir::remove() noexcept {
  if (path_.empty() || keep_) {
    return;
  }
  // The error_code overload reports instead of throwing; remove_all does not
  // follow symlinks, so a link placed inside cannot make us delete outside.
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  path_.clear();
}

std::filesystem::path temp_root(const char* tmpdir_env) {
  if (tmpdir_env != nullptr && tmpdir_env[0] == '/') {
    return std::filesystem::path{tmpdir_env};
  }
  return std::filesystem::path{"/tmp"};
}

}  // namespace kstep::host
