#include "host/vm/private_dir.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/vm/vm_test_support.hpp"

namespace kstep::host {
namespace {

namespace fs = std::filesystem;

// Sets the umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t saved_;
};

TEST(VmPrivateDir, IsMode0700EvenWithAPermissiveUmask) {
  const ScopedUmask umask{0};
  auto dir = PrivateDir::create("/tmp", "kstep-test-");
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(dir->path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700U);
  EXPECT_EQ(dir->path().parent_path(), fs::path{"/tmp"});
  EXPECT_TRUE(dir->path().filename().string().starts_with("kstep-test-"));
}

TEST(VmPrivateDir, DestructionRemovesEverythingInsideButNotLinkTargets) {
  auto outside = PrivateDir::create("/tmp");
  ASSERT_TRUE(outside.ok());
  testing::write_file(outside->path() / "precious", "keep me");
  fs::path path;
  {
    auto dir = PrivateDir::create("/tmp");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    fs::create_directories(path / "a" / "b");
    testing::write_file(path / "a" / "b" / "file", "x");
    fs::create_directory_symlink(outside->path(), path / "link");
    ASSERT_TRUE(fs::exists(path / "a" / "b" / "file"));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(testing::read_file(outside->path() / "precious"), "keep me");
}

TEST(VmPrivateDir, KeepLeavesItOnDisk) {
  fs::path path;
  {
    auto dir = PrivateDir::create("/tmp");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    dir->keep();
    EXPECT_TRUE(dir->kept());
  }
  EXPECT_TRUE(fs::is_directory(path));
  fs::remove_all(path);
}

TEST(VmPrivateDir, MovedFromObjectRemovesNothing) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto path = dir->path();
  std::optional<PrivateDir> moved;
  {
    PrivateDir owner = std::move(dir).value();
    moved.emplace(std::move(owner));
  }  // the moved-from owner is destroyed here
  EXPECT_TRUE(fs::is_directory(path));
  moved.reset();
  EXPECT_FALSE(fs::exists(path));
}

TEST(VmPrivateDir, MoveAssignmentRemovesTheOverwrittenDirectory) {
  auto first = PrivateDir::create("/tmp");
  auto second = PrivateDir::create("/tmp");
  ASSERT_TRUE(first.ok() && second.ok());
  const auto first_path = first->path();
  const auto second_path = second->path();
  *first = std::move(*second);
  EXPECT_FALSE(fs::exists(first_path));
  EXPECT_EQ(first->path(), second_path);
  EXPECT_TRUE(fs::is_directory(second_path));
}

TEST(VmPrivateDir, RemoveIsIdempotent) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto path = dir->path();
  dir->remove();
  EXPECT_FALSE(fs::exists(path));
  dir->remove();
  EXPECT_TRUE(dir->path().empty());
}

TEST(VmPrivateDir, MissingParentIsAnErrorNamingIt) {
  auto dir = PrivateDir::create("/nonexistent-kstep-parent");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.error().message, ::testing::HasSubstr("/nonexistent-kstep-parent"));
  EXPECT_THAT(dir.error().message, ::testing::HasSubstr("No such file or directory"));
}

TEST(VmPrivateDir, TempRootHonoursAbsoluteTmpdirOnly) {
  EXPECT_EQ(temp_root(nullptr), fs::path{"/tmp"});
  EXPECT_EQ(temp_root(""), fs::path{"/tmp"});
  EXPECT_EQ(temp_root("relative/dir"), fs::path{"/tmp"});
  EXPECT_EQ(temp_root("/var/tmp"), fs::path{"/var/tmp"});
}

}  // namespace
}  // namespace kstep::host
