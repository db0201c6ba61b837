// Finding and opening the control port by its name.
//
// QEMU names each virtserialport (`name=`); the guest kernel shows the name
// in <sys>/class/virtio-ports/<dev>/name and devtmpfs creates /dev/<dev>
// (there is no udev, hence no /dev/virtio-ports/<name> symlink). Both appear
// asynchronously while the virtio driver probes, so opening retries for a
// bounded time before failing with what it did find.
#pragma once

#include <chrono>
#include <filesystem>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace kstep::guest {

// How long the port may take to show up after PID 1 starts. Probing takes
// milliseconds; this is generous so a slow TCG boot never trips it.
inline constexpr std::chrono::milliseconds kPortWaitTimeout{5000};

// /dev/<entry> of the port named `name`, looked up once. The error lists the
// ports that were found, so a misnamed port is obvious from the message.
[[nodiscard]] Result<std::filesystem::path> find_port_device(const std::filesystem::path& sys_root,
                                                             const std::filesystem::path& dev_root,
                                                             std::string_view name);

// Finds and opens the port (read/write, non-blocking, O_CLOEXEC), retrying
// until `timeout`. The port is single-open: EBUSY (someone else holds it)
// fails at once.
[[nodiscard]] Result<UniqueFd> open_port(const std::filesystem::path& sys_root,
                                         const std::filesystem::path& dev_root, std::string_view name,
                                         std::chrono::milliseconds timeout = kPortWaitTimeout);

}  // namespace kstep::guest
