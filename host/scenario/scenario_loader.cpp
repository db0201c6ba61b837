#include "host/scenario/scenario_loader.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fmt/format.h>

namespace kstep::host {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

// A scenario is a page or two of text; anything this large is not one, and
// is refused before it is read into memory.
constexpr std::uintmax_t kMaxScenarioBytes = 4U << 20U;

// Keeps every error the parser reports, already rendered with the origin.
// Protobuf's line and column numbers are 0-based; editors count from 1.
class CollectingErrors final : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(const std::string& origin) : origin_(origin) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (line < 0) {
      errors_.push_back(fmt::format("{}: {}", origin_, message));
    } else {
      errors_.push_back(fmt::format("{}:{}:{}: {}", origin_, line + 1, column + 1, message));
    }
  }

  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }

 private:
  const std::string& origin_;
  std::vector<std::string> errors_;
};

void walk(const TextFormat::ParseInfoTree& tree, const Descriptor& type, const std::string& prefix,
          SourceLines& lines) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string base = prefix.empty() ? field.name() : fmt::format("{}.{}", prefix, field.name());
    const bool is_message = field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!field.is_repeated()) {
      const auto location = tree.GetLocation(&field, -1);
      if (location.line < 0) {
        continue;
      }
      lines.record(base, location.line + 1);
      if (const auto* nested = is_message ? tree.GetTreeForNested(&field, -1) : nullptr) {
        walk(*nested, *field.message_type(), base, lines);
      }
      continue;
    }
    // The tree answers "no location" (line -1) past the last element.
    for (int index = 0;; ++index) {
      const auto location = tree.GetLocation(&field, index);
      if (location.line < 0) {
        break;
      }
      if (index == 0) {
        lines.record(base, location.line + 1);
      }
      const std::string element = fmt::format("{}[{}]", base, index);
      lines.record(element, location.line + 1);
      if (const auto* nested = is_message ? tree.GetTreeForNested(&field, index) : nullptr) {
        walk(*nested, *field.message_type(), element, lines);
      }
    }
  }
}

// "steps[1].hold" -> "steps[1]" -> "steps"; "" when nothing is left.
std::string_view parent_path(std::string_view path) {
  if (!path.empty() && path.back() == ']') {
    const auto open = path.rfind('[');
    return open == std::string_view::npos ? std::string_view{} : path.substr(0, open);
  }
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

}  // namespace

void SourceLines::record(std::string path, int line) {
  lines_.insert_or_assign(std::move(path), line);
}

int SourceLines::line_of(std::string_view path) const {
  for (; !path.empty(); path = parent_path(path)) {
    if (const auto it = lines_.find(path); it != lines_.end()) {
      return it->second;
    }
  }
  return 0;
}

Result<LoadedScenario> load_scenario_text(std::string_view text, std::string origin) {
  LoadedScenario loaded;
  loaded.origin = std::move(origin);

  CollectingErrors errors(loaded.origin);
  TextFormat::ParseInfoTree tree;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  const bool parsed = parser.ParseFromString(std::string{text}, &loaded.scenario);
  if (!parsed || !errors.errors().empty()) {
    if (errors.errors().empty()) {
      return fail("{}: not a valid scenario (protobuf text format)", loaded.origin);
    }
    return fail("{}", fmt::join(errors.errors(), "\n"));
  }
  walk(tree, *scenario::Scenario::descriptor(), "", loaded.lines);
  return loaded;
}

Result<LoadedScenario> load_scenario_file(const std::filesystem::path& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) {
    return fail("cannot read scenario {}: {}", path.string(), error.message());
  }
  if (size > kMaxScenarioBytes) {
    return fail("scenario {} is {} bytes: more than the {} a scenario file may have", path.string(), size,
                kMaxScenarioBytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot open scenario {}: {}", path.string(), std::strerror(errno));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return fail("cannot read scenario {}: {}", path.string(), std::strerror(errno));
  }
  return load_scenario_text(text, path.string());
}

}  // namespace kstep::host
