// fake-qemu: stands in for qemu-system-x86_64 in the session's unit tests.
//
//   fake-qemu MODE SOCKET
//
// It connects to the host's control socket like QEMU's chardev does, then
// plays a guest that behaves as MODE says, writing "console" text to stdout
// (the serial console) and frames to the socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "common/frame_codec.hpp"
#include "common/message_codec.hpp"
#include "common/protocol.hpp"
#include "kstep.pb.h"

namespace {

int connect_to(const char* path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("fake-qemu: connect");
    std::_Exit(1);
  }
  return fd;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) {
      std::_Exit(1);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void console(std::string_view line) {
  write_all(STDOUT_FILENO, line);
  write_all(STDOUT_FILENO, "\n");
}

void send(int fd, const kstep::wire::GuestMessage& message) {
  std::string frame;
  if (!kstep::append_frame(message, frame)) {
    std::_Exit(1);
  }
  write_all(fd, frame);
}

void send_hello(int fd, std::uint32_t version) {
  kstep::wire::GuestMessage message;
  auto* hello = message.mutable_hello();
  hello->set_protocol_version(version);
  hello->set_kernel_release("6.99.0-fake");
  hello->set_cpu_count(2);
  send(fd, message);
}

// Reads frames until Shutdown; returns false if the stream ends first.
bool wait_for_shutdown(int fd) {
  kstep::MessageDecoder<kstep::wire::HostMessage> decoder;
  for (;;) {
    auto space = decoder.prepare(4096);
    const ssize_t n = ::read(fd, space.data(), space.size());
    if (n <= 0) {
      return false;
    }
    decoder.commit(static_cast<std::size_t>(n));
    while (auto message = decoder.next()) {
      if (!*message) {
        return false;
      }
      if (message->value().has_shutdown()) {
        return true;
      }
    }
  }
}

[[noreturn]] void sleep_forever() {
  for (;;) {
    ::pause();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fake-qemu MODE SOCKET\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  if (mode == "exit-fail") {
    std::fprintf(stderr, "qemu-system-x86_64: -kernel /nonexistent: could not open kernel file\n");
    return 1;
  }
  const int fd = connect_to(argv[2]);
  console("[    0.000000] Linux version 6.99.0-fake");
  if (mode == "obey" || mode == "warn") {
    if (mode == "warn") {
      console("[    1.000000] WARNING: CPU: 0 PID: 1 at kernel/fake.c:1 fake_function+0x0/0x10");
    }
    send_hello(fd, kstep::kProtocolVersion);
    return wait_for_shutdown(fd) ? 0 : 3;
  }
  if (mode == "ignore-shutdown") {
    send_hello(fd, kstep::kProtocolVersion);
    (void)wait_for_shutdown(fd);
    sleep_forever();
  }
  if (mode == "old-protocol") {
    send_hello(fd, kstep::kProtocolVersion + 1);
    sleep_forever();
  }
  if (mode == "garbage") {
    write_all(fd, "this is not a kstep frame\n");
    sleep_forever();
  }
  if (mode == "panic") {
    console("[    2.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000");
    return 0;  // -no-reboot with panic=-1: QEMU exits by itself
  }
  if (mode == "oops") {
    console(
        "[    2.000000] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] "
        "SMP");
    sleep_forever();
  }
  if (mode == "fatal") {
    kstep::wire::GuestMessage message;
    message.mutable_fatal()->set_message("cannot mount cgroup2: No such device");
    send(fd, message);
    return 0;
  }
  if (mode == "poweroff-early") {
    send_hello(fd, kstep::kProtocolVersion);
    return 0;
  }
  if (mode == "silent") {
    sleep_forever();
  }
  std::fprintf(stderr, "fake-qemu: unknown mode %s\n", argv[1]);
  return 2;
}
