#include "host/kernel/kernel_cache.hpp"

#include <sys/stat.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

namespace fs = std::filesystem;
using kernel_test::config_sample;
using kernel_test::read_file;
using kernel_test::TempDir;
using kernel_test::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const KernelOrigin kOrigin{"trixie-backports", "linux-image-cloud-amd64", "7.3.4-1~bpo13+1",
                           "http://deb.debian.org/debian", "2025-11-25T07:03:00Z"};

std::vector<std::string> releases(const std::vector<CachedKernel>& kernels) {
  std::vector<std::string> out;
  for (const auto& k : kernels) {
    out.push_back(k.release);
  }
  return out;
}

class KernelCacheTest : public ::testing::Test {
 protected:
  [[nodiscard]] fs::path kernels() const { return tmp_ / "kernels"; }

  // A release directory with the given files; returns it.
  fs::path add_release(const std::string& release, bool vmlinuz, bool vmlinux,
                       std::optional<std::string> config_sample_name = std::nullopt,
                       std::optional<std::string> origin = std::nullopt) {
    const auto dir = kernels() / release;
    fs::create_directories(dir);
    if (vmlinuz) {
      write_file(dir / "vmlinuz", "bzimage-" + release);
    }
    if (vmlinux) {
      write_file(dir / "vmlinux", "elf-" + release);
    }
    if (config_sample_name) {
      write_file(dir / "config", read_file(config_sample(*config_sample_name)));
    }
    if (origin) {
      write_file(dir / "origin", *origin);
    }
    return dir;
  }

  TempDir tmp_;
  KernelCache cache_{tmp_.path()};
};

TEST_F(KernelCacheTest, KernelsDirIsUnderTheCacheRoot) {
  EXPECT_EQ(cache_.kernels_dir(), tmp_.path() / "kernels");
}

TEST_F(KernelCacheTest, AbsentCacheIsEmpty) {
  auto list = cache_.list();
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_TRUE(list->empty());
  auto newest = cache_.newest();
  ASSERT_TRUE(newest.ok()) << newest.error().message;
  EXPECT_FALSE(newest->has_value());
  auto found = cache_.find("7.3.4+deb13-cloud-amd64");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(found->has_value());
  EXPECT_FALSE(fs::exists(kernels())) << "reading must not create the cache";
}

TEST_F(KernelCacheTest, ListsReleasesNewestFirstSkippingNonReleases) {
  add_release("6.12.9+bpo-cloud-amd64", true, false);
  add_release("7.3.4+deb13-cloud-amd64", true, true);
  add_release("6.12.10+bpo-cloud-amd64", false, true);
  add_release(".staging-abc123", true, true);       // a fetch in progress
  fs::create_directories(kernels() / "no-images");  // neither vmlinuz nor vmlinux
  write_file(kernels() / "no-images" / "config", "CONFIG_A=y\n");
  write_file(kernels() / "9.9.9-a-file", "not a directory");
  fs::create_directories(kernels() / "8.0.0-dir-named-image" / "vmlinuz");  // vmlinuz is a directory

  auto list = cache_.list();
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_THAT(releases(*list),
              ElementsAre("7.3.4+deb13-cloud-amd64", "6.12.10+bpo-cloud-amd64", "6.12.9+bpo-cloud-amd64"));

  auto newest = cache_.newest();
  ASSERT_TRUE(newest.ok()) << newest.error().message;
  ASSERT_TRUE(newest->has_value());
  EXPECT_EQ((*newest)->release, "7.3.4+deb13-cloud-amd64");
}

TEST_F(KernelCacheTest, LoadsFilesConfigAndOrigin) {
  const auto dir = add_release("7.3.4+deb13-cloud-amd64", true, true, "good.config", format_origin(kOrigin));
  auto found = cache_.find("7.3.4+deb13-cloud-amd64");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const auto& k = **found;
  EXPECT_EQ(k.release, "7.3.4+deb13-cloud-amd64");
  EXPECT_EQ(k.dir, dir);
  EXPECT_EQ(k.vmlinuz, dir / "vmlinuz");
  EXPECT_EQ(k.vmlinux, dir / "vmlinux");
  EXPECT_EQ(k.config, dir / "config");
  EXPECT_EQ(k.origin, kOrigin);
  EXPECT_EQ(k.sched_ext, true);
  const auto expected_size = fs::file_size(dir / "vmlinuz") + fs::file_size(dir / "vmlinux") +
                             fs::file_size(dir / "config") + fs::file_size(dir / "origin");
  EXPECT_EQ(k.size_bytes, expected_size);
}

TEST_F(KernelCacheTest, SchedExtComesFromTheConfig) {
  add_release("1-no-sched-ext", true, false, "no-sched-ext.config");
  add_release("2-no-config", true, false);
  add_release("3-malformed-config", true, false, "malformed.config");
  add_release("4-bad-origin", true, false, std::nullopt, "no equals sign here\n");

  auto without = cache_.find("1-no-sched-ext");
  ASSERT_TRUE(without.ok() && without->has_value());
  EXPECT_EQ((*without)->sched_ext, false);

  auto no_config = cache_.find("2-no-config");
  ASSERT_TRUE(no_config.ok() && no_config->has_value());
  EXPECT_EQ((*no_config)->config, std::nullopt);
  EXPECT_EQ((*no_config)->sched_ext, std::nullopt);
  EXPECT_EQ((*no_config)->origin, std::nullopt);
  EXPECT_EQ((*no_config)->vmlinux, std::nullopt);

  // An unreadable config or origin makes that field unknown, not the release unusable.
  auto malformed = cache_.find("3-malformed-config");
  ASSERT_TRUE(malformed.ok() && malformed->has_value());
  EXPECT_TRUE((*malformed)->config.has_value());
  EXPECT_EQ((*malformed)->sched_ext, std::nullopt);

  auto bad_origin = cache_.find("4-bad-origin");
  ASSERT_TRUE(bad_origin.ok() && bad_origin->has_value());
  EXPECT_EQ((*bad_origin)->origin, std::nullopt);
}

TEST_F(KernelCacheTest, FindRejectsNonReleases) {
  add_release("7.3.4+deb13-cloud-amd64", true, false);
  add_release(".staging-x", true, false);
  fs::create_directories(kernels() / "empty");
  for (const std::string_view name : {"", ".staging-x", "../kernels/7.3.4+deb13-cloud-amd64",
                                      "7.3.4+deb13-cloud-amd64/", "empty", "6.0.0-not-there"}) {
    auto found = cache_.find(name);
    ASSERT_TRUE(found.ok()) << name << ": " << found.error().message;
    EXPECT_FALSE(found->has_value()) << "'" << name << "'";
  }
}

TEST_F(KernelCacheTest, StagingDirIsHiddenAndInstallRenamesIntoPlace) {
  auto staging = cache_.make_staging_dir();
  ASSERT_TRUE(staging.ok()) << staging.error().message;
  EXPECT_EQ(staging->path().parent_path(), kernels());
  EXPECT_TRUE(staging->path().filename().string().starts_with("."));
  write_file(staging->path() / "vmlinuz", "bz");
  write_file(staging->path() / "origin", format_origin(kOrigin));

  // Not listed while staged.
  auto before = cache_.list();
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());

  auto installed = cache_.install(staging->path(), "7.3.4+deb13-cloud-amd64");
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  EXPECT_EQ(installed->dir, kernels() / "7.3.4+deb13-cloud-amd64");
  EXPECT_EQ(installed->vmlinuz, kernels() / "7.3.4+deb13-cloud-amd64" / "vmlinuz");
  EXPECT_EQ(installed->origin, kOrigin);
  EXPECT_FALSE(fs::exists(staging->path()));
  // The private 0700 staging mode is widened to an ordinary cache entry's.
  struct stat st {};
  ASSERT_EQ(::stat(installed->dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755U);

  auto after = cache_.list();
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(releases(*after), ElementsAre("7.3.4+deb13-cloud-amd64"));
}

TEST_F(KernelCacheTest, InstallKeepsAReleaseThatAppearedMeanwhile) {
  add_release("7.3.4+deb13-cloud-amd64", true, false);
  const auto existing = read_file(kernels() / "7.3.4+deb13-cloud-amd64" / "vmlinuz");
  auto staging = cache_.make_staging_dir();
  ASSERT_TRUE(staging.ok()) << staging.error().message;
  write_file(staging->path() / "vmlinuz", "a different download");

  auto installed = cache_.install(staging->path(), "7.3.4+deb13-cloud-amd64");
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  EXPECT_EQ(read_file(kernels() / "7.3.4+deb13-cloud-amd64" / "vmlinuz"), existing);
}

TEST_F(KernelCacheTest, InstallRejectsBadNamesAndEmptyStages) {
  auto staging = cache_.make_staging_dir();
  ASSERT_TRUE(staging.ok()) << staging.error().message;
  write_file(staging->path() / "config", "CONFIG_A=y\n");

  auto bad_name = cache_.install(staging->path(), "../escape");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_THAT(bad_name.error().message, HasSubstr("../escape"));
  EXPECT_FALSE(fs::exists(tmp_.path() / "escape"));

  auto empty = cache_.install(staging->path(), "7.3.4+deb13-cloud-amd64");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("no vmlinuz or vmlinux"));
}

TEST(KernelCacheOrigin, FormatParseRoundTrip) {
  const auto text = format_origin(kOrigin);
  EXPECT_EQ(text,
            "suite=trixie-backports\npackage=linux-image-cloud-amd64\nversion=7.3.4-1~bpo13+1\n"
            "mirror=http://deb.debian.org/debian\nfetched=2025-11-25T07:03:00Z\n");
  auto parsed = parse_origin(text, "origin");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, kOrigin);
}

TEST(KernelCacheOrigin, UnknownKeysIgnoredBadLinesNamed) {
  auto parsed = parse_origin("future=1\nsuite=sid\n\nmirror=http://m/debian?a=b\n", "o");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->suite, "sid");
  EXPECT_EQ(parsed->mirror, "http://m/debian?a=b");  // split at the first '='
  EXPECT_EQ(parsed->package, "");

  auto bad = parse_origin("suite=sid\nwhat\n", "cache/origin");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("cache/origin:2:"));
  EXPECT_THAT(bad.error().message, HasSubstr("what"));
}

TEST(KernelCacheNames, ValidReleaseNames) {
  EXPECT_TRUE(is_valid_release_name("7.3.4+deb13-cloud-amd64"));
  EXPECT_TRUE(is_valid_release_name("a..b"));
  EXPECT_FALSE(is_valid_release_name(""));
  EXPECT_FALSE(is_valid_release_name("."));
  EXPECT_FALSE(is_valid_release_name(".."));
  EXPECT_FALSE(is_valid_release_name(".staging-x"));
  EXPECT_FALSE(is_valid_release_name("a/b"));
  EXPECT_FALSE(is_valid_release_name(std::string_view{"a\0b", 3}));
}

TEST(KernelCacheFormat, Sizes) {
  EXPECT_EQ(format_size(0), "0.0 MiB");
  EXPECT_EQ(format_size(1024 * 1024), "1.0 MiB");
  EXPECT_EQ(format_size(13'946'061), "13.3 MiB");
}

TEST(KernelCacheFormat, TableMarksTheDefaultAndAlignsColumns) {
  EXPECT_THAT(format_kernel_table({}), HasSubstr("no cached kernels"));

  CachedKernel newest;
  newest.release = "7.3.4+deb13-cloud-amd64";
  newest.origin = kOrigin;
  newest.sched_ext = true;
  newest.size_bytes = 2 * 1024 * 1024;
  CachedKernel older;
  older.release = "6.1.0-28-cloud-amd64";
  older.sched_ext = false;
  CachedKernel unknown;
  unknown.release = "6.0";

  const auto table = format_kernel_table({newest, older, unknown});
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < table.size();) {
    const auto end = table.find('\n', at);
    lines.push_back(table.substr(at, end - at));
    at = end + 1;
  }
  ASSERT_EQ(lines.size(), 4U) << table;
  EXPECT_TRUE(lines[0].starts_with("RELEASE")) << table;
  EXPECT_THAT(lines[1], HasSubstr("7.3.4+deb13-cloud-amd64"));
  EXPECT_THAT(lines[1], HasSubstr("trixie-backports 7.3.4-1~bpo13+1"));
  EXPECT_THAT(lines[1], HasSubstr("yes"));
  EXPECT_THAT(lines[1], HasSubstr("2.0 MiB"));
  EXPECT_TRUE(lines[1].ends_with("(default)")) << lines[1];
  EXPECT_THAT(lines[2], HasSubstr(" no "));
  EXPECT_THAT(lines[2], Not(HasSubstr("(default)")));
  EXPECT_THAT(lines[3], HasSubstr("unknown"));
  // Columns line up: SOURCE starts at the same place in every row.
  const auto source_column = lines[0].find("SOURCE");
  EXPECT_EQ(lines[1].find("trixie-backports"), source_column);
  EXPECT_EQ(lines[2].find('-', lines[2].find("  ")), source_column);
}

}  // namespace
}  // namespace kstep::host::kernel
