// FakeCommandRunner: records every Command it is asked to run and answers
// from a handler, so command sequencing (apt, dpkg-deb) is tested without
// running anything.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "host/util/run_command.hpp"

namespace kstep::kernel_test {

// A finished command's result.
inline host::CommandResult exited(int code, std::string out = {}, std::string err = {}) {
  host::CommandResult result;
  result.exit_code = code;
  result.out = std::move(out);
  result.err = std::move(err);
  return result;
}

class FakeCommandRunner final : public host::CommandRunner {
 public:
  using Handler = std::function<Result<host::CommandResult>(const host::Command&)>;

  explicit FakeCommandRunner(Handler handler) : handler_(std::move(handler)) {}

  [[nodiscard]] Result<host::CommandResult> run(const host::Command& command) override {
    commands.push_back(command);
    return handler_(command);
  }

  std::vector<host::Command> commands;

 private:
  Handler handler_;
};

// True when `argv` contains `word` as a whole argument.
inline bool has_arg(const host::Command& command, std::string_view word) {
  for (const auto& arg : command.argv) {
    if (arg == word) {
      return true;
    }
  }
  return false;
}

}  // namespace kstep::kernel_test
