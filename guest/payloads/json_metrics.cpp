#include "guest/payloads/json_metrics.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

namespace kstep::guest {

namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

void flatten(const google::protobuf::Struct& object, const std::string& prefix,
             std::map<std::string, double>& out) {
  for (const auto& [key, value] : object.fields()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    switch (value.kind_case()) {
      case google::protobuf::Value::kNumberValue: out[name] = value.number_value(); break;
      case google::protobuf::Value::kStructValue: flatten(value.struct_value(), name, out); break;
      default: break;  // strings, bools, nulls, arrays: not metrics
    }
  }
}

}  // namespace

JsonMetrics parse_json_metrics(std::string_view text, bool first_line_partial) {
  JsonMetrics metrics;
  std::size_t end = text.size();
  // Walks the lines backwards: the last object is the summary.
  while (end > 0) {
    const auto newline = text.rfind('\n', end - 1);
    const std::size_t begin = newline == std::string_view::npos ? 0 : newline + 1;
    const bool is_first_line = begin == 0;
    const auto line = trim(text.substr(begin, end - begin));
    end = newline == std::string_view::npos ? 0 : newline;
    if (is_first_line && first_line_partial) {
      break;
    }
    // Cheap filter before the parser: most lines are plain text.
    if (line.size() < 2 || line.front() != '{' || line.back() != '}') {
      continue;
    }
    google::protobuf::Struct object;
    if (!google::protobuf::util::JsonStringToMessage(std::string{line}, &object).ok()) {
      continue;
    }
    metrics.found = true;
    flatten(object, "", metrics.values);
    break;
  }
  return metrics;
}

}  // namespace kstep::guest
