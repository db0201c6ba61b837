// agent-garbage: opens the control port like kstep-init, then writes bytes
// that are not a frame and idles. The host must call it a protocol error
// and kill the VM.
#include <unistd.h>

#include <chrono>
#include <string_view>

#include "common/protocol.hpp"
#include "guest/console.hpp"
#include "guest/init.hpp"
#include "guest/port.hpp"
#include "guest/port_finder.hpp"

namespace {

constexpr std::string_view kProgram = "agent-garbage";

[[noreturn]] void idle_forever() {
  for (;;) {
    ::pause();
  }
}

}  // namespace

int main() {
  using namespace kstep::guest;
  const SystemRoots roots;
  if (auto ready = prepare_machine(roots); !ready) {
    console_line(kProgram, ready.error().message);
    idle_forever();
  }
  auto fd = open_port(roots.sys, roots.dev, kstep::kControlPortName);
  if (!fd) {
    console_line(kProgram, fd.error().message);
    idle_forever();
  }
  Port port{std::move(*fd)};
  for (int i = 0; i < 4; ++i) {
    port.queue_raw("this is not a kstep frame\n");
  }
  if (auto sent = port.flush_blocking(std::chrono::seconds{5}); !sent) {
    console_line(kProgram, sent.error().message);
  }
  // Keep the port open: closing it would look like a clean hang-up.
  idle_forever();
}
