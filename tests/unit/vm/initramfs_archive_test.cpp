#include "host/initramfs/initramfs_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "host/vm/private_dir.hpp"
#include "tests/unit/vm/vm_test_support.hpp"

namespace kstep::host {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::read_file;
using testing::run_capture;
using testing::write_file;

struct Listed {
  std::string mode;
  std::string uid;
  std::string gid;
  std::string size;
  std::string name;
  friend bool operator==(const Listed&, const Listed&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Listed& l) {
    return os << l.mode << ' ' << l.uid << ' ' << l.gid << ' ' << l.size << ' ' << l.name;
  }
};

class InitramfsArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = PrivateDir::create("/tmp", "kstep-initramfs-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    dir_.emplace(std::move(dir).value());
  }

  [[nodiscard]] fs::path path(const std::string& name) const { return dir_->path() / name; }

  // Writes `spec` to `name` in the test directory.
  fs::path write(const InitramfsSpec& spec, const std::string& name) {
    const auto out = path(name);
    const UniqueFd fd{::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    EXPECT_TRUE(fd.valid());
    auto written = write_initramfs(spec, fd.get());
    EXPECT_TRUE(written.ok()) << written.error().message;
    return out;
  }

  // `bsdtar -tv`: "-rwxr-xr-x  1 0      0      5 Jan  1  1970 init".
  static std::vector<Listed> list(const fs::path& image) {
    const auto listed = run_capture({"/usr/bin/bsdtar", "--numeric-owner", "-tvf", image.string()});
    EXPECT_TRUE(listed.status && listed.status->success()) << listed.spawn_error;
    std::vector<Listed> out;
    std::istringstream lines{listed.out};
    std::string nlink;
    std::string month;
    std::string day;
    std::string year;
    Listed row;
    while (lines >> row.mode >> nlink >> row.uid >> row.gid >> row.size >> month >> day >> year >> row.name) {
      EXPECT_EQ(year, "1970") << row.name;
      out.push_back(row);
    }
    return out;
  }

  std::optional<PrivateDir> dir_;
};

InitramfsSpec sample(const fs::path& dir, Compression compression) {
  write_file(dir / "agent", "#!agent binary");
  write_file(dir / "sched", "scheduler!");
  write_file(dir / "payload", std::string(100'000, 'p'));
  return InitramfsSpec{{
                           {dir / "agent", "init", 0755},
                           {dir / "sched", "/usr/bin/scx_simple", 0700},
                           {dir / "payload", "usr/share/data.bin", 0644},
                       },
                       compression};
}

TEST_F(InitramfsArchive, ListsBackWithModesSizesAndImplicitParents) {
  for (const auto compression : {Compression::Zstd, Compression::Gzip}) {
    const auto image = write(sample(dir_->path(), compression), "image");
    EXPECT_THAT(list(image), ElementsAre(Listed{"-rwxr-xr-x", "0", "0", "14", "init"},
                                         Listed{"drwxr-xr-x", "0", "0", "0", "usr"},
                                         Listed{"drwxr-xr-x", "0", "0", "0", "usr/bin"},
                                         Listed{"-rwx------", "0", "0", "10", "usr/bin/scx_simple"},
                                         Listed{"drwxr-xr-x", "0", "0", "0", "usr/share"},
                                         Listed{"-rw-r--r--", "0", "0", "100000", "usr/share/data.bin"}))
        << to_string(compression);
  }
}

TEST_F(InitramfsArchive, IsCompressedCpioNewcThatGnuCpioReads) {
  const auto zst = write(sample(dir_->path(), Compression::Zstd), "image.cpio.zst");
  const auto gz = write(sample(dir_->path(), Compression::Gzip), "image.cpio.gz");
  const auto zst_bytes = read_file(zst);
  const auto gz_bytes = read_file(gz);
  ASSERT_GE(zst_bytes.size(), 4U);
  ASSERT_GE(gz_bytes.size(), 10U);
  EXPECT_EQ(zst_bytes.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_EQ(gz_bytes.substr(0, 2), std::string("\x1f\x8b", 2));
  EXPECT_EQ(gz_bytes.substr(4, 4), std::string(4, '\0')) << "gzip header carries a timestamp";

  // The kernel reads newc ("070701") in archive order: parents first.
  for (const auto& [image, tool] : {std::pair{zst, "zstd"}, std::pair{gz, "gzip"}}) {
    const auto listed =
        run_capture({"/bin/sh", "-c", fmt::format("{} -dc \"$1\" | tee \"$1.cpio\" | cpio -it --quiet", tool),
                     "sh", image.string()});
    ASSERT_TRUE(listed.status && listed.status->success()) << listed.spawn_error;
    EXPECT_EQ(listed.out, "init\nusr\nusr/bin\nusr/bin/scx_simple\nusr/share\nusr/share/data.bin\n") << tool;
    EXPECT_EQ(read_file(image.string() + ".cpio").substr(0, 6), "070701") << tool;
  }
}

TEST_F(InitramfsArchive, ExtractsToTheSameContent) {
  const auto image = write(sample(dir_->path(), Compression::Zstd), "image");
  const auto out = path("extracted");
  fs::create_directory(out);
  const auto extracted = run_capture({"/usr/bin/bsdtar", "-xpf", image.string(), "-C", out.string()});
  ASSERT_TRUE(extracted.status && extracted.status->success()) << extracted.spawn_error;
  EXPECT_EQ(read_file(out / "init"), "#!agent binary");
  EXPECT_EQ(read_file(out / "usr/bin/scx_simple"), "scheduler!");
  EXPECT_EQ(read_file(out / "usr/share/data.bin"), std::string(100'000, 'p'));
  struct stat st {};
  ASSERT_EQ(::stat((out / "usr/bin/scx_simple").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700U);
}

TEST_F(InitramfsArchive, EqualInputsGiveEqualBytes) {
  for (const auto compression : {Compression::Zstd, Compression::Gzip}) {
    const auto first = write(sample(dir_->path(), compression), "first");
    // Same contents from other files, with other timestamps, owners and
    // inode numbers, listed in another order.
    fs::create_directory(path("other"));
    auto spec = sample(path("other"), compression);
    std::reverse(spec.entries.begin(), spec.entries.end());
    const timeval old[2] = {{1'000'000, 0}, {1'000'000, 0}};
    for (const auto& entry : spec.entries) {
      ASSERT_EQ(::utimes(entry.source.c_str(), old), 0);
    }
    const auto second = write(spec, "second");
    EXPECT_EQ(read_file(first), read_file(second)) << to_string(compression);
    fs::remove_all(path("other"));
  }
}

TEST_F(InitramfsArchive, RejectsBadEntries) {
  write_file(path("f"), "x");
  const auto error_of = [this](std::vector<InitramfsEntry> entries) {
    const UniqueFd fd{::open(path("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    auto written = write_initramfs(InitramfsSpec{std::move(entries), Compression::Zstd}, fd.get());
    return written.ok() ? std::string{"<no error>"} : written.error().message;
  };
  const auto f = path("f");
  EXPECT_THAT(error_of({{f, "a", 0755}, {f, "/a", 0644}}), HasSubstr("'a' appears more than once"));
  EXPECT_THAT(error_of({{f, "../etc/passwd", 0644}}), HasSubstr("'..' component"));
  EXPECT_THAT(error_of({{f, "a//b", 0644}}), HasSubstr("empty, '.' or '..' component"));
  EXPECT_THAT(error_of({{f, "/", 0644}}), HasSubstr("destination path is empty"));
  EXPECT_THAT(error_of({{f, "bin", 0755}, {f, "bin/sh", 0755}}),
              HasSubstr("'bin' is a file, but 'bin/sh' needs it to be a directory"));
  EXPECT_THAT(error_of({{f, "init", 0100755}}), HasSubstr("bits beyond 07777"));
  EXPECT_THAT(error_of({{"", "init", 0755}}), HasSubstr("source path is empty"));
  EXPECT_THAT(error_of({{path("missing"), "init", 0755}}),
              HasSubstr("initramfs entry 'init': cannot open " + path("missing").string()));
  EXPECT_THAT(error_of({{dir_->path(), "init", 0755}}), HasSubstr("is not a regular file"));
}

TEST(InitramfsNormalize, SortsAndStripsLeadingSlashes) {
  auto entries = normalize_entries({{"/s/b", "/usr/b", 0644}, {"/s/a", "init", 0755}});
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_EQ((*entries)[0].destination, "init");
  EXPECT_EQ((*entries)[1].destination, "usr/b");
  EXPECT_EQ((*entries)[1].source, fs::path{"/s/b"});
  EXPECT_EQ(image_suffix(Compression::Zstd), ".cpio.zst");
  EXPECT_EQ(image_suffix(Compression::Gzip), ".cpio.gz");
}

}  // namespace
}  // namespace kstep::host
