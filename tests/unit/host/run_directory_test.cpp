#include "host/session/run_directory.hpp"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace kstep::host {
namespace {

class HostRunDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kstep-rundir-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(HostRunDirectory, DefaultRootFollowsXdg) {
  EXPECT_EQ(*default_runs_root("/state", "/home/u"), std::filesystem::path{"/state/kstep/runs"});
  EXPECT_EQ(*default_runs_root(nullptr, "/home/u"), std::filesystem::path{"/home/u/.local/state/kstep/runs"});
  EXPECT_EQ(*default_runs_root("relative", "/home/u"),
            std::filesystem::path{"/home/u/.local/state/kstep/runs"});
  EXPECT_FALSE(default_runs_root(nullptr, nullptr));
}

TEST_F(HostRunDirectory, CreatesTimestampedDirAndLatestLink) {
  const auto now = std::chrono::system_clock::from_time_t(1764054000);  // 2025-11-25 07:00:00 UTC
  auto dir = create_run_directory(std::nullopt, root_, now, 4242);
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_EQ(dir->filename(), "20251125-070000-4242");
  EXPECT_TRUE(std::filesystem::is_directory(*dir));
  EXPECT_EQ(std::filesystem::canonical(root_ / "latest"), std::filesystem::canonical(*dir));
  auto second = create_run_directory(std::nullopt, root_, now + std::chrono::seconds{1}, 4242);
  ASSERT_TRUE(second);
  EXPECT_EQ(std::filesystem::canonical(root_ / "latest"), std::filesystem::canonical(*second));
}

TEST_F(HostRunDirectory, RequestedDirIsUsedAsIs) {
  auto dir = create_run_directory(root_ / "a" / "b", "/unused", std::chrono::system_clock::now(), 1);
  ASSERT_TRUE(dir);
  EXPECT_EQ(*dir, root_ / "a" / "b");
  EXPECT_TRUE(std::filesystem::is_directory(*dir));
}

TEST_F(HostRunDirectory, UncreatableDirIsAnErrorNamingIt) {
  std::ofstream(root_ / "file") << "x";
  auto dir = create_run_directory(root_ / "file" / "sub", "/unused", std::chrono::system_clock::now(), 1);
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find((root_ / "file" / "sub").string()), std::string::npos);
}

TEST_F(HostRunDirectory, KeyValuesAreOneLineEach) {
  ASSERT_TRUE(write_key_values(root_ / "result.txt", {{"outcome", "pass"}, {"reason", "two\nlines"}}));
  std::ifstream in(root_ / "result.txt");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "outcome=pass\nreason=two lines\n");
}

}  // namespace
}  // namespace kstep::host
