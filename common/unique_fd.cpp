#include "common/unique_fd.hpp"

#include <unistd.h>

namespace kstep {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    // close() must not be retried on EINTR on Linux: the fd is gone either way.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace kstep
