#include "guest/console.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/unique_fd.hpp"

namespace kstep::guest {

Result<void> ensure_standard_fds(const std::filesystem::path& dev_root) {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) {
      continue;
    }
    // Without O_CLOEXEC on purpose: fds 0-2 are the ones children inherit.
    int opened = ::open((dev_root / "console").c_str(), O_RDWR | O_NOCTTY);
    if (opened < 0) {
      opened = ::open((dev_root / "null").c_str(), O_RDWR | O_NOCTTY);
    }
    if (opened < 0) {
      return fail("opening {}/console and /null for fd {}: {}", dev_root.string(), fd, std::strerror(errno));
    }
    // The lowest free fd is `fd` itself, since the lower ones are open.
    if (opened != fd) {
      UniqueFd extra{opened};
      if (::dup2(opened, fd) < 0) {
        return fail("dup2 onto fd {}: {}", fd, std::strerror(errno));
      }
    }
  }
  return {};
}

void console_line(std::string_view program, std::string_view line) noexcept {
  std::string text;
  try {
    text.reserve(program.size() + line.size() + 3);
    text.append(program).append(": ").append(line).push_back('\n');
  } catch (...) {
    return;
  }
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace kstep::guest
