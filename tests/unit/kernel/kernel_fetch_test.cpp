#include "host/kernel/kernel_fetch.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/kernel/fake_command_runner.hpp"
#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

namespace fs = std::filesystem;
using kernel_test::exited;
using kernel_test::FakeCommandRunner;
using kernel_test::read_file;
using kernel_test::TempDir;
using kernel_test::write_bytes;
using kernel_test::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::string_view kRelease = "7.3.4+deb13-cloud-amd64";
constexpr std::string_view kPackage = "linux-image-cloud-amd64";
// 2025-11-25T07:03:00Z.
const std::chrono::system_clock::time_point kNow{std::chrono::seconds{1'764'054'180}};

// What one suite's mirror does in the fake apt.
struct FakeSuite {
  int update_exit = 0;
  // The metapackage's linux-image-* dependency; nullopt: no such package.
  std::optional<std::string> release = std::nullopt;
  std::string version = "7.3.4-1~bpo13+1";
  int download_exit = 0;
};

// Plays apt-get, apt-cache and dpkg-deb. The suite a command is for is read
// from the sources file its Dir::Etc::SourceParts option points at, so the
// fake also checks that file says what PrivateApt meant it to.
class FakeApt {
 public:
  std::map<std::string, FakeSuite> suites;
  std::vector<std::byte> vmlinuz;  // what the linux-binary package unpacks to
  std::string config = read_file(kernel_test::config_sample("good.config"));
  bool boot_layout = false;  // image and config under /boot, as older packages had them
  int dpkg_exit = 0;
  // "<suite> <tool> <verb>", or "dpkg-deb <deb file name>".
  std::vector<std::string> log;
  std::vector<Command> apt_commands;

  Result<CommandResult> operator()(const Command& command) {
    const auto& tool = command.argv.at(0);
    if (tool == "dpkg-deb") {
      return dpkg_deb(command);
    }
    apt_commands.push_back(command);
    const auto suite = suite_of(command);
    const auto& behaviour = suites.at(suite);
    if (tool == "apt-get" && command.argv.back() == "update") {
      log.push_back(suite + " apt-get update");
      return exited(behaviour.update_exit, "",
                    behaviour.update_exit == 0 ? "" : "E: Failed to fetch InRelease\n");
    }
    if (tool == "apt-cache") {
      log.push_back(suite + " apt-cache show");
      if (!behaviour.release) {
        return exited(100, "",
                      "N: Unable to locate package " + command.argv.back() + "\nE: No packages found\n");
      }
      return exited(0, "Package: " + command.argv.back() + "\nVersion: " + behaviour.version +
                           "\nDepends: linux-image-" + *behaviour.release + " (= " + behaviour.version +
                           ")\nSize: 1000\n\n");
    }
    if (tool == "apt-get" && kernel_test::has_arg(command, "download")) {
      log.push_back(suite + " apt-get download");
      if (behaviour.download_exit != 0) {
        return exited(behaviour.download_exit, "", "E: Unable to fetch some archives\n");
      }
      const auto dir = command.working_dir.value_or(fs::path{"/nonexistent"});
      for (auto it = std::find(command.argv.begin(), command.argv.end(), "download") + 1;
           it != command.argv.end(); ++it) {
        write_file(dir / (*it + "_" + behaviour.version + "_amd64.deb"), "!<arch>\n");
      }
      return exited(0);
    }
    ADD_FAILURE() << "unexpected command: " << command_line(command);
    return exited(1);
  }

 private:
  std::string suite_of(const Command& command) {
    constexpr std::string_view kParts = "Dir::Etc::SourceParts=";
    for (const auto& arg : command.argv) {
      if (arg.starts_with(kParts)) {
        const auto text = read_file(fs::path{arg.substr(kParts.size())} / "kstep.sources");
        const auto at = text.find("Suites: ");
        if (at != std::string::npos) {
          return text.substr(at + 8, text.find('\n', at) - at - 8);
        }
      }
    }
    ADD_FAILURE() << "no private sources in " << command_line(command);
    return "?";
  }

  Result<CommandResult> dpkg_deb(const Command& command) {
    EXPECT_EQ(command.argv.size(), 4U);
    EXPECT_EQ(command.argv.at(1), "-x");
    const fs::path deb = command.argv.at(2);
    const fs::path root = command.argv.at(3);
    log.push_back("dpkg-deb " + deb.filename().string());
    if (dpkg_exit != 0) {
      return exited(dpkg_exit, "", "dpkg-deb: error: archive has premature member\n");
    }
    // "<package>_<version>_amd64.deb", package linux-binary-<release> or linux-base-<release>.
    const auto name = deb.filename().string();
    std::string release;
    for (const std::string_view prefix : {"linux-binary-", "linux-base-"}) {
      if (name.starts_with(prefix)) {
        release = name.substr(prefix.size(), name.find('_') - prefix.size());
      }
    }
    EXPECT_EQ(release, kRelease) << name;
    const auto modules = root / "usr" / "lib" / "modules" / release;
    if (name.starts_with("linux-binary-") && !vmlinuz.empty()) {
      write_bytes(boot_layout ? root / "boot" / ("vmlinuz-" + release) : modules / "vmlinuz", vmlinuz);
    }
    if (name.starts_with("linux-base-") && !config.empty()) {
      write_file(boot_layout ? root / "boot" / ("config-" + release) : modules / "config", config);
    }
    return exited(0);
  }
};

std::vector<std::byte> test_elf() {
  kernel_test::ElfSpec spec;
  spec.contents = "Linux version 7.3.4+deb13-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP";
  return kernel_test::make_elf(spec);
}

std::vector<std::byte> test_vmlinuz() {
  const auto elf = test_elf();
  kernel_test::BzImageSpec spec;
  spec.kernel_version = "7.3.4+deb13-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP";
  spec.payload = kernel_test::with_size_trailer(kernel_test::compress(elf, kernel_test::Codec::Zstd),
                                                static_cast<std::uint32_t>(elf.size()));
  return kernel_test::make_bzimage(spec);
}

class KernelFetch : public ::testing::Test {
 protected:
  KernelFetch() {
    options_.now = kNow;
    options_.source.uri = "http://mirror.example/debian";
    fake_.vmlinuz = test_vmlinuz();
  }

  Result<FetchResult> fetch() { return fetch_kernel(cache_, options_, runner_); }

  // Everything in kernels/: releases, and any staging left behind.
  [[nodiscard]] std::vector<std::string> kernels_dir_entries() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cache_.kernels_dir(), ec)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir tmp_;
  KernelCache cache_{tmp_.path()};
  FetchOptions options_;
  FakeApt fake_;
  FakeCommandRunner runner_{[this](const Command& command) { return fake_(command); }};
};

TEST(KernelFetchDefaults, SuitesPackageAndArchitecture) {
  EXPECT_THAT(default_fetch_suites(), ElementsAre("trixie-backports", "sid"));
  const FetchOptions options{};
  EXPECT_THAT(options.suites, ElementsAre("trixie-backports", "sid"));
  EXPECT_EQ(options.package, "linux-image-cloud-amd64");
  EXPECT_EQ(options.architecture, "amd64");
  EXPECT_EQ(options.source, AptSource{});
}

TEST(KernelFetchDefaults, ReleaseFromMetapackage) {
  PackageRecord record;
  record.depends = {"linux-image-cloud-amd64-unsigned", "linux-image-", "linux-image-7.3.4+deb13-cloud-amd64",
                    "linux-image-6.1.0-28-cloud-amd64"};
  EXPECT_EQ(release_from_metapackage(record), "7.3.4+deb13-cloud-amd64");
  record.depends = {"linux-image-cloud-amd64-unsigned", "linux-headers-7.3.4+deb13-cloud-amd64",
                    "initramfs-tools"};
  EXPECT_EQ(release_from_metapackage(record), std::nullopt);
  EXPECT_EQ(release_from_metapackage(PackageRecord{}), std::nullopt);
}

TEST_F(KernelFetch, DownloadsUnpacksExtractsAndInstalls) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}};
  fake_.suites["sid"] = FakeSuite{};

  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->suite, "trixie-backports");
  EXPECT_FALSE(fetched->already_cached);

  const auto& kernel = fetched->kernel;
  const auto dir = cache_.kernels_dir() / kRelease;
  EXPECT_EQ(kernel.release, kRelease);
  EXPECT_EQ(kernel.dir, dir);
  EXPECT_EQ(kernel.vmlinuz, dir / "vmlinuz");
  EXPECT_EQ(kernel.vmlinux, dir / "vmlinux");
  EXPECT_EQ(kernel.config, dir / "config");
  EXPECT_EQ(kernel.sched_ext, true);
  EXPECT_EQ(read_file(dir / "config"), fake_.config);
  const auto elf = test_elf();
  EXPECT_EQ(read_file(dir / "vmlinux"), std::string(reinterpret_cast<const char*>(elf.data()), elf.size()));

  const KernelOrigin origin{"trixie-backports", std::string{kPackage}, "7.3.4-1~bpo13+1",
                            "http://mirror.example/debian", "2025-11-25T07:03:00Z"};
  EXPECT_EQ(kernel.origin, origin);

  EXPECT_THAT(fake_.log,
              ElementsAre("trixie-backports apt-get update", "trixie-backports apt-cache show",
                          "trixie-backports apt-get download",
                          "dpkg-deb linux-base-7.3.4+deb13-cloud-amd64_7.3.4-1~bpo13+1_amd64.deb",
                          "dpkg-deb linux-binary-7.3.4+deb13-cloud-amd64_7.3.4-1~bpo13+1_amd64.deb"));
  // The download names both packages of the release.
  const auto& download = fake_.apt_commands.back();
  EXPECT_THAT(std::vector<std::string>(download.argv.end() - 2, download.argv.end()),
              ElementsAre("linux-binary-7.3.4+deb13-cloud-amd64", "linux-base-7.3.4+deb13-cloud-amd64"));
  // The release is in place and the workspace is gone.
  EXPECT_THAT(kernels_dir_entries(), ElementsAre(std::string{kRelease}));
  auto listed = cache_.list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1U);
}

TEST_F(KernelFetch, EveryAptCommandUsesThePrivateSetup) {
  fake_.suites["trixie-backports"] = FakeSuite{};  // no package: on to sid
  fake_.suites["sid"] = FakeSuite{.release = std::string{kRelease}};
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  ASSERT_GE(fake_.apt_commands.size(), 5U);
  for (const auto& command : fake_.apt_commands) {
    EXPECT_TRUE(kernel_test::has_arg(command, "Dir::Etc::SourceList=/dev/null")) << command_line(command);
    EXPECT_TRUE(kernel_test::has_arg(command, "Dir::State::status=/dev/null")) << command_line(command);
    for (const auto& arg : command.argv) {
      EXPECT_THAT(arg, Not(HasSubstr("/etc/apt"))) << command_line(command);
    }
    EXPECT_THAT(command.extra_env, ElementsAre("LC_ALL=C"));
    // The private state lives inside the cache's staging area, not in /var.
    const auto lists = std::find_if(command.argv.begin(), command.argv.end(),
                                    [](const std::string& a) { return a.starts_with("Dir::State::Lists="); });
    ASSERT_NE(lists, command.argv.end());
    EXPECT_THAT(*lists, HasSubstr(cache_.kernels_dir().string() + "/."));
  }
}

TEST_F(KernelFetch, FallsBackToSidWhenBackportsHasNoPackage) {
  fake_.suites["trixie-backports"] = FakeSuite{};
  fake_.suites["sid"] = FakeSuite{.release = std::string{kRelease}, .version = "7.3.4-1"};
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->suite, "sid");
  ASSERT_TRUE(fetched->kernel.origin.has_value());
  EXPECT_EQ(fetched->kernel.origin->suite, "sid");
  EXPECT_EQ(fetched->kernel.origin->version, "7.3.4-1");
  ASSERT_GE(fake_.log.size(), 5U);
  EXPECT_THAT(std::vector<std::string>(fake_.log.begin(), fake_.log.begin() + 5),
              ElementsAre("trixie-backports apt-get update", "trixie-backports apt-cache show",
                          "sid apt-get update", "sid apt-cache show", "sid apt-get download"));
}

TEST_F(KernelFetch, FallsBackToSidWhenBackportsUpdateFails) {
  fake_.suites["trixie-backports"] = FakeSuite{.update_exit = 100, .release = std::string{kRelease}};
  fake_.suites["sid"] = FakeSuite{.release = std::string{kRelease}};
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->suite, "sid");
  ASSERT_GE(fake_.log.size(), 2U);
  EXPECT_EQ(fake_.log[0], "trixie-backports apt-get update");
  EXPECT_EQ(fake_.log[1], "sid apt-get update");
}

TEST_F(KernelFetch, AMetapackageWithoutAReleaseFallsThrough) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{}};  // "Depends: linux-image- (= ...)"
  fake_.suites["sid"] = FakeSuite{.release = std::string{kRelease}};
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->suite, "sid");
}

TEST_F(KernelFetch, AlreadyCachedReleaseShortCircuits) {
  write_file(cache_.kernels_dir() / kRelease / "vmlinuz", "cached before");
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}};
  fake_.suites["sid"] = FakeSuite{.release = "8.0.0+deb14-cloud-amd64"};
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_TRUE(fetched->already_cached);
  EXPECT_EQ(fetched->suite, "trixie-backports");
  EXPECT_EQ(fetched->kernel.release, kRelease);
  EXPECT_EQ(fetched->kernel.dir, cache_.kernels_dir() / kRelease);
  // Looked the release up, downloaded nothing, asked no other suite.
  EXPECT_THAT(fake_.log, ElementsAre("trixie-backports apt-get update", "trixie-backports apt-cache show"));
  EXPECT_EQ(read_file(cache_.kernels_dir() / kRelease / "vmlinuz"), "cached before");
  EXPECT_THAT(kernels_dir_entries(), ElementsAre(std::string{kRelease}));
}

TEST_F(KernelFetch, NoSuiteYieldsAKernelNamesEachReason) {
  fake_.suites["trixie-backports"] = FakeSuite{.update_exit = 100};
  fake_.suites["sid"] = FakeSuite{};
  auto fetched = fetch();
  ASSERT_FALSE(fetched.ok());
  const auto& message = fetched.error().message;
  EXPECT_THAT(message, HasSubstr("no kernel fetched"));
  EXPECT_THAT(message,
              HasSubstr("trixie-backports: updating the package lists of trixie-backports: `apt-get "));
  EXPECT_THAT(message, HasSubstr("update` exited with code 100"));
  EXPECT_THAT(message, HasSubstr("E: Failed to fetch InRelease"));
  EXPECT_THAT(message, HasSubstr("sid: sid has no package linux-image-cloud-amd64"));
  EXPECT_THAT(kernels_dir_entries(), IsEmpty()) << "the workspace must be removed";
}

TEST_F(KernelFetch, DownloadFailureIsReportedNotSkipped) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}, .download_exit = 100};
  fake_.suites["sid"] = FakeSuite{.release = "6.12.10+bpo-cloud-amd64"};
  auto fetched = fetch();
  ASSERT_FALSE(fetched.ok());
  const auto& message = fetched.error().message;
  EXPECT_THAT(message, HasSubstr("fetching 7.3.4+deb13-cloud-amd64"));
  EXPECT_THAT(message, HasSubstr("downloading from trixie-backports"));
  EXPECT_THAT(
      message,
      HasSubstr("download linux-binary-7.3.4+deb13-cloud-amd64 linux-base-7.3.4+deb13-cloud-amd64` exited "
                "with code 100"));
  EXPECT_THAT(message, HasSubstr("E: Unable to fetch some archives"));
  // An older kernel from sid is not quietly fetched instead.
  for (const auto& entry : fake_.log) {
    EXPECT_FALSE(entry.starts_with("sid")) << entry;
  }
  EXPECT_THAT(kernels_dir_entries(), IsEmpty());
}

TEST_F(KernelFetch, DpkgDebFailureNamesTheCommand) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}};
  fake_.dpkg_exit = 2;
  auto fetched = fetch();
  ASSERT_FALSE(fetched.ok());
  EXPECT_THAT(fetched.error().message, HasSubstr("`dpkg-deb -x "));
  EXPECT_THAT(fetched.error().message, HasSubstr("exited with code 2"));
  EXPECT_THAT(fetched.error().message, HasSubstr("premature member"));
  EXPECT_THAT(kernels_dir_entries(), IsEmpty());
}

TEST_F(KernelFetch, PackagesWithoutVmlinuzAreAnError) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}};
  fake_.vmlinuz.clear();
  auto fetched = fetch();
  ASSERT_FALSE(fetched.ok());
  EXPECT_THAT(fetched.error().message, HasSubstr("hold no vmlinuz"));
  EXPECT_THAT(kernels_dir_entries(), IsEmpty());
}

TEST_F(KernelFetch, OlderBootLayoutAndNoConfig) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}};
  fake_.boot_layout = true;
  fake_.config.clear();
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_TRUE(fetched->kernel.vmlinuz.has_value());
  EXPECT_TRUE(fetched->kernel.vmlinux.has_value());
  EXPECT_EQ(fetched->kernel.config, std::nullopt);
  EXPECT_EQ(fetched->kernel.sched_ext, std::nullopt);
}

TEST_F(KernelFetch, UnextractableVmlinuzIsCachedWithoutVmlinux) {
  fake_.suites["trixie-backports"] = FakeSuite{.release = std::string{kRelease}};
  fake_.vmlinuz = kernel_test::make_bzimage(kernel_test::BzImageSpec{});  // no payload inside
  auto fetched = fetch();
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->kernel.vmlinuz, cache_.kernels_dir() / kRelease / "vmlinuz");
  EXPECT_EQ(fetched->kernel.vmlinux, std::nullopt);
  EXPECT_FALSE(fs::exists(cache_.kernels_dir() / kRelease / "vmlinux"));
}

TEST_F(KernelFetch, SuitesAndPackageComeFromTheOptions) {
  options_.suites = {"bookworm-backports"};
  options_.package = "linux-image-rt-amd64";
  fake_.suites["bookworm-backports"] = FakeSuite{};
  auto fetched = fetch();
  ASSERT_FALSE(fetched.ok());
  EXPECT_THAT(fetched.error().message, HasSubstr("bookworm-backports has no package linux-image-rt-amd64"));
  ASSERT_EQ(fake_.apt_commands.size(), 2U);
  EXPECT_EQ(fake_.apt_commands[1].argv.back(), "linux-image-rt-amd64");

  options_.suites.clear();
  auto none = fetch();
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("no suites"));
}

TEST_F(KernelFetch, RunnerThatCannotRunAptFailsEverySuite) {
  FakeCommandRunner broken{[](const Command&) -> Result<CommandResult> {
    return fail("cannot find program 'apt-get' in PATH (/x)");
  }};
  auto fetched = fetch_kernel(cache_, options_, broken);
  ASSERT_FALSE(fetched.ok());
  EXPECT_THAT(fetched.error().message, HasSubstr("trixie-backports: cannot find program 'apt-get'"));
  EXPECT_THAT(fetched.error().message, HasSubstr("sid: cannot find program 'apt-get'"));
}

}  // namespace
}  // namespace kstep::host::kernel
