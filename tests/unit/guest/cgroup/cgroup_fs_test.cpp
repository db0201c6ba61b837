#include "guest/cgroup/cgroup_fs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempTree;
using namespace std::chrono_literals;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CgroupFsTest : public ::testing::Test {
 protected:
  TempTree tree_;
  CgroupFs fs_{tree_.root(), CgroupFs::Kind::kPlainDirectory};
};

TEST_F(CgroupFsTest, PathsAreRelativeToTheRoot) {
  EXPECT_EQ(fs_.path_of(""), tree_.root());
  EXPECT_EQ(fs_.path_of("web/frontend"), tree_.root() / "web" / "frontend");
  EXPECT_TRUE(fs_.exists(""));
  EXPECT_FALSE(fs_.exists("web"));
}

TEST_F(CgroupFsTest, CreateMakesTheLeafOnly) {
  ASSERT_TRUE(fs_.create("web"));
  EXPECT_TRUE(fs_.exists("web"));
  EXPECT_TRUE(std::filesystem::is_directory(tree_.root() / "web"));

  const auto orphan = fs_.create("db/replica");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().message, "parent cgroup 'db' of 'db/replica' does not exist");
  EXPECT_FALSE(fs_.exists("db"));

  ASSERT_TRUE(fs_.create("web/frontend"));
  EXPECT_TRUE(fs_.exists("web/frontend"));
}

TEST_F(CgroupFsTest, CreateRefusesAnExistingCgroup) {
  ASSERT_TRUE(fs_.create("web"));
  const auto again = fs_.create("web");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "cgroup 'web' already exists");
  EXPECT_FALSE(fs_.create(""));
}

TEST_F(CgroupFsTest, NamesCannotLeaveTheRoot) {
  for (const char* bad : {"..", "../escape", "/abs", "a//b", "a/", "./a", "a/../b"}) {
    const auto created = fs_.create(bad);
    ASSERT_FALSE(created) << bad;
    EXPECT_THAT(created.error().message, HasSubstr("bad cgroup name")) << bad;
    EXPECT_FALSE(fs_.write(bad, "cpu.max", "max")) << bad;
    EXPECT_FALSE(fs_.exists(bad)) << bad;
  }
  EXPECT_FALSE(std::filesystem::exists(tree_.root().parent_path() / "escape"));
  EXPECT_FALSE(fs_.write("", "../cpu.max", "max"));
}

TEST_F(CgroupFsTest, PlainRemoveTakesFilesAndChildren) {
  ASSERT_TRUE(fs_.create("web"));
  ASSERT_TRUE(fs_.create("web/frontend"));
  ASSERT_TRUE(fs_.write("web", "cpu.weight", "100"));
  ASSERT_TRUE(fs_.remove("web"));
  EXPECT_FALSE(fs_.exists("web"));

  const auto missing = fs_.remove("web");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cgroup 'web' does not exist");
  EXPECT_FALSE(fs_.remove(""));
  EXPECT_TRUE(std::filesystem::is_directory(tree_.root()));
}

TEST_F(CgroupFsTest, KernelRemoveIsRmdirAndReportsABusyCgroup) {
  CgroupFs kernel{tree_.root(), CgroupFs::Kind::kKernel};
  ASSERT_TRUE(kernel.create("web"));
  ASSERT_TRUE(kernel.create("web/frontend"));
  // A plain directory says ENOTEMPTY where cgroupfs says EBUSY; both mean
  // the same to the caller.
  const auto busy = kernel.remove("web");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().message, "cgroup 'web' still has processes or children");
  EXPECT_TRUE(kernel.exists("web"));

  ASSERT_TRUE(kernel.remove("web/frontend"));
  ASSERT_TRUE(kernel.remove("web"));
  EXPECT_FALSE(kernel.exists("web"));
  EXPECT_EQ(kernel.remove("web").error().message, "cgroup 'web' does not exist");
}

TEST_F(CgroupFsTest, WriteReplacesAndReadTrims) {
  ASSERT_TRUE(fs_.create("web"));
  ASSERT_TRUE(fs_.write("web", "cpu.max", "50000 100000"));
  ASSERT_TRUE(fs_.write("web", "cpu.max", "max"));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cpu.max"), "max");

  tree_.write("web/cpuset.cpus.effective", "0-3\n");
  EXPECT_EQ(*fs_.read("web", "cpuset.cpus.effective"), "0-3");
  ASSERT_TRUE(fs_.write("", "cgroup.max.depth", "8"));
  EXPECT_EQ(*fs_.read("", "cgroup.max.depth"), "8");
}

TEST_F(CgroupFsTest, WriteErrorsNameTheValueAndTheFullPath) {
  const auto written = fs_.write("nope", "cpu.max", "max");
  ASSERT_FALSE(written);
  EXPECT_THAT(written.error().message, HasSubstr("'max'"));
  EXPECT_THAT(written.error().message, HasSubstr((tree_.root() / "nope" / "cpu.max").string()));
  EXPECT_THAT(written.error().message, HasSubstr("No such file or directory"));

  const auto read = fs_.read("nope", "cpu.max");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message, HasSubstr((tree_.root() / "nope" / "cpu.max").string()));
}

TEST_F(CgroupFsTest, KernelWriteNeedsTheFileAndSaysWhyItIsMissing) {
  CgroupFs kernel{tree_.root(), CgroupFs::Kind::kKernel};
  ASSERT_TRUE(kernel.create("web"));
  const auto no_file = kernel.write("web", "cpu.max", "max");
  ASSERT_FALSE(no_file);
  EXPECT_THAT(no_file.error().message, HasSubstr("cgroup 'web' has no cpu.max"));
  EXPECT_THAT(no_file.error().message, HasSubstr("subtree_control"));
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "web" / "cpu.max"));

  const auto no_cgroup = kernel.write("db", "cpu.max", "max");
  ASSERT_FALSE(no_cgroup);
  EXPECT_THAT(no_cgroup.error().message, HasSubstr("cgroup 'db' does not exist"));
}

TEST_F(CgroupFsTest, KernelEmptyWriteSendsANewline) {
  CgroupFs kernel{tree_.root(), CgroupFs::Kind::kKernel};
  tree_.write("web/cpuset.cpus", "");
  ASSERT_TRUE(kernel.write("web", "cpuset.cpus", ""));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cpuset.cpus"), "\n");
}

TEST_F(CgroupFsTest, ProcsParsesOnePidPerLine) {
  tree_.write("web/cgroup.procs", "12\n345\n\n6789\n");
  EXPECT_THAT(*fs_.procs("web"), ElementsAre(12, 345, 6789));

  tree_.write("idle/cgroup.procs", "");
  EXPECT_TRUE(fs_.procs("idle")->empty());

  tree_.write("bad/cgroup.procs", "12\nabc\n");
  const auto bad = fs_.procs("bad");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("bad pid 'abc'"));
  EXPECT_THAT(bad.error().message, HasSubstr("cgroup 'bad'"));

  tree_.write("zero/cgroup.procs", "0\n");
  EXPECT_FALSE(fs_.procs("zero"));
  EXPECT_FALSE(fs_.procs("missing"));
}

TEST_F(CgroupFsTest, MoveAddsToCgroupProcs) {
  ASSERT_TRUE(fs_.create("web"));
  ASSERT_TRUE(fs_.move(41, "web"));
  ASSERT_TRUE(fs_.move(42, "web"));
  EXPECT_THAT(*fs_.procs("web"), ElementsAre(41, 42));

  const auto missing = fs_.move(43, "db");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("moving pid 43 to cgroup 'db'"));
}

TEST_F(CgroupFsTest, EnableControllersIsOneWriteOfEveryController) {
  ASSERT_TRUE(fs_.create("web"));
  ASSERT_TRUE(fs_.enable_controllers("", {"cpuset", "cpu", "memory"}));
  EXPECT_EQ(slurp(tree_.root() / "cgroup.subtree_control"), "+cpu +cpuset +memory\n");
  ASSERT_TRUE(fs_.enable_controllers("web", {"pids"}));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cgroup.subtree_control"), "+pids\n");

  // Nothing to enable: nothing written at all.
  ASSERT_TRUE(fs_.enable_controllers("web", {}));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cgroup.subtree_control"), "+pids\n");
}

// A write that fails although the file exists: the kernel's EINVAL and
// EBUSY are played by a directory in the file's place.
TEST_F(CgroupFsTest, KernelEnableFailureNamesTheMissingController) {
  CgroupFs kernel{tree_.root(), CgroupFs::Kind::kKernel};
  tree_.mkdir("cgroup.subtree_control");
  tree_.write("cgroup.controllers", "cpu memory pids\n");
  const auto enabled = kernel.enable_controllers("", {"cpu", "cpuset", "io"});
  ASSERT_FALSE(enabled);
  EXPECT_THAT(enabled.error().message, HasSubstr("does not offer controller(s) cpuset, io in cgroup ''"));
}

TEST_F(CgroupFsTest, KernelEnableFailureNamesProcessesOfTheCgroup) {
  CgroupFs kernel{tree_.root(), CgroupFs::Kind::kKernel};
  tree_.mkdir("web/cgroup.subtree_control");
  tree_.write("web/cgroup.controllers", "cpu memory\n");
  tree_.write("web/cgroup.type", "domain\n");
  tree_.write("web/cgroup.procs", "77\n");
  const auto enabled = kernel.enable_controllers("web", {"cpu"});
  ASSERT_FALSE(enabled);
  EXPECT_THAT(enabled.error().message, HasSubstr("cgroup 'web' has processes of its own"));
}

TEST_F(CgroupFsTest, PlainFreezeWritesTheFile) {
  ASSERT_TRUE(fs_.create("web"));
  ASSERT_TRUE(fs_.set_frozen("web", true, 0ms));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cgroup.freeze"), "1");
  ASSERT_TRUE(fs_.set_frozen("web", false, 0ms));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cgroup.freeze"), "0");
  EXPECT_FALSE(fs_.set_frozen("db", true, 0ms));
}

class CgroupFsKernelFreezeTest : public CgroupFsTest {
 protected:
  void SetUp() override {
    tree_.write("web/cgroup.freeze", "0");
    set_events("populated 1\nfrozen 0\n");
  }
  // Replaced by rename, so the poller never reads half a file.
  void set_events(const std::string& text) {
    tree_.write("web/cgroup.events.new", text);
    std::filesystem::rename(tree_.root() / "web" / "cgroup.events.new",
                            tree_.root() / "web" / "cgroup.events");
  }
  CgroupFs kernel_{tree_.root(), CgroupFs::Kind::kKernel};
};

TEST_F(CgroupFsKernelFreezeTest, FreezeReturnsOnceEventsSayFrozen) {
  set_events("populated 1\nfrozen 1\n");
  ASSERT_TRUE(kernel_.set_frozen("web", true, 1000ms));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cgroup.freeze"), "1");
}

TEST_F(CgroupFsKernelFreezeTest, FreezeWaitsForTheKernel) {
  std::thread kernel_side{[this] {
    std::this_thread::sleep_for(20ms);
    set_events("populated 1\nfrozen 1\n");
  }};
  const auto frozen = kernel_.set_frozen("web", true, 30000ms);
  kernel_side.join();
  EXPECT_TRUE(frozen) << frozen.error().message;
}

TEST_F(CgroupFsKernelFreezeTest, FreezeTimesOutNamingTheCgroup) {
  const auto frozen = kernel_.set_frozen("web", true, 10ms);
  ASSERT_FALSE(frozen);
  EXPECT_EQ(frozen.error().message, "cgroup 'web' did not report frozen within 10 ms");
}

TEST_F(CgroupFsKernelFreezeTest, ThawTimesOutHintingAtAFrozenParent) {
  set_events("populated 1\nfrozen 1\n");
  const auto thawed = kernel_.set_frozen("web", false, 5ms);
  ASSERT_FALSE(thawed);
  EXPECT_THAT(thawed.error().message, HasSubstr("cgroup 'web' did not thaw within 5 ms"));
  EXPECT_EQ(slurp(tree_.root() / "web" / "cgroup.freeze"), "0");
}

}  // namespace
}  // namespace kstep::guest
