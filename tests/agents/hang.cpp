// agent-hang: PID 1 that says nothing and does nothing. The host must time
// out and report a hang.
#include <unistd.h>

int main() {
  // pause() returns only after a caught signal; PID 1 catches none.
  for (;;) {
    ::pause();
  }
}
