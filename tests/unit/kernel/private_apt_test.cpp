#include "host/kernel/private_apt.hpp"

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
using kernel_test::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kMetapackageRecord = R"(Package: linux-image-cloud-amd64
Source: linux-signed-amd64 (7.3.4+1~bpo13+1)
Version: 7.3.4-1~bpo13+1
Installed-Size: 13
Depends: linux-image-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1), foo | bar (>= 2), baz:any, qux [amd64]
Pre-Depends: early
Description: Linux for x86-64 cloud (meta-package)
 This package depends on the latest Linux kernel and modules for use on
 cloud platforms.
Size: 1480

Package: linux-image-cloud-amd64
Version: 6.12.9-1~bpo12+1
Depends: linux-image-6.12.9+bpo-cloud-amd64
)";

// "Name=value" of every -o option, in order.
std::vector<std::string> option_values(const std::vector<std::string>& options) {
  std::vector<std::string> values;
  for (std::size_t i = 0; i < options.size(); ++i) {
    EXPECT_EQ(options[i], i % 2 == 0 ? "-o" : options[i]) << "position " << i;
    if (i % 2 == 1) {
      values.push_back(options[i]);
    }
  }
  return values;
}

class KernelPrivateApt : public ::testing::Test {
 protected:
  void SetUp() override {
    AptSource source;
    source.uri = "http://mirror.example/debian";
    source.signed_by = "/usr/share/keyrings/debian-archive-keyring.gpg";
    auto apt = PrivateApt::create(root(), source, "trixie-backports", "amd64");
    ASSERT_TRUE(apt.ok()) << apt.error().message;
    apt_.emplace(std::move(*apt));
  }

  [[nodiscard]] fs::path root() const { return tmp_.path(); }

  TempDir tmp_;
  std::optional<PrivateApt> apt_;
};

TEST_F(KernelPrivateApt, CreatesItsDirectoriesAndSourcesFile) {
  EXPECT_EQ(apt_->suite(), "trixie-backports");
  for (const auto* sub : {"sources", "lists/partial", "cache/archives/partial", "preferences.d"}) {
    EXPECT_TRUE(fs::is_directory(root() / sub)) << sub;
  }
  const auto text = read_file(root() / "sources" / "kstep.sources");
  EXPECT_EQ(text,
            "Types: deb\nURIs: http://mirror.example/debian\nSuites: trixie-backports\nComponents: main\n"
            "Architectures: amd64\nLanguages: none\nTargets: Packages\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
  // The only file where apt will look for sources.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(root() / "sources")) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(files, ElementsAre("kstep.sources"));
}

TEST_F(KernelPrivateApt, OptionsReplaceEveryMachinePath) {
  const auto values = option_values(apt_->options());
  const auto r = root().string();
  EXPECT_THAT(values,
              ElementsAre("Dir::Etc::SourceList=/dev/null", "Dir::Etc::SourceParts=" + r + "/sources",
                          "Dir::State::Lists=" + r + "/lists", "Dir::Cache=" + r + "/cache",
                          "Dir::State::status=/dev/null", "Dir::Etc::Preferences=/dev/null",
                          "Dir::Etc::PreferencesParts=" + r + "/preferences.d", "APT::Architecture=amd64",
                          "APT::Architectures=amd64", "Acquire::Languages=none", "APT::Sandbox::User=root"));
  for (const auto& value : values) {
    EXPECT_THAT(value, Not(HasSubstr("/etc/apt"))) << "points at the machine's apt setup";
    EXPECT_THAT(value, Not(HasSubstr("/var/lib/apt")));
    EXPECT_THAT(value, Not(HasSubstr("/var/cache/apt")));
    EXPECT_THAT(value, Not(HasSubstr("/var/lib/dpkg")));
  }
}

TEST_F(KernelPrivateApt, CommandIsToolOptionsArgsInEnglish) {
  const auto command = apt_->command("apt-cache", {"show", "pkg"});
  ASSERT_GE(command.argv.size(), 3U);
  EXPECT_EQ(command.argv.front(), "apt-cache");
  const auto options = apt_->options();
  EXPECT_EQ(std::vector<std::string>(command.argv.begin() + 1, command.argv.end() - 2), options);
  EXPECT_EQ(command.argv[command.argv.size() - 2], "show");
  EXPECT_EQ(command.argv.back(), "pkg");
  EXPECT_THAT(command.extra_env, ElementsAre("LC_ALL=C"));
  EXPECT_EQ(command.working_dir, std::nullopt);
}

TEST_F(KernelPrivateApt, UpdateRunsAptGetUpdate) {
  FakeCommandRunner runner{[](const Command&) { return Result<CommandResult>{exited(0)}; }};
  auto updated = apt_->update(runner);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  ASSERT_EQ(runner.commands.size(), 1U);
  EXPECT_EQ(runner.commands[0].argv.front(), "apt-get");
  EXPECT_EQ(runner.commands[0].argv.back(), "update");
}

TEST_F(KernelPrivateApt, UpdateFailureNamesTheCommandSuiteAndStderr) {
  FakeCommandRunner runner{[](const Command&) {
    return Result<CommandResult>{exited(100, "",
                                        "Err:1 http://mirror.example/debian trixie-backports InRelease\n"
                                        "E: The repository is not signed.\n")};
  }};
  auto updated = apt_->update(runner);
  ASSERT_FALSE(updated.ok());
  const auto& message = updated.error().message;
  EXPECT_THAT(message, HasSubstr("updating the package lists of trixie-backports"));
  EXPECT_THAT(message, HasSubstr("`apt-get -o Dir::Etc::SourceList=/dev/null"));
  EXPECT_THAT(message, HasSubstr(" update`"));
  EXPECT_THAT(message, HasSubstr("exited with code 100"));
  EXPECT_THAT(message, HasSubstr("E: The repository is not signed."));
}

TEST_F(KernelPrivateApt, RunnerFailureIsPassedOn) {
  FakeCommandRunner runner{[](const Command&) -> Result<CommandResult> {
    return fail("cannot find program 'apt-get' in PATH (/nowhere)");
  }};
  auto updated = apt_->update(runner);
  ASSERT_FALSE(updated.ok());
  EXPECT_THAT(updated.error().message, HasSubstr("cannot find program 'apt-get'"));
  auto shown = apt_->show(runner, "linux-image-cloud-amd64");
  ASSERT_FALSE(shown.ok());
  EXPECT_THAT(shown.error().message, HasSubstr("cannot find program 'apt-get'"));
}

TEST_F(KernelPrivateApt, ShowParsesTheCandidateRecord) {
  FakeCommandRunner runner{
      [](const Command&) { return Result<CommandResult>{exited(0, std::string{kMetapackageRecord})}; }};
  auto record = apt_->show(runner, "linux-image-cloud-amd64");
  ASSERT_TRUE(record.ok()) << record.error().message;
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->package, "linux-image-cloud-amd64");
  EXPECT_EQ((*record)->version, "7.3.4-1~bpo13+1");
  ASSERT_EQ(runner.commands.size(), 1U);
  const auto& argv = runner.commands[0].argv;
  EXPECT_EQ(argv.front(), "apt-cache");
  EXPECT_THAT(std::vector<std::string>(argv.end() - 3, argv.end()),
              ElementsAre("show", "--no-all-versions", "linux-image-cloud-amd64"));
}

TEST_F(KernelPrivateApt, ShowOfAnUnknownPackageIsNotAnError) {
  for (const std::string err : {"N: Unable to locate package linux-image-cloud-amd64\nE: No packages found\n",
                                "E: Unable to locate package linux-image-cloud-amd64\n"}) {
    FakeCommandRunner runner{[&](const Command&) { return Result<CommandResult>{exited(100, "", err)}; }};
    auto record = apt_->show(runner, "linux-image-cloud-amd64");
    ASSERT_TRUE(record.ok()) << record.error().message;
    EXPECT_FALSE(record->has_value());
  }
  // A purely virtual name: success, no stanza.
  FakeCommandRunner virtual_runner{[](const Command&) { return Result<CommandResult>{exited(0)}; }};
  auto virtual_record = apt_->show(virtual_runner, "virtual-pkg");
  ASSERT_TRUE(virtual_record.ok()) << virtual_record.error().message;
  EXPECT_FALSE(virtual_record->has_value());
}

TEST_F(KernelPrivateApt, ShowOtherFailuresAreErrors) {
  FakeCommandRunner runner{
      [](const Command&) { return Result<CommandResult>{exited(100, "", "E: Could not open lock file\n")}; }};
  auto record = apt_->show(runner, "linux-image-cloud-amd64");
  ASSERT_FALSE(record.ok());
  EXPECT_THAT(record.error().message, HasSubstr("linux-image-cloud-amd64"));
  EXPECT_THAT(record.error().message, HasSubstr("trixie-backports"));
  EXPECT_THAT(record.error().message, HasSubstr("exited with code 100"));
  EXPECT_THAT(record.error().message, HasSubstr("Could not open lock file"));
}

TEST_F(KernelPrivateApt, DownloadRunsInTheTargetDirAndListsTheDebs) {
  const auto dir = tmp_ / "debs";
  fs::create_directories(dir);
  FakeCommandRunner runner{[](const Command& command) {
    // apt-get download writes into its working directory.
    write_file(*command.working_dir / "b_1_amd64.deb", "b");
    write_file(*command.working_dir / "a_1_amd64.deb", "a");
    write_file(*command.working_dir / "notes.txt", "not a package");
    return Result<CommandResult>{exited(0)};
  }};
  auto debs = apt_->download(runner, {"a", "b"}, dir);
  ASSERT_TRUE(debs.ok()) << debs.error().message;
  EXPECT_THAT(*debs, ElementsAre(dir / "a_1_amd64.deb", dir / "b_1_amd64.deb"));
  ASSERT_EQ(runner.commands.size(), 1U);
  EXPECT_EQ(runner.commands[0].working_dir, dir);
  EXPECT_EQ(runner.commands[0].argv.front(), "apt-get");
  EXPECT_THAT(std::vector<std::string>(runner.commands[0].argv.end() - 3, runner.commands[0].argv.end()),
              ElementsAre("download", "a", "b"));
}

TEST_F(KernelPrivateApt, DownloadErrors) {
  const auto dir = tmp_ / "debs";
  fs::create_directories(dir);
  FakeCommandRunner failing{[](const Command&) {
    return Result<CommandResult>{exited(100, "", "E: Can't find a source to download version '1' of 'a'\n")};
  }};
  auto failed = apt_->download(failing, {"a"}, dir);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.error().message, HasSubstr("downloading from trixie-backports"));
  EXPECT_THAT(failed.error().message, HasSubstr("download a`"));
  EXPECT_THAT(failed.error().message, HasSubstr("Can't find a source"));

  FakeCommandRunner short_runner{[](const Command& command) {
    write_file(*command.working_dir / "a_1_amd64.deb", "a");
    return Result<CommandResult>{exited(0)};
  }};
  auto missing = apt_->download(short_runner, {"a", "b"}, dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("a, b"));
  EXPECT_THAT(missing.error().message, HasSubstr("left 1 .deb"));
}

TEST(KernelPrivateAptSources, InlineKeyRoundTripsThroughTheDeb822Parser) {
  AptSource source;
  source.uri = "https://mirror.example/debian";
  source.signed_by =
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZabc\n=x1y2\n-----END PGP PUBLIC KEY BLOCK-----";
  const auto text = private_sources_file(source, "sid", "amd64");
  EXPECT_THAT(text, HasSubstr("Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mDMEZabc\n"));
  auto entries = parse_deb822_sources(text, "kstep.sources");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries->size(), 1U);
  const auto& e = (*entries)[0];
  EXPECT_THAT(e.types, ElementsAre("deb"));
  EXPECT_THAT(e.uris, ElementsAre("https://mirror.example/debian"));
  EXPECT_THAT(e.suites, ElementsAre("sid"));
  EXPECT_THAT(e.components, ElementsAre("main"));
  EXPECT_EQ(e.signed_by, source.signed_by);
  EXPECT_EQ(pick_debian_archive(*entries), source);
}

TEST(KernelPackageRecord, ParsesTheFirstStanza) {
  const auto record = parse_package_record(kMetapackageRecord);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->package, "linux-image-cloud-amd64");
  EXPECT_EQ(record->version, "7.3.4-1~bpo13+1");
  EXPECT_THAT(record->depends,
              ElementsAre("linux-image-7.3.4+deb13-cloud-amd64", "foo", "bar", "baz", "qux", "early"));
  EXPECT_EQ(record->size, 1480U);
}

TEST(KernelPackageRecord, NoStanza) {
  EXPECT_EQ(parse_package_record(""), std::nullopt);
  EXPECT_EQ(parse_package_record("\n\nN: nothing\n"), std::nullopt);
  const auto leading_blank = parse_package_record("\n\nPackage: p\nVersion: 1\n");
  ASSERT_TRUE(leading_blank.has_value());
  EXPECT_EQ(leading_blank->package, "p");
  EXPECT_EQ(leading_blank->size, 0U);
}

}  // namespace
}  // namespace kstep::host::kernel
