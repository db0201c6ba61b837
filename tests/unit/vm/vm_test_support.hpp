// Helpers for the Vm* and Initramfs* unit tests: write files, run a command
// and capture its output (through ChildProcess, which has its own tests).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "host/vm/child_process.hpp"

namespace kstep::host {

// Readable gtest failure messages.
inline void PrintTo(const ExitStatus& status, std::ostream* os) {
  *os << status.describe();
}

}  // namespace kstep::host

namespace kstep::host::testing {

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

struct Captured {
  std::optional<ExitStatus> status;  // nullopt: could not spawn
  std::string out;
  std::string spawn_error;
};

// Runs argv with stdout captured (stderr inherited) until it exits.
inline Captured run_capture(std::vector<std::string> argv, int stdin_fd = -1) {
  Captured result;
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
    result.spawn_error = "pipe2 failed";
    return result;
  }
  UniqueFd read_end{pipe_fds[0]};
  UniqueFd write_end{pipe_fds[1]};
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.stdin_fd = stdin_fd;
  spec.stdout_fd = write_end.get();
  auto child = ChildProcess::spawn(spec);
  write_end.reset();
  if (!child) {
    result.spawn_error = child.error().message;
    return result;
  }
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buffer.data(), buffer.size());
    if (n <= 0) {
      break;
    }
    result.out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  result.status = child->wait();
  return result;
}

}  // namespace kstep::host::testing
