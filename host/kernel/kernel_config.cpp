#include "host/kernel/kernel_config.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kstep::host::kernel {
namespace {

constexpr std::string_view kPrefix = "CONFIG_";

bool is_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

bool is_number(std::string_view v) {
  if (v.starts_with("0x") || v.starts_with("0X")) {
    v.remove_prefix(2);
    if (v.empty()) {
      return false;
    }
    for (char c : v) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) {
        return false;
      }
    }
    return true;
  }
  if (v.starts_with('-')) {
    v.remove_prefix(1);
  }
  if (v.empty()) {
    return false;
  }
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// Undoes Kconfig's quoting ("a \"b\" \\c"); nullopt if not a well-formed string.
std::optional<std::string> unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    return std::nullopt;
  }
  v = v.substr(1, v.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\') {
      if (i + 1 == v.size()) {
        return std::nullopt;  // the closing quote was escaped
      }
      out += v[++i];
    } else if (v[i] == '"') {
      return std::nullopt;  // an unescaped quote inside
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string_view trim_end(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  return line;
}

}  // namespace

std::string_view to_string(KernelConfig::State state) noexcept {
  switch (state) {
    case KernelConfig::State::Absent: return "absent";
    case KernelConfig::State::NotSet: return "not set";
    case KernelConfig::State::Module: return "=m";
    case KernelConfig::State::BuiltIn: return "=y";
    case KernelConfig::State::Value: return "a value";
  }
  return "?";
}

KernelConfig::State KernelConfig::state(std::string_view option) const {
  auto it = values_.find(option);
  return it == values_.end() ? State::Absent : it->second.state;
}

std::optional<std::string> KernelConfig::value(std::string_view option) const {
  auto it = values_.find(option);
  if (it == values_.end()) {
    return std::nullopt;
  }
  return it->second.value;
}

Result<KernelConfig> parse_kernel_config(std::string_view text, std::string_view source) {
  KernelConfig config;
  config.source_ = std::string{source};
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t newline = text.find('\n');
    const std::string_view line = trim_end(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);

    if (line.empty()) {
      continue;
    }
    if (line.front() == '#') {
      // Only "# CONFIG_X is not set" carries meaning; other comments are
      // Kconfig's section headers and the file banner.
      constexpr std::string_view kNotSet = " is not set";
      std::string_view rest = line.substr(1);
      while (rest.starts_with(' ')) {
        rest.remove_prefix(1);
      }
      if (rest.starts_with(kPrefix) && rest.ends_with(kNotSet)) {
        const auto name = rest.substr(kPrefix.size(), rest.size() - kPrefix.size() - kNotSet.size());
        if (is_name(name)) {
          config.values_.insert_or_assign(std::string{name},
                                          KernelConfig::Entry{KernelConfig::State::NotSet, "n"});
        }
      }
      continue;
    }

    const std::size_t eq = line.find('=');
    if (!line.starts_with(kPrefix) || eq == std::string_view::npos) {
      return fail("{}:{}: malformed line '{}' (expected CONFIG_NAME=value or a # comment)", source,
                  line_number, line);
    }
    const std::string_view name = line.substr(kPrefix.size(), eq - kPrefix.size());
    const std::string_view raw = line.substr(eq + 1);
    if (!is_name(name)) {
      return fail("{}:{}: malformed option name '{}'", source, line_number, line.substr(0, eq));
    }
    KernelConfig::Entry entry{KernelConfig::State::Value, std::string{raw}};
    if (raw == "y") {
      entry.state = KernelConfig::State::BuiltIn;
    } else if (raw == "m") {
      entry.state = KernelConfig::State::Module;
    } else if (raw == "n") {
      entry.state = KernelConfig::State::NotSet;
    } else if (raw.starts_with('"')) {
      auto unquoted = unquote(raw);
      if (!unquoted) {
        return fail("{}:{}: CONFIG_{}: malformed string value {}", source, line_number, name, raw);
      }
      entry.value = std::move(*unquoted);
    } else if (!is_number(raw)) {
      return fail("{}:{}: CONFIG_{}: malformed value '{}' (expected y, m, n, a number or a quoted string)",
                  source, line_number, name, raw);
    }
    // Kconfig lets a later assignment override an earlier one.
    config.values_.insert_or_assign(std::string{name}, std::move(entry));
  }
  return config;
}

Result<KernelConfig> load_kernel_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read kernel config {}: {}", path.string(), std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return fail("error reading kernel config {}", path.string());
  }
  return parse_kernel_config(text.str(), path.string());
}

}  // namespace kstep::host::kernel
