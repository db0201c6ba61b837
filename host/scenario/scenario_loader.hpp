// Loading scenario files: protobuf text format in, a Scenario plus where each
// of its fields was written out.
//
// The validator reports "file:line: steps[1].setup[0].cpuset: ...". Protobuf's
// ParseInfoTree knows the lines but only answers per descriptor and index, so
// right after a successful parse the tree is walked once and flattened into
// SourceLines, a map from field path to line. The validator then needs
// nothing from protobuf's parser.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "scenario.pb.h"

namespace kstep::host {

// Field path ("steps[1].setup[0].cpuset") -> 1-based line of the field's
// first token. A repeated field's bare name ("steps") maps to its first
// element.
class SourceLines {
 public:
  void record(std::string path, int line);

  // The line of `path`, or of its nearest recorded ancestor: an unset hold
  // "steps[1].hold" reports the line of "steps[1]". 0 when nothing on the
  // path appears in the source.
  [[nodiscard]] int line_of(std::string_view path) const;

  [[nodiscard]] std::size_t size() const { return lines_.size(); }

 private:
  std::map<std::string, int, std::less<>> lines_;
};

struct LoadedScenario {
  scenario::Scenario scenario;
  // Where the text came from, as errors should name it: a file path, or
  // "builtin:steady" for a canned scenario.
  std::string origin;
  SourceLines lines;

  [[nodiscard]] int line_of(std::string_view path) const { return lines.line_of(path); }
};

// Parses `text` (protobuf text format, kstep.scenario.Scenario). On a syntax
// error the message holds every error the parser reported, one per line, as
// "origin:line:column: message" (protobuf's parser stops at the first
// grammatical error, so that is usually one).
[[nodiscard]] Result<LoadedScenario> load_scenario_text(std::string_view text, std::string origin);

// Reads and parses a scenario file; `path` as given becomes the origin.
[[nodiscard]] Result<LoadedScenario> load_scenario_file(const std::filesystem::path& path);

}  // namespace kstep::host
