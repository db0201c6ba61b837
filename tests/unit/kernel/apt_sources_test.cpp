#include "host/kernel/apt_sources.hpp"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/kernel/kernel_test_support.hpp"

namespace kstep::host::kernel {
namespace {

using kernel_test::TempDir;
using kernel_test::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::string_view kDebianSources = R"(# Debian 13 default
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp
)";

std::vector<SourceEntry> deb822(std::string_view text) {
  auto entries = parse_deb822_sources(text, "test.sources");
  EXPECT_TRUE(entries.ok()) << entries.error().message;
  return entries.ok() ? *entries : std::vector<SourceEntry>{};
}

std::vector<SourceEntry> one_line(std::string_view text) {
  auto entries = parse_one_line_sources(text, "test.list");
  EXPECT_TRUE(entries.ok()) << entries.error().message;
  return entries.ok() ? *entries : std::vector<SourceEntry>{};
}

AptSource source(std::string uri, std::string signed_by = std::string{kDefaultDebianKeyring}) {
  AptSource s;
  s.uri = std::move(uri);
  s.signed_by = std::move(signed_by);
  return s;
}

TEST(KernelAptSources, Deb822Stanzas) {
  const auto entries = deb822(kDebianSources);
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_THAT(entries[0].types, ElementsAre("deb"));
  EXPECT_THAT(entries[0].uris, ElementsAre("http://deb.debian.org/debian"));
  EXPECT_THAT(entries[0].suites, ElementsAre("trixie", "trixie-updates"));
  EXPECT_THAT(entries[0].components, ElementsAre("main", "non-free-firmware"));
  EXPECT_EQ(entries[0].signed_by, "/usr/share/keyrings/debian-archive-keyring.pgp");
  EXPECT_TRUE(entries[0].enabled);
  EXPECT_THAT(entries[1].suites, ElementsAre("trixie-security"));
}

TEST(KernelAptSources, Deb822FieldsAreCaseInsensitiveAndCommentsDoNotSplit) {
  const auto entries = deb822(
      "types: deb deb-src\n# a comment inside\nURIS: http://a/debian  http://b/debian\n"
      "suites: sid\nenabled: No\nX-Unknown: whatever\n\n\n");
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_THAT(entries[0].types, ElementsAre("deb", "deb-src"));
  EXPECT_THAT(entries[0].uris, ElementsAre("http://a/debian", "http://b/debian"));
  EXPECT_FALSE(entries[0].enabled);
  EXPECT_EQ(entries[0].signed_by, "");
}

TEST(KernelAptSources, Deb822InlineKey) {
  const auto entries = deb822(
      "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nSigned-By:\n"
      " -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mDMEZ\n -----END PGP PUBLIC KEY BLOCK-----\n"
      "Components: main\n");
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].signed_by,
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----");
  EXPECT_THAT(entries[0].components, ElementsAre("main"));
}

TEST(KernelAptSources, Deb822ErrorsNameFileAndLine) {
  auto no_colon = parse_deb822_sources("Types: deb\nnot a field\n", "/etc/apt/sources.list.d/x.sources");
  ASSERT_FALSE(no_colon.ok());
  EXPECT_THAT(no_colon.error().message, HasSubstr("/etc/apt/sources.list.d/x.sources:2:"));

  auto orphan = parse_deb822_sources("\n  continued\n", "y.sources");
  ASSERT_FALSE(orphan.ok());
  EXPECT_THAT(orphan.error().message, HasSubstr("y.sources:2:"));
  EXPECT_THAT(orphan.error().message, HasSubstr("continuation"));
}

TEST(KernelAptSources, OneLineEntries) {
  const auto entries = one_line(
      "# comment\n\ndeb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian bookworm main contrib\n"
      "deb-src http://deb.debian.org/debian bookworm main # trailing comment\n"
      "deb http://deb.debian.org/debian bookworm-backports\n");
  ASSERT_EQ(entries.size(), 3U);
  EXPECT_THAT(entries[0].types, ElementsAre("deb"));
  EXPECT_THAT(entries[0].uris, ElementsAre("http://deb.debian.org/debian"));
  EXPECT_THAT(entries[0].suites, ElementsAre("bookworm"));
  EXPECT_THAT(entries[0].components, ElementsAre("main", "contrib"));
  EXPECT_EQ(entries[0].signed_by, "/k.gpg");
  EXPECT_THAT(entries[1].types, ElementsAre("deb-src"));
  EXPECT_THAT(entries[1].components, ElementsAre("main"));
  EXPECT_EQ(entries[1].signed_by, "");
  EXPECT_THAT(entries[2].components, IsEmpty());
}

TEST(KernelAptSources, OneLineErrorsNameFileAndLine) {
  auto short_line = parse_one_line_sources("deb http://a/debian bookworm\ndeb http://a/debian\n", "s.list");
  ASSERT_FALSE(short_line.ok());
  EXPECT_THAT(short_line.error().message, HasSubstr("s.list:2:"));

  auto unclosed = parse_one_line_sources("deb [signed-by=/k http://a/debian bookworm\n", "u.list");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_THAT(unclosed.error().message, HasSubstr("u.list:1:"));
  EXPECT_THAT(unclosed.error().message, HasSubstr("never closed"));
}

TEST(KernelAptSources, PicksTheMainArchiveNotSecurity) {
  // The security entry comes first here: it must still be passed over.
  const auto entries = one_line(
      "deb http://security.debian.org/debian-security bookworm-security main\n"
      "deb http://mirror.example/debian/ bookworm main\n");
  EXPECT_EQ(pick_debian_archive(entries), source("http://mirror.example/debian"));
}

TEST(KernelAptSources, PickUsesSignedByOrTheDefaultKeyring) {
  EXPECT_EQ(pick_debian_archive(deb822(kDebianSources)),
            source("http://deb.debian.org/debian", "/usr/share/keyrings/debian-archive-keyring.pgp"));
  EXPECT_EQ(pick_debian_archive(one_line("deb https://m.example/debian sid main\n")),
            source("https://m.example/debian"));
}

TEST(KernelAptSources, PickSkipsWhatCannotServeKernels) {
  EXPECT_EQ(pick_debian_archive(
                one_line("deb-src http://deb.debian.org/debian bookworm main\n"
                         "deb http://snapshot.debian.org/archive/debian/20250101T000000Z bookworm main\n"
                         "deb file:///srv/mirror bookworm main\n"
                         "deb cdrom:[Debian]/ bookworm main\n"
                         "deb http://archive.ubuntu.com/ubuntu noble main\n"
                         "deb http://deb.debian.org/debian bookworm-security main\n")),
            std::nullopt);
  EXPECT_EQ(pick_debian_archive(deb822("Types: deb\nURIs: http://off/debian\nSuites: sid\nEnabled: no\n")),
            std::nullopt);
  EXPECT_EQ(pick_debian_archive({}), std::nullopt);
}

TEST(KernelAptSources, PickTakesTheFirstHttpUriOfAnEntry) {
  EXPECT_EQ(pick_debian_archive(deb822("Types: deb\nURIs: file:///local http://second/debian//\nSuites: "
                                       "trixie-backports\n")),
            source("http://second/debian"));
}

TEST(KernelAptSources, SystemSourceDefaultsWithNothingConfigured) {
  TempDir tmp;
  EXPECT_EQ(system_debian_source(tmp.path()), AptSource{});
  EXPECT_EQ(AptSource{}.uri, "http://deb.debian.org/debian");
  EXPECT_EQ(AptSource{}.signed_by, "/usr/share/keyrings/debian-archive-keyring.gpg");
  EXPECT_EQ(system_debian_source(tmp / "does-not-exist"), AptSource{});
}

TEST(KernelAptSources, SystemSourceReadsDeb822ThenListsThenSourcesList) {
  TempDir tmp;
  write_file(tmp / "sources.list", "deb http://from-sources-list/debian bookworm main\n");
  EXPECT_EQ(system_debian_source(tmp.path()), source("http://from-sources-list/debian"));

  write_file(tmp / "sources.list.d" / "z.list", "deb http://from-dot-list/debian bookworm main\n");
  EXPECT_EQ(system_debian_source(tmp.path()), source("http://from-dot-list/debian"));

  write_file(tmp / "sources.list.d" / "b.sources",
             "Types: deb\nURIs: http://from-b/debian\nSuites: trixie\nSigned-By: /b.gpg\n");
  write_file(tmp / "sources.list.d" / "a.sources",
             "Types: deb\nURIs: http://from-a/debian\nSuites: trixie\nSigned-By: /a.gpg\n");
  EXPECT_EQ(system_debian_source(tmp.path()), source("http://from-a/debian", "/a.gpg"));
}

TEST(KernelAptSources, SystemSourceSkipsMalformedFiles) {
  TempDir tmp;
  write_file(tmp / "sources.list.d" / "a.sources", "this is not deb822\n");
  write_file(tmp / "sources.list.d" / "b.sources", "Types: deb\nURIs: http://good/debian\nSuites: trixie\n");
  write_file(tmp / "sources.list.d" / "ignored.txt", "deb http://ignored/debian trixie main\n");
  EXPECT_EQ(system_debian_source(tmp.path()), source("http://good/debian"));
}

}  // namespace
}  // namespace kstep::host::kernel
