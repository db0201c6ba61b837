// The kernel a run boots: resolved from --kernel (or the cache, fetching on
// first use), its config checked, and what that means for the run decided.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "host/cli/cli_args.hpp"
#include "host/cli/host_context.hpp"
#include "host/initramfs/initramfs_archive.hpp"
#include "host/session/outcome.hpp"
#include "host/vm/qemu_argv.hpp"

namespace kstep::host {

struct RunKernel {
  std::filesystem::path image;
  KernelFormat format = KernelFormat::BzImage;
  std::optional<std::filesystem::path> config;
  std::string release;
  Compression compression = Compression::Gzip;  // what the kernel can unpack
  bool sched_ext = false;                       // the config has what sched_ext needs
};

// A failure before the VM runs: its outcome and the message that explains it.
struct SetupFailure {
  Outcome outcome;
  std::string message;
};

[[nodiscard]] Result<RunKernel, SetupFailure> prepare_run_kernel(const RunOptions& options,
                                                                 const HostContext& context);

}  // namespace kstep::host
