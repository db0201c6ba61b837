// agent-old-protocol: kstep-init in every respect except that its Hello
// claims kProtocolVersion + 1. The host must report the version mismatch
// (and may still shut it down cleanly: the agent waits for Shutdown).
#include "common/protocol.hpp"
#include "guest/init.hpp"

int main() {
  kstep::guest::InitOptions options;
  options.program = "agent-old-protocol";
  options.edit_hello = [](kstep::wire::Hello& hello) {
    hello.set_protocol_version(kstep::kProtocolVersion + 1);
  };
  return kstep::guest::init_main(options);
}
