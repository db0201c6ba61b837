// process_map_ids against a fake /proc: fd symlinks and fdinfo files as the
// kernel writes them for BPF maps, programs and ordinary files.
#include "guest/bpf/process_maps.hpp"

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempTree;

// fdinfo of a BPF array map, as Linux 6.x prints it.
std::string map_fdinfo(unsigned id) {
  return "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nmap_type:\t2\nkey_size:\t4\n"
         "value_size:\t8\nmax_entries:\t1\nmap_flags:\t0x400\nmap_extra:\t0x0\nmemlock:\t4096\n"
         "map_id:\t" +
         std::to_string(id) + "\nfrozen:\t0\n";
}

class ProcessMapIdsTest : public ::testing::Test {
 protected:
  // proc/PID/fd/FD -> target, and proc/PID/fdinfo/FD.
  void add_fd(int pid, int fd, const std::string& target, const std::string& fdinfo) const {
    const auto base = std::filesystem::path{"proc"} / std::to_string(pid);
    tree_.mkdir(base / "fd");
    std::filesystem::create_symlink(target, tree_.root() / base / "fd" / std::to_string(fd));
    tree_.write(base / "fdinfo" / std::to_string(fd), fdinfo);
  }

  [[nodiscard]] std::filesystem::path proc() const { return tree_.root() / "proc"; }

  TempTree tree_;
};

TEST_F(ProcessMapIdsTest, FindsTheMapsSortedAndUniqueAndIgnoresOtherFds) {
  add_fd(42, 0, "/dev/null", "pos:\t0\nflags:\t02\n");
  add_fd(42, 3, "anon_inode:bpf-map", map_fdinfo(12));
  add_fd(42, 4, "anon_inode:bpf-prog", "pos:\t0\nprog_type:\t27\nprog_id:\t9\n");
  add_fd(42, 5, "anon_inode:bpf-map", map_fdinfo(7));
  add_fd(42, 6, "socket:[1234]", "pos:\t0\n");
  add_fd(42, 7, "anon_inode:bpf-map", map_fdinfo(12));  // a second fd to map 12
  add_fd(42, 8, "anon_inode:bpf-link", "link_type:\tstruct_ops\nlink_id:\t3\n");
  add_fd(43, 3, "anon_inode:bpf-map", map_fdinfo(99));  // another process's map

  const auto ids = process_map_ids(proc(), 42);

  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_THAT(*ids, ElementsAre(7U, 12U));
}

TEST_F(ProcessMapIdsTest, AProcessWithoutMapsHasNone) {
  add_fd(42, 0, "/dev/null", "pos:\t0\n");

  const auto ids = process_map_ids(proc(), 42);

  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_THAT(*ids, IsEmpty());
}

TEST_F(ProcessMapIdsTest, SkipsMapFdsClosedWhileLookingAndFdinfoWithoutAnId) {
  add_fd(42, 3, "anon_inode:bpf-map", map_fdinfo(5));
  add_fd(42, 4, "anon_inode:bpf-map", "");
  std::filesystem::remove(tree_.root() / "proc/42/fdinfo/4");  // closed after the listing
  add_fd(42, 5, "anon_inode:bpf-map", "pos:\t0\nmap_type:\t2\n");
  add_fd(42, 6, "anon_inode:bpf-map", "map_id:\tnot-a-number\n");

  const auto ids = process_map_ids(proc(), 42);

  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_THAT(*ids, ElementsAre(5U));
}

TEST_F(ProcessMapIdsTest, AMissingPidIsAnErrorNamingIt) {
  add_fd(42, 3, "anon_inode:bpf-map", map_fdinfo(5));

  const auto ids = process_map_ids(proc(), 4242);

  ASSERT_FALSE(ids.ok());
  EXPECT_THAT(ids.error().message, HasSubstr("pid 4242"));
  EXPECT_THAT(ids.error().message, HasSubstr((proc() / "4242" / "fd").string()));
}

}  // namespace
}  // namespace kstep::guest
