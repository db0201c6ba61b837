// agent-poweroff: the boot floor for benchmarks. Powers off the moment the
// kernel hands over; kstep-init's Hello latency is measured against it.
// Nothing is mounted or written, so there is nothing to sync.
#include <sys/reboot.h>
#include <unistd.h>

int main() {
  ::reboot(RB_POWER_OFF);
  return 1;  // reboot failed: exiting panics the kernel, which the host sees
}
