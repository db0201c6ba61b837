// HostContext: what kstep takes from its process environment, read once in
// main() and passed down, so nothing below reads getenv() itself.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace kstep::host {

struct HostContext {
  std::filesystem::path cache_dir;  // $XDG_CACHE_HOME/kstep: kernels, initramfs images
  std::filesystem::path runs_root;  // $XDG_STATE_HOME/kstep/runs
  std::filesystem::path self_dir;   // directory holding the kstep binary
  std::filesystem::path temp_dir;   // $TMPDIR or /tmp: private per-VM dirs
  std::string path_env;             // $PATH, to find QEMU
};

[[nodiscard]] Result<HostContext> host_context_from_environment();

// kstep-init beside kstep (installed or copied), in the build tree
// (build/host/kstep -> build/guest/kstep-init), or under libexec.
[[nodiscard]] Result<std::filesystem::path> find_agent(const std::filesystem::path& self_dir);

// The bundled kstep-sched, found like kstep-init (build tree: images/scheduler);
// nullopt when it was not built.
[[nodiscard]] std::optional<std::filesystem::path> find_bundled_scheduler(
    const std::filesystem::path& self_dir);

}  // namespace kstep::host
