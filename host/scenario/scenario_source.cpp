#include "host/scenario/scenario_source.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "host/scenario/canned_scenarios.hpp"

namespace kstep::host {
namespace {

bool looks_like_path(std::string_view arg) {
  if (arg.find('/') != std::string_view::npos) {
    return true;
  }
  for (const std::string_view suffix : {".textproto", ".txtpb", ".pbtxt"}) {
    if (arg.ends_with(suffix)) {
      return true;
    }
  }
  std::error_code error;
  return std::filesystem::exists(std::filesystem::path{arg}, error);
}

std::string canned_names() {
  std::vector<std::string_view> names;
  for (const auto& canned : canned_scenarios()) {
    names.push_back(canned.name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

Result<LoadedScenario> load_scenario_arg(std::string_view file_or_name) {
  const std::string_view name = file_or_name.empty() ? kDefaultCannedScenario : file_or_name;
  if (looks_like_path(name)) {
    return load_scenario_file(std::filesystem::path{name});
  }
  if (const auto* canned = find_canned(name)) {
    return load_scenario_text(canned->text, fmt::format("builtin:{}", canned->name));
  }
  return fail("unknown scenario '{}': no such file, and not a built-in scenario ({})", name, canned_names());
}

std::string describe_canned_list() {
  std::size_t width = 0;
  for (const auto& canned : canned_scenarios()) {
    width = std::max(width, canned.name.size());
  }
  std::string listing;
  for (const auto& canned : canned_scenarios()) {
    listing += fmt::format("  {:<{}}  {}{}\n", canned.name, width, canned.summary,
                           canned.name == kDefaultCannedScenario ? " (default)" : "");
  }
  return listing;
}

}  // namespace kstep::host
