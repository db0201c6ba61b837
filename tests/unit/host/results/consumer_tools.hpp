// Runs the external checkers that stand in for the consumers of kstep's
// result files (a JSON Schema validator, xmllint with a JUnit XSD), and finds
// the checked-in schemas. A test skips, saying why, when a checker is not
// installed; scripts/setup installs both, so CI runs them.
#pragma once

#include <filesystem>

#include "tests/tools/tool_run.hpp"

namespace kstep::host::testing {

using kstep::testing::quoted;
using kstep::testing::run_tool;
using kstep::testing::ToolRun;

// A file of the source tree, from the test data directory the build passes.
inline std::filesystem::path source_file(const char* relative) {
  return std::filesystem::path{KSTEP_TEST_DATA_DIR}.parent_path().parent_path() / relative;
}

}  // namespace kstep::host::testing
