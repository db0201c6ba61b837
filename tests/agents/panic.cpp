// agent-panic: PID 1 that exits at once, so the kernel panics with
// "Attempted to kill init!". The host must report a kernel panic.
#include <unistd.h>

#include <string_view>

int main() {
  constexpr std::string_view kLine = "agent-panic: exiting as PID 1 on purpose\n";
  // stderr is /dev/console; a failed write changes nothing about the panic.
  (void)!::write(STDERR_FILENO, kLine.data(), kLine.size());
  return 1;
}
