#include "host/initramfs/initramfs_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/initramfs/file_hash_index.hpp"
#include "host/vm/private_dir.hpp"
#include "tests/unit/vm/vm_test_support.hpp"

namespace kstep::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::read_file;
using testing::write_file;

// Hash memoization without the racy-file guard, so a file written a moment
// ago counts as settled.
constexpr InitramfsCacheOptions kNoRacyWindow{.racy_window = 0ns};

struct ImageStat {
  ino_t ino;
  std::int64_t mtime_ns;
};

ImageStat stat_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {st.st_ino, std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Sets mtime to now + `delta` (ctime becomes "now" regardless).
void set_mtime(const fs::path& path, std::chrono::seconds delta) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const timespec times[2] = {now, {now.tv_sec + delta.count(), now.tv_nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

class InitramfsCache : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = PrivateDir::create("/tmp", "kstep-initramfs-cache-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().message;
    dir_.emplace(std::move(dir).value());
    fs::create_directory(inputs());
    write_file(inputs() / "agent", std::string(4096, 'a'));
    write_file(inputs() / "sched", "scheduler v1");
    spec_ = InitramfsSpec{{{inputs() / "agent", "init", 0755}, {inputs() / "sched", "bin/sched", 0755}},
                          Compression::Zstd};
  }

  [[nodiscard]] fs::path inputs() const { return dir_->path() / "inputs"; }
  [[nodiscard]] fs::path cache() const { return dir_->path() / "cache"; }

  InitramfsImage build(const InitramfsSpec& spec, const InitramfsCacheOptions& options = kNoRacyWindow) {
    auto image = build_initramfs(spec, cache(), options);
    EXPECT_TRUE(image.ok()) << image.error().message;
    return image.ok() ? *image : InitramfsImage{};
  }

  std::optional<PrivateDir> dir_;
  InitramfsSpec spec_;
};

TEST_F(InitramfsCache, MissThenHitWithoutRewritingOrRehashing) {
  const auto first = build(spec_);
  EXPECT_FALSE(first.cache_hit);
  EXPECT_EQ(first.files_hashed, 2U);
  EXPECT_EQ(first.key.size(), 64U);
  EXPECT_EQ(first.path, cache() / "initramfs" / (first.key + ".cpio.zst"));
  ASSERT_TRUE(fs::is_regular_file(first.path));
  const auto before = stat_of(first.path);
  struct stat st {};
  ASSERT_EQ(::stat(first.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644U);

  const auto second = build(spec_);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.files_hashed, 0U) << "unchanged files were hashed again";
  EXPECT_EQ(second.path, first.path);
  const auto after = stat_of(second.path);
  EXPECT_EQ(after.ino, before.ino);
  EXPECT_EQ(after.mtime_ns, before.mtime_ns);
  // Nothing but the image and the hash index in the cache directory.
  EXPECT_EQ(std::distance(fs::directory_iterator{cache() / "initramfs"}, fs::directory_iterator{}), 2);
}

TEST_F(InitramfsCache, FreshFilesAreNotMemoizedInsideTheRacyWindow) {
  const InitramfsCacheOptions racy{.racy_window = 1h};
  EXPECT_EQ(build(spec_, racy).files_hashed, 2U);
  const auto again = build(spec_, racy);
  EXPECT_TRUE(again.cache_hit);
  EXPECT_EQ(again.files_hashed, 2U);
}

TEST_F(InitramfsCache, SameSizeEditWithBumpedMtimeGivesANewKey) {
  const auto first = build(spec_);
  write_file(inputs() / "sched", "scheduler v2");  // same size
  set_mtime(inputs() / "sched", 5s);
  const auto second = build(spec_);
  EXPECT_FALSE(second.cache_hit);
  EXPECT_EQ(second.files_hashed, 1U);
  EXPECT_NE(second.key, first.key);
  EXPECT_TRUE(fs::exists(first.path));  // the old image stays for whoever still uses it
}

TEST_F(InitramfsCache, SameSizeEditWithRestoredMtimeIsCaughtByCtime) {
  const auto first = build(spec_);
  struct stat st {};
  ASSERT_EQ(::stat((inputs() / "sched").c_str(), &st), 0);
  write_file(inputs() / "sched", "scheduler v2");
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (inputs() / "sched").c_str(), times, 0), 0);
  const auto second = build(spec_);
  EXPECT_FALSE(second.cache_hit);
  EXPECT_NE(second.key, first.key);
}

TEST_F(InitramfsCache, KeyCoversModeDestinationAndCompression) {
  const auto base = build(spec_);
  auto changed = spec_;
  changed.entries[1].mode = 0700;
  EXPECT_NE(build(changed).key, base.key);
  changed = spec_;
  changed.entries[1].destination = "bin/sched2";
  EXPECT_NE(build(changed).key, base.key);
  changed = spec_;
  changed.compression = Compression::Gzip;
  const auto gz = build(changed);
  EXPECT_NE(gz.key, base.key);
  EXPECT_EQ(gz.path.extension(), ".gz");
  EXPECT_EQ(read_file(gz.path).substr(0, 2), std::string("\x1f\x8b", 2));
  // Order and a leading '/' do not matter.
  changed = spec_;
  std::swap(changed.entries[0], changed.entries[1]);
  changed.entries[0].destination = "/bin/sched";
  const auto same = build(changed);
  EXPECT_EQ(same.key, base.key);
  EXPECT_TRUE(same.cache_hit);
}

TEST_F(InitramfsCache, EqualContentFromOtherFilesSharesTheImage) {
  const auto first = build(spec_);
  fs::copy_file(inputs() / "agent", dir_->path() / "agent-copy");
  auto copy = spec_;
  copy.entries[0].source = dir_->path() / "agent-copy";
  const auto second = build(copy);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.files_hashed, 1U);
  EXPECT_EQ(second.path, first.path);
}

TEST_F(InitramfsCache, RebuildsAVanishedImage) {
  const auto first = build(spec_);
  const auto bytes = read_file(first.path);
  fs::remove(first.path);
  const auto second = build(spec_);
  EXPECT_FALSE(second.cache_hit);
  EXPECT_EQ(read_file(second.path), bytes);
}

TEST_F(InitramfsCache, CorruptIndexIsIgnored) {
  const auto first = build(spec_);
  write_file(cache() / "initramfs" / "file-hashes", "kstep-file-hashes 1\nzzzz 1 2 3 4 5 /x\ngarbage\n");
  const auto second = build(spec_);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.files_hashed, 2U);
  EXPECT_EQ(second.key, first.key);
  EXPECT_EQ(build(spec_).files_hashed, 0U);  // and the index was rewritten
}

TEST_F(InitramfsCache, MissingInputNamesTheEntry) {
  auto spec = spec_;
  spec.entries[1].source = inputs() / "missing";
  auto image = build_initramfs(spec, cache(), kNoRacyWindow);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, ::testing::HasSubstr("initramfs entry 'bin/sched'"));
  EXPECT_THAT(image.error().message, ::testing::HasSubstr("missing"));
}

TEST(InitramfsFileHashIndex, MemoIsKeyedByIdentityAndPersisted) {
  auto dir = PrivateDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  const auto file = dir->path() / "f";
  const auto index_path = dir->path() / "index";
  write_file(file, "hello");
  const auto now = std::chrono::system_clock::now() + 1s;

  auto index = FileHashIndex::load(index_path);
  EXPECT_EQ(index.size(), 0U);
  auto hash = index.hash(file, now, 0ns);
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_EQ(*hash, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");  // sha256("hello")
  ASSERT_TRUE(index.save().ok());

  auto reloaded = FileHashIndex::load(index_path);
  EXPECT_EQ(reloaded.size(), 1U);
  EXPECT_EQ(*reloaded.hash(file, now, 0ns), *hash);
  EXPECT_EQ(reloaded.files_hashed(), 0U);

  write_file(file, "world");
  set_mtime(file, 5s);
  EXPECT_EQ(*reloaded.hash(file, now + 10s, 0ns),
            "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7");  // sha256("world")
  EXPECT_EQ(reloaded.files_hashed(), 1U);
}

}  // namespace
}  // namespace kstep::host
