#include "guest/mounts.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using testing::TempTree;

struct Call {
  std::string source;
  std::string target;
  std::string fstype;
  unsigned long flags;
  std::string data;
};

// Records mount(2) calls instead of making them; fails the `fail_at`-th.
struct RecordingMount {
  std::vector<Call> calls;
  int fail_at = -1;

  MountCall fn() {
    return [this](const char* source, const char* target, const char* fstype, unsigned long flags,
                  const void* data) {
      calls.push_back(Call{source, target, fstype, flags, data ? static_cast<const char*>(data) : ""});
      if (static_cast<int>(calls.size()) - 1 == fail_at) {
        errno = EPERM;
        return -1;
      }
      return 0;
    };
  }
};

TEST(GuestMounts, MountsEverythingInOrderAndCreatesMountPoints) {
  TempTree tree;
  RecordingMount mount;
  auto result = mount_all(tree.root(), essential_mounts(), mount.fn());
  ASSERT_TRUE(result) << result.error().message;

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"proc", "proc"},      {"sys", "sysfs"}, {"dev", "devtmpfs"}, {"sys/fs/cgroup", "cgroup2"},
      {"sys/fs/bpf", "bpf"}, {"tmp", "tmpfs"}, {"run", "tmpfs"},
  };
  ASSERT_EQ(mount.calls.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(mount.calls[i].target, (tree.root() / expected[i].first).string());
    EXPECT_EQ(mount.calls[i].fstype, expected[i].second);
    EXPECT_TRUE(std::filesystem::is_directory(tree.root() / expected[i].first)) << expected[i].first;
  }
  EXPECT_EQ(mount.calls[5].data, "mode=1777");  // /tmp is world-writable, sticky
}

TEST(GuestMounts, AlreadyMountedFilesystemIsLeftAlone) {
  // The machine running the test has proc on /proc: nothing to do there.
  const MountSpec proc[] = {{"proc", "/proc", "proc", 0, nullptr, PROC_SUPER_MAGIC}};
  RecordingMount mount;
  auto result = mount_all("/", proc, mount.fn());
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(mount.calls.empty());
}

TEST(GuestMounts, SameTypeButNotAMountPointIsMounted) {
  // The initramfs root is a tmpfs, so an unmounted /tmp already "is" tmpfs;
  // only a mount root on its own device counts as mounted.
  TempTree tree;
  struct statfs info {};
  ASSERT_EQ(::statfs(tree.root().c_str(), &info), 0);
  const MountSpec same_type[] = {
      {"tmpfs", "/tmp", "tmpfs", 0, nullptr, static_cast<std::int64_t>(info.f_type)}};
  RecordingMount mount;
  auto result = mount_all(tree.root(), same_type, mount.fn());
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(mount.calls.size(), 1U);
}

TEST(GuestMounts, FailureStopsAndNamesTheMount) {
  TempTree tree;
  RecordingMount mount;
  mount.fail_at = 1;  // sysfs
  auto result = mount_all(tree.root(), essential_mounts(), mount.fn());
  ASSERT_FALSE(result);
  EXPECT_EQ(mount.calls.size(), 2U);
  EXPECT_NE(result.error().message.find("mounting sysfs on " + (tree.root() / "sys").string()),
            std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("Operation not permitted"), std::string::npos)
      << result.error().message;
}

}  // namespace
}  // namespace kstep::guest
