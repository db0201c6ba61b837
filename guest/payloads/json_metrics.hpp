// Metrics a payload prints as JSON on its stdout.
//
// The convention (PayloadDecl.json_metrics): somewhere in its stdout the
// payload prints one JSON object on a line of its own, typically its final
// summary. The last such line wins, so progress objects printed earlier are
// superseded by the summary. Numeric fields become metrics; nested objects
// are flattened with '.' ("latency": {"p99": 3} gives "latency.p99"); strings,
// bools, nulls and arrays are ignored. Parsing is protobuf's JSON parser into
// a google.protobuf.Struct: no hand-written JSON here.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace kstep::guest {

struct JsonMetrics {
  std::map<std::string, double> values;
  // False when no line parsed as a JSON object: the payload did not follow
  // the convention (worth a warning), as opposed to an object without numbers.
  bool found = false;
};

// `text` is the payload's stdout (or its tail). When `first_line_partial`,
// the text was cut at the front and its first line is not considered.
[[nodiscard]] JsonMetrics parse_json_metrics(std::string_view text, bool first_line_partial = false);

}  // namespace kstep::guest
