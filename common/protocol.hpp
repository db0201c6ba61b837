// Constants both sides of the wire agree on.
#pragma once

#include <cstdint>
#include <string_view>

namespace kstep {

// Bumped when the meaning of messages changes incompatibly; checked at Hello.
inline constexpr std::uint32_t kProtocolVersion = 1;

// Name of the virtserialport that carries frames (QEMU `name=`; the guest
// finds it under /sys/class/virtio-ports/*/name).
inline constexpr std::string_view kControlPortName = "org.kstep.control";

// Guest heartbeat period. The host's hang detector needs a frame or console
// output at least once per --timeout, so this must stay well below it.
inline constexpr std::uint32_t kHeartbeatIntervalMs = 1000;

}  // namespace kstep
