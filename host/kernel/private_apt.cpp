#include "host/kernel/private_apt.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kstep::host::kernel {
namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// "a (= 1), b | c (>= 2), d" -> a, b, c, d.
std::vector<std::string> dependency_names(std::string_view field) {
  std::vector<std::string> names;
  while (!field.empty()) {
    const auto end = field.find_first_of(",|");
    auto item = trim(field.substr(0, end));
    field.remove_prefix(end == std::string_view::npos ? field.size() : end + 1);
    item = trim(item.substr(0, item.find_first_of(" (:[")));
    if (!item.empty()) {
      names.emplace_back(item);
    }
  }
  return names;
}

}  // namespace

std::optional<PackageRecord> parse_package_record(std::string_view text) {
  PackageRecord record;
  bool seen_package = false;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const auto line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (trim(line).empty()) {
      if (seen_package) {
        break;  // the first stanza only
      }
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || line.front() == ' ') {
      continue;  // a continuation line (Description) or noise
    }
    const auto field = line.substr(0, colon);
    const auto value = trim(line.substr(colon + 1));
    if (field == "Package") {
      record.package = std::string{value};
      seen_package = true;
    } else if (field == "Version") {
      record.version = std::string{value};
    } else if (field == "Depends" || field == "Pre-Depends") {
      auto names = dependency_names(value);
      record.depends.insert(record.depends.end(), names.begin(), names.end());
    } else if (field == "Size") {
      record.size = std::strtoull(std::string{value}.c_str(), nullptr, 10);
    }
  }
  if (!seen_package) {
    return std::nullopt;
  }
  return record;
}

std::string private_sources_file(const AptSource& source, std::string_view suite,
                                 std::string_view architecture) {
  std::string signed_by;
  if (source.signed_by.find('\n') == std::string::npos) {
    signed_by = " " + source.signed_by;
  } else {
    // An inline key: each line indented, an empty line written as " .".
    std::string_view key = source.signed_by;
    while (!key.empty()) {
      const auto newline = key.find('\n');
      const auto line = key.substr(0, newline);
      key.remove_prefix(newline == std::string_view::npos ? key.size() : newline + 1);
      signed_by += fmt::format("\n {}", line.empty() ? std::string_view{"."} : line);
    }
  }
  // Targets: Packages keeps apt from also fetching Contents or DEP-11 lists
  // that the machine's apt.conf.d may enable.
  return fmt::format(
      "Types: deb\nURIs: {}\nSuites: {}\nComponents: main\nArchitectures: {}\nLanguages: none\n"
      "Targets: Packages\nSigned-By:{}\n",
      source.uri, suite, architecture, signed_by);
}

Result<PrivateApt> PrivateApt::create(const fs::path& root, const AptSource& source, std::string suite,
                                      std::string architecture) {
  for (const auto* sub : {"sources", "lists/partial", "cache/archives/partial", "preferences.d"}) {
    std::error_code ec;
    fs::create_directories(root / sub, ec);
    if (ec) {
      return fail("cannot create {}: {}", (root / sub).string(), ec.message());
    }
  }
  const auto sources = root / "sources" / "kstep.sources";
  std::ofstream out(sources, std::ios::binary | std::ios::trunc);
  out << private_sources_file(source, suite, architecture);
  out.close();
  if (!out) {
    return fail("cannot write {}", sources.string());
  }
  return PrivateApt{root, std::move(suite), std::move(architecture)};
}

std::vector<std::string> PrivateApt::options() const {
  const std::vector<std::pair<std::string, std::string>> settings{
      {"Dir::Etc::SourceList", "/dev/null"},
      {"Dir::Etc::SourceParts", (root_ / "sources").string()},
      {"Dir::State::Lists", (root_ / "lists").string()},
      {"Dir::Cache", (root_ / "cache").string()},
      {"Dir::State::status", "/dev/null"},
      {"Dir::Etc::Preferences", "/dev/null"},
      {"Dir::Etc::PreferencesParts", (root_ / "preferences.d").string()},
      {"APT::Architecture", architecture_},
      {"APT::Architectures", architecture_},
      {"Acquire::Languages", "none"},
      {"APT::Sandbox::User", "root"},
  };
  std::vector<std::string> options;
  for (const auto& [name, value] : settings) {
    options.emplace_back("-o");
    options.push_back(fmt::format("{}={}", name, value));
  }
  return options;
}

Command PrivateApt::command(std::string tool, const std::vector<std::string>& args) const {
  Command command;
  command.argv.push_back(std::move(tool));
  for (auto& option : options()) {
    command.argv.push_back(std::move(option));
  }
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  // apt's messages are parsed below; keep them in English.
  command.extra_env = {"LC_ALL=C"};
  return command;
}

Result<void> PrivateApt::update(CommandRunner& runner) const {
  auto result = run_checked(runner, command("apt-get", {"-q", "update"}));
  if (!result) {
    return Unexpected{
        std::move(result).error().context(fmt::format("updating the package lists of {}", suite_))};
  }
  return {};
}

Result<std::optional<PackageRecord>> PrivateApt::show(CommandRunner& runner, std::string_view package) const {
  auto result = runner.run(command("apt-cache", {"show", "--no-all-versions", std::string{package}}));
  if (!result) {
    return Unexpected{std::move(result).error()};
  }
  if (result->success()) {
    // A purely virtual name succeeds with no stanza.
    return parse_package_record(result->out);
  }
  if (result->err.find("No packages found") != std::string::npos ||
      result->err.find("Unable to locate package") != std::string::npos) {
    return std::optional<PackageRecord>{};
  }
  return fail("apt-cache show {} in {} {}: {}", package, suite_, result->describe_status(),
              trim(result->err));
}

Result<std::vector<fs::path>> PrivateApt::download(CommandRunner& runner,
                                                   const std::vector<std::string>& packages,
                                                   const fs::path& dir) const {
  std::vector<std::string> args{"-q", "download"};
  args.insert(args.end(), packages.begin(), packages.end());
  auto cmd = command("apt-get", args);
  cmd.working_dir = dir;  // apt-get download writes into the current directory
  auto result = run_checked(runner, cmd);
  if (!result) {
    return Unexpected{std::move(result).error().context(fmt::format("downloading from {}", suite_))};
  }
  std::vector<fs::path> debs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".deb") {
      debs.push_back(entry.path());
    }
  }
  if (ec) {
    return fail("cannot list {}: {}", dir.string(), ec.message());
  }
  std::sort(debs.begin(), debs.end());
  if (debs.size() < packages.size()) {
    return fail("apt-get download of {} left {} .deb file(s) in {}, expected {}", fmt::join(packages, ", "),
                debs.size(), dir.string(), packages.size());
  }
  return debs;
}

}  // namespace kstep::host::kernel
