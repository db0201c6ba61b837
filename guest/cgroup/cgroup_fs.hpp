// CgroupFs: the scenario's cgroups, as directories under one root.
//
// The executor reaches cgroups only through this class. In the guest the
// root is a directory of the cgroup2 mount (/sys/fs/cgroup/kstep); in unit
// tests it is a plain temp dir (Kind::kPlainDirectory), where the kernel's
// side effects are absent: files are just files, removing a cgroup removes
// its files too, and freezing does not wait for cgroup.events.
//
// Names are paths relative to the root ("web", "web/frontend"); "" is the
// root itself. Every error names the cgroup and the file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kstep::guest {

class CgroupFs {
 public:
  enum class Kind { kKernel, kPlainDirectory };

  explicit CgroupFs(std::filesystem::path root, Kind kind = Kind::kKernel);

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }
  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] std::filesystem::path path_of(std::string_view name) const;
  [[nodiscard]] bool exists(std::string_view name) const;

  // mkdir; an existing cgroup is an error (names are unique in a scenario).
  [[nodiscard]] Result<void> create(std::string_view name);
  // rmdir. The cgroup must be empty of processes and children (the kernel
  // refuses otherwise with EBUSY, reported as such).
  [[nodiscard]] Result<void> remove(std::string_view name);

  [[nodiscard]] Result<void> write(std::string_view name, std::string_view file, std::string_view value);
  [[nodiscard]] Result<std::string> read(std::string_view name, std::string_view file) const;

  // cgroup.procs, as pids.
  [[nodiscard]] Result<std::vector<pid_t>> procs(std::string_view name) const;
  // Writes `pid` to the cgroup's cgroup.procs.
  [[nodiscard]] Result<void> move(pid_t pid, std::string_view name);

  // cgroup.freeze; with Kind::kKernel waits (polling cgroup.events) until the
  // kernel reports "frozen 1"/"frozen 0", at most `timeout`.
  [[nodiscard]] Result<void> set_frozen(std::string_view name, bool frozen,
                                        std::chrono::milliseconds timeout);

  // Writes "+ctrl ..." to cgroup.subtree_control of `name` ("" = the root).
  [[nodiscard]] Result<void> enable_controllers(std::string_view name,
                                                const std::set<std::string>& controllers);

 private:
  std::filesystem::path root_;
  Kind kind_;
};

}  // namespace kstep::guest
