#include "guest/bpf/process_maps.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "guest/text_file.hpp"

namespace kstep::guest {
namespace {

// What readlink(/proc/PID/fd/N) says for a BPF map fd.
constexpr std::string_view kMapLink = "anon_inode:bpf-map";

// The value of the "map_id:\t42" line of a BPF map's fdinfo.
std::optional<std::uint32_t> map_id_of(std::string_view fdinfo) {
  constexpr std::string_view kKey = "map_id:";
  while (!fdinfo.empty()) {
    const auto newline = fdinfo.find('\n');
    const std::string_view line = fdinfo.substr(0, newline);
    fdinfo = newline == std::string_view::npos ? std::string_view{} : fdinfo.substr(newline + 1);
    if (line.starts_with(kKey)) {
      auto id = parse_unsigned(trim(line.substr(kKey.size())));
      if (!id || *id > std::numeric_limits<std::uint32_t>::max()) {
        return std::nullopt;
      }
      return static_cast<std::uint32_t>(*id);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<std::uint32_t>> process_map_ids(const std::filesystem::path& proc_root, pid_t pid) {
  const auto pid_dir = proc_root / std::to_string(pid);
  const auto fd_dir = pid_dir / "fd";
  std::vector<std::uint32_t> ids;
  // error_code overloads throughout: the agent is PID 1 and must not throw.
  std::error_code ec;
  std::filesystem::directory_iterator it{fd_dir, ec};
  for (; !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    // The process runs on while we look: an fd that is gone by readlink or
    // by the fdinfo read was closed, which is not an error.
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(it->path(), link_ec);
    if (link_ec || target.native() != kMapLink) {
      continue;
    }
    const auto fdinfo = read_text_file(pid_dir / "fdinfo" / it->path().filename());
    if (!fdinfo) {
      continue;
    }
    if (const auto id = map_id_of(*fdinfo)) {
      ids.push_back(*id);
    }
  }
  if (ec) {
    return fail("listing the fds of pid {} ({}): {}", pid, fd_dir.string(), ec.message());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace kstep::guest
