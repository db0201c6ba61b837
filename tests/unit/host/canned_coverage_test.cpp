// The VM tests run every built-in scenario on the real kernel; this keeps
// their list in step with canned_scenarios() so a new scenario cannot ship
// untested.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "host/scenario/canned_scenarios.hpp"

namespace kstep::host {
namespace {

TEST(CannedScenarios, VmTestsCoverEveryBuiltin) {
  std::ifstream source{std::string{KSTEP_TEST_DATA_DIR} + "/../vm/scenario_vm_test.cpp"};
  ASSERT_TRUE(source) << "cannot read tests/vm/scenario_vm_test.cpp";
  std::stringstream text;
  text << source.rdbuf();
  for (const auto& canned : canned_scenarios()) {
    EXPECT_NE(text.str().find("\"" + std::string{canned.name} + "\""), std::string::npos)
        << "the VM tests do not run the built-in scenario " << canned.name;
  }
}

}  // namespace
}  // namespace kstep::host
