// The fixture every VM test shares: a fresh run directory per test (kept
// when the test fails, so its logs can be read), the real kstep binary, and
// a check that no process outlives kstep.
#pragma once

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/vm/kstep_process.hpp"

namespace kstep::vmtest {

// A scenario file of tests/data/scenarios.
inline std::string data(const char* name) {
  return std::string{KSTEP_TEST_DATA} + "/scenarios/" + name;
}

inline bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class Vm : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kstep-vm-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    run_dir_ = pattern;
  }
  void TearDown() override {
    if (!HasFailure()) {
      std::filesystem::remove_all(run_dir_);
    } else {
      std::cerr << "run directory kept: " << run_dir_ << "\n";
    }
  }

  KstepRun run(std::vector<std::string> extra,
               std::optional<std::chrono::milliseconds> interrupt = std::nullopt) {
    std::vector<std::string> args{"run", "--run-dir", run_dir_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = run_kstep(args, interrupt);
    EXPECT_TRUE(result.leftover_processes.empty())
        << "kstep left " << result.leftover_processes.size() << " process(es) behind";
    return result;
  }

  static std::string agent(const char* name) { return std::string{KSTEP_AGENT_DIR} + "/" + name; }

  std::string file(const char* name) const {
    std::ifstream in(run_dir_ / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path run_dir_;
};

}  // namespace kstep::vmtest
