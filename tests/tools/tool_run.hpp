// Runs a command line the way a user's shell would and keeps its output:
// the unit and VM tests use it to hand kstep's result files to their real
// consumers (a JSON Schema validator, xmllint with a JUnit XSD).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace kstep::testing {

struct ToolRun {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string output;  // stdout and stderr
};

// `command` is run by /bin/sh; quote what needs it.
inline ToolRun run_tool(const std::string& command) {
  ToolRun run;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return run;
  }
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    run.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  return run;
}

inline std::string quoted(const std::filesystem::path& path) {
  std::string out = "'";
  for (const char c : path.string()) {
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  }
  return out + "'";
}

}  // namespace kstep::testing
