#include "host/kernel/apt_sources.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>

namespace kstep::host::kernel {
namespace fs = std::filesystem;

namespace {

constexpr std::array<std::string_view, 14> kDebianSuites{
    "buster", "bullseye", "bookworm", "trixie",    "forky",        "duke",         "sid",
    "stable", "testing",  "unstable", "oldstable", "oldoldstable", "experimental", "rc-buggy"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string{s}};
  for (std::string word; in >> word;) {
    out.push_back(word);
  }
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Applies one deb822 field to `entry`; unknown fields are apt's business.
void apply_field(SourceEntry& entry, std::string_view field, std::string_view value) {
  if (equals_ignoring_case(field, "Types")) {
    entry.types = words(value);
  } else if (equals_ignoring_case(field, "URIs")) {
    entry.uris = words(value);
  } else if (equals_ignoring_case(field, "Suites")) {
    entry.suites = words(value);
  } else if (equals_ignoring_case(field, "Components")) {
    entry.components = words(value);
  } else if (equals_ignoring_case(field, "Signed-By")) {
    entry.signed_by = std::string{trim(value)};
  } else if (equals_ignoring_case(field, "Enabled")) {
    entry.enabled = !equals_ignoring_case(trim(value), "no");
  }
}

Result<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read {}", path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> files_with_extension(const fs::path& dir, std::string_view extension) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code type_ec;
    if (entry.path().extension() == extension && entry.is_regular_file(type_ec)) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<std::vector<SourceEntry>> parse_deb822_sources(std::string_view text, std::string_view name) {
  std::vector<SourceEntry> entries;
  std::optional<SourceEntry> current;
  // The field being read, kept until the next field so continuation lines
  // (a multi-line Signed-By key) can extend it.
  std::string field;
  std::string value;
  auto finish_field = [&] {
    if (current && !field.empty()) {
      apply_field(*current, field, value);
    }
    field.clear();
    value.clear();
  };
  auto finish_stanza = [&] {
    finish_field();
    if (current) {
      entries.push_back(std::move(*current));
      current.reset();
    }
  };

  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto newline = text.find('\n');
    const auto line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);

    if (trim(line).empty()) {
      finish_stanza();
      continue;
    }
    if (line.front() == '#') {
      continue;  // a comment does not end the stanza
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (field.empty()) {
        return fail("{}:{}: continuation line without a field before it", name, line_number);
      }
      const auto content = trim(line);
      value += '\n';
      value += content == "." ? std::string_view{} : content;
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail("{}:{}: expected 'Field: value', got '{}'", name, line_number, trim(line));
    }
    finish_field();
    if (!current) {
      current.emplace();
    }
    field = std::string{line.substr(0, colon)};
    value = std::string{trim(line.substr(colon + 1))};
  }
  finish_stanza();
  for (auto& entry : entries) {
    // "Signed-By:" followed by an indented key block starts with a newline.
    while (entry.signed_by.starts_with('\n')) {
      entry.signed_by.erase(0, 1);
    }
  }
  return entries;
}

Result<std::vector<SourceEntry>> parse_one_line_sources(std::string_view text, std::string_view name) {
  std::vector<SourceEntry> entries;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) {
      continue;
    }
    SourceEntry entry;
    const auto type_end = line.find_first_of(" \t");
    entry.types.emplace_back(line.substr(0, type_end));
    line = trim(type_end == std::string_view::npos ? std::string_view{} : line.substr(type_end));
    if (line.starts_with('[')) {
      const auto close = line.find(']');
      if (close == std::string_view::npos) {
        return fail("{}:{}: '[' of the options is never closed", name, line_number);
      }
      for (const auto& option : words(line.substr(1, close - 1))) {
        const auto eq = option.find('=');
        if (eq != std::string::npos && equals_ignoring_case(option.substr(0, eq), "signed-by")) {
          entry.signed_by = option.substr(eq + 1);
        }
      }
      line = trim(line.substr(close + 1));
    }
    auto rest = words(line);
    if (rest.size() < 2) {
      return fail("{}:{}: expected '{} [options] URI SUITE [COMPONENT...]'", name, line_number,
                  entry.types.front());
    }
    entry.uris.push_back(rest[0]);
    entry.suites.push_back(rest[1]);
    entry.components.assign(rest.begin() + 2, rest.end());
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::optional<AptSource> pick_debian_archive(const std::vector<SourceEntry>& entries) {
  auto is_debian_release = [](std::string_view suite) {
    if (suite.ends_with("-security")) {
      return false;
    }
    const auto base = suite.substr(0, suite.find('-'));
    return std::find(kDebianSuites.begin(), kDebianSuites.end(), base) != kDebianSuites.end();
  };
  for (const auto& entry : entries) {
    if (!entry.enabled || std::find(entry.types.begin(), entry.types.end(), "deb") == entry.types.end() ||
        std::none_of(entry.suites.begin(), entry.suites.end(), is_debian_release)) {
      continue;
    }
    for (std::string_view uri : entry.uris) {
      const bool http = uri.starts_with("http://") || uri.starts_with("https://");
      if (!http || uri.find("snapshot.debian.org") != std::string_view::npos) {
        continue;
      }
      while (uri.ends_with('/')) {
        uri.remove_suffix(1);
      }
      AptSource source;
      source.uri = std::string{uri};
      if (!entry.signed_by.empty()) {
        source.signed_by = entry.signed_by;
      }
      return source;
    }
  }
  return std::nullopt;
}

AptSource system_debian_source(const fs::path& etc_apt) {
  std::vector<std::pair<fs::path, bool>> files;  // path, is deb822
  for (const auto& path : files_with_extension(etc_apt / "sources.list.d", ".sources")) {
    files.emplace_back(path, true);
  }
  for (const auto& path : files_with_extension(etc_apt / "sources.list.d", ".list")) {
    files.emplace_back(path, false);
  }
  files.emplace_back(etc_apt / "sources.list", false);

  std::vector<SourceEntry> entries;
  for (const auto& [path, deb822] : files) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      continue;
    }
    auto text = read_text(path);
    auto parsed = text ? (deb822 ? parse_deb822_sources(*text, path.string())
                                 : parse_one_line_sources(*text, path.string()))
                       : Result<std::vector<SourceEntry>>{Unexpected{text.error()}};
    if (!parsed) {
      spdlog::warn("ignoring apt sources {}: {}", path.string(), parsed.error().message);
      continue;
    }
    entries.insert(entries.end(), parsed->begin(), parsed->end());
  }
  if (auto source = pick_debian_archive(entries)) {
    return *source;
  }
  return AptSource{};
}

}  // namespace kstep::host::kernel
