// A run's result as JUnit XML, for CI systems that read JUnit: one
// testsuite per kernel, one testcase per scenario, each failure detail a
// <failure>; an inconclusive run is an <error>, a skipped one <skipped>.
#pragma once

#include <string>
#include <string_view>

#include "result.pb.h"

namespace kstep::host {

[[nodiscard]] std::string render_junit(const result::RunResult& result);

// Escapes the five XML special characters and drops characters XML 1.0
// cannot hold (control characters other than tab, newline, return).
[[nodiscard]] std::string xml_escape(std::string_view text);

}  // namespace kstep::host
