// Which Debian mirror and keyring to fetch kernels with: the machine's own.
//
// kstep reads (never writes) the system's apt sources, deb822
// (/etc/apt/sources.list.d/*.sources) and one-line (sources.list, *.list),
// and takes the mirror URI and Signed-By keyring of the main Debian archive
// entry: a "deb" entry over http(s) whose suites are Debian releases
// (bookworm, trixie, sid, stable, ...) other than -security ones. A local
// mirror or proxy the machine is set up for is then used for kernels too.
// snapshot.debian.org entries are skipped: a frozen snapshot does not have
// the current backports kernel. With no such entry, deb.debian.org and the
// debian-archive-keyring keyring.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::host::kernel {

inline constexpr std::string_view kDefaultDebianMirror = "http://deb.debian.org/debian";
inline constexpr std::string_view kDefaultDebianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

struct AptSource {
  std::string uri{kDefaultDebianMirror};
  // A keyring path, or an inline ASCII-armored key block (deb822 allows one).
  std::string signed_by{kDefaultDebianKeyring};

  friend bool operator==(const AptSource&, const AptSource&) = default;
};

// One entry of a sources file, in either syntax.
struct SourceEntry {
  std::vector<std::string> types;  // "deb", "deb-src"
  std::vector<std::string> uris;
  std::vector<std::string> suites;
  std::vector<std::string> components;
  std::string signed_by;  // empty when not given
  bool enabled = true;
};

// deb822 stanzas. `name` is used in errors ("file:line: ...").
[[nodiscard]] Result<std::vector<SourceEntry>> parse_deb822_sources(std::string_view text,
                                                                    std::string_view name);
// "deb [signed-by=/k.gpg arch=amd64] http://deb.debian.org/debian bookworm main" lines.
[[nodiscard]] Result<std::vector<SourceEntry>> parse_one_line_sources(std::string_view text,
                                                                      std::string_view name);

// The main Debian archive among `entries` (rules above); nullopt if none.
// An entry without Signed-By gets the default keyring.
[[nodiscard]] std::optional<AptSource> pick_debian_archive(const std::vector<SourceEntry>& entries);

// Reads <etc_apt>/sources.list.d/*.sources, then *.list there, then
// <etc_apt>/sources.list (files in name order) and picks as above. An
// unreadable or malformed file is skipped with a warning; the defaults when
// nothing qualifies.
[[nodiscard]] AptSource system_debian_source(const std::filesystem::path& etc_apt);

}  // namespace kstep::host::kernel
