// Where a scenario comes from on the command line: a file, or the name of a
// built-in one.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "host/scenario/scenario_loader.hpp"

namespace kstep::host {

// `file_or_name` is a file when it exists, contains a '/', or ends in
// .textproto, .txtpb or .pbtxt (so a mistyped path says "cannot read", not
// "unknown scenario"); otherwise the name of a canned scenario, whose origin
// is "builtin:NAME". Empty: the default canned scenario. An unknown name is
// an error that lists the canned names.
[[nodiscard]] Result<LoadedScenario> load_scenario_arg(std::string_view file_or_name);

// The `kstep scenarios` listing: one line per canned scenario, its name
// padded to a column, then its summary; the default is marked.
[[nodiscard]] std::string describe_canned_list();

}  // namespace kstep::host
