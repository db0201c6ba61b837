// KernelConfig: a parsed kernel .config.
//
// The format is what Kconfig writes: `CONFIG_NAME=value` where value is y, m,
// a number (decimal or 0x hex) or a double-quoted string, and
// `# CONFIG_NAME is not set` for a disabled option. Other comments and blank
// lines are ignored. Anything else is an error naming file:line, because a
// mangled config would otherwise make the requirement check report options as
// missing that are in fact set (or the reverse).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace kstep::host::kernel {

class KernelConfig {
 public:
  enum class State {
    Absent,   // not mentioned (its dependencies are off, or the option is unknown)
    NotSet,   // "# CONFIG_X is not set" (or =n)
    Module,   // =m
    BuiltIn,  // =y
    Value,    // a string or a number
  };

  // `option` is given without the CONFIG_ prefix: state("SCHED_CLASS_EXT").
  [[nodiscard]] State state(std::string_view option) const;
  [[nodiscard]] bool built_in(std::string_view option) const { return state(option) == State::BuiltIn; }
  // The value as written: "y", "m", "n", "100", "0x10", or a string without
  // its quotes and escapes. nullopt when absent.
  [[nodiscard]] std::optional<std::string> value(std::string_view option) const;
  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  // Where it was read from, for messages.
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  friend Result<KernelConfig> parse_kernel_config(std::string_view text, std::string_view source);

  struct Entry {
    State state;
    std::string value;
  };
  std::map<std::string, Entry, std::less<>> values_;
  std::string source_;
};

[[nodiscard]] std::string_view to_string(KernelConfig::State state) noexcept;

// `source` names the text in errors ("path/to/.config:12: ...").
[[nodiscard]] Result<KernelConfig> parse_kernel_config(std::string_view text, std::string_view source);
[[nodiscard]] Result<KernelConfig> load_kernel_config(const std::filesystem::path& path);

}  // namespace kstep::host::kernel
