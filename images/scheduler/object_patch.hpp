// Sets ops.timeout_ms in a copy of the scheduler's BPF object file.
//
// libbpf 1.1 (Debian 12) exposes no struct_ops field before load: the
// .struct_ops section is copied out of the ELF at open. So the object is
// compiled with KSTEP_WATCHDOG_SENTINEL in timeout_ms and the loader rewrites
// that one word in the .struct_ops section of a copy before opening it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace kstep::sched {

// Returns a copy of `elf` whose .struct_ops section has its single sentinel
// word replaced by `timeout_ms`. Fails unless the sentinel occurs exactly
// once there (a stale object, or a sentinel colliding with other data).
[[nodiscard]] Result<std::vector<unsigned char>> patch_watchdog(std::span<const unsigned char> elf,
                                                                std::uint32_t timeout_ms);

}  // namespace kstep::sched
