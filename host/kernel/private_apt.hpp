// PrivateApt: apt-get and apt-cache pointed at one suite, with state of their own.
//
// kstep must be able to download a kernel from a suite the machine does not
// use (trixie-backports, sid) without adding that suite to the machine's apt
// sources or touching its package lists, cache or dpkg status. So every
// command gets options that replace each of those with a directory under
// `root` (or /dev/null):
//
//   Dir::Etc::SourceList=/dev/null        the machine's sources.list: none
//   Dir::Etc::SourceParts=<root>/sources  one deb822 file, one suite
//   Dir::State::Lists=<root>/lists        package lists
//   Dir::Cache=<root>/cache               pkgcache.bin, archives
//   Dir::State::status=/dev/null          nothing is "installed"
//   Dir::Etc::Preferences(Parts)          no pinning from the machine
//   APT::Architecture(s)=amd64            no foreign-architecture lists
//   Acquire::Languages=none               no translation lists
//   APT::Sandbox::User=root               run as root, apt would otherwise hand
//                                         downloads to _apt, which cannot
//                                         enter the 0700 private dir (and it
//                                         warns); without root apt ignores it
//
// The machine's apt.conf.d still applies, so a configured proxy is honoured.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "host/kernel/apt_sources.hpp"
#include "host/util/run_command.hpp"

namespace kstep::host::kernel {

// The fields of one `apt-cache show` stanza that kstep reads.
struct PackageRecord {
  std::string package;
  std::string version;
  std::vector<std::string> depends;  // package names only: versions and alternatives dropped
  std::uint64_t size = 0;            // of the .deb, bytes
};

// The first stanza of `apt-cache show` output; nullopt if there is none.
[[nodiscard]] std::optional<PackageRecord> parse_package_record(std::string_view text);

class PrivateApt {
 public:
  // Creates <root>/{sources,lists,cache,preferences.d} (`root` must exist)
  // and writes the sources file for `suite`.
  [[nodiscard]] static Result<PrivateApt> create(const std::filesystem::path& root, const AptSource& source,
                                                 std::string suite, std::string architecture);

  [[nodiscard]] const std::string& suite() const noexcept { return suite_; }
  // The -o options above, each as "-o", "Name=value".
  [[nodiscard]] std::vector<std::string> options() const;
  // `tool` (apt-get, apt-cache) with options() and then `args`.
  [[nodiscard]] Command command(std::string tool, const std::vector<std::string>& args) const;

  // apt-get update: the suite's package lists.
  [[nodiscard]] Result<void> update(CommandRunner& runner) const;
  // The candidate version's record; nullopt when the suite has no such package.
  [[nodiscard]] Result<std::optional<PackageRecord>> show(CommandRunner& runner,
                                                          std::string_view package) const;
  // apt-get download into `dir`; returns the .deb files there.
  [[nodiscard]] Result<std::vector<std::filesystem::path>> download(CommandRunner& runner,
                                                                    const std::vector<std::string>& packages,
                                                                    const std::filesystem::path& dir) const;

 private:
  PrivateApt(std::filesystem::path root, std::string suite, std::string architecture)
      : root_(std::move(root)), suite_(std::move(suite)), architecture_(std::move(architecture)) {}

  std::filesystem::path root_;
  std::string suite_;
  std::string architecture_;
};

// The deb822 sources file PrivateApt writes for `suite`.
[[nodiscard]] std::string private_sources_file(const AptSource& source, std::string_view suite,
                                               std::string_view architecture);

}  // namespace kstep::host::kernel
