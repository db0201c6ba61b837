#include "guest/port_finder.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "guest/text_file.hpp"

namespace kstep::guest {

namespace fs = std::filesystem;

Result<fs::path> find_port_device(const fs::path& sys_root, const fs::path& dev_root, std::string_view name) {
  const fs::path class_dir = sys_root / "class" / "virtio-ports";
  std::vector<std::string> seen;
  std::error_code ec;
  for (fs::directory_iterator it{class_dir, ec}, end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    // The name file appears only once the host told the guest the name.
    auto port_name = read_trimmed(it->path() / "name");
    if (!port_name) {
      seen.push_back(fmt::format("{} (unnamed)", entry));
      continue;
    }
    if (*port_name == name) {
      return dev_root / entry;
    }
    seen.push_back(fmt::format("{}={}", entry, *port_name));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail("listing {}: {}", class_dir.string(), ec.message());
  }
  if (seen.empty()) {
    return fail(
        "no virtio port named {}: {} has no ports (no virtio-serial device, or its driver is missing)", name,
        class_dir.string());
  }
  std::sort(seen.begin(), seen.end());
  return fail("no virtio port named {} under {} (found {})", name, class_dir.string(), fmt::join(seen, ", "));
}

Result<UniqueFd> open_port(const fs::path& sys_root, const fs::path& dev_root, std::string_view name,
                           std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds kRetryInterval{5};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto device = find_port_device(sys_root, dev_root, name);
    Error last{""};
    if (device) {
      // Non-blocking: the agent's loop polls, and a write must never hang
      // PID 1 when the host stops reading.
      UniqueFd fd{::open(device->c_str(), O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
      if (fd) {
        return fd;
      }
      const int error = errno;
      if (error == EBUSY) {
        return fail("opening {}: already open (the port is single-open)", device->string());
      }
      // ENOENT: devtmpfs has not created the node yet.
      last = make_error("opening {}: {}", device->string(), std::strerror(error));
    } else {
      last = std::move(device).error();
    }
    if (Clock::now() >= deadline) {
      return Unexpected{last.context(fmt::format("after waiting {} ms", timeout.count()))};
    }
    std::this_thread::sleep_for(kRetryInterval);
  }
}

}  // namespace kstep::guest
