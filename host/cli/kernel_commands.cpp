#include "host/cli/kernel_commands.hpp"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "host/kernel/kernel_fetch.hpp"
#include "host/util/run_command.hpp"

namespace kstep::host {

Result<kernel::CachedKernel> fetch_default_kernel(const HostContext& context,
                                                  const std::vector<std::string>& suites) {
  const kernel::KernelCache cache{context.cache_dir};
  SystemCommandRunner runner{context.path_env};
  const auto started = std::chrono::steady_clock::now();
  auto fetched = kernel::fetch_kernel(cache, kernel::fetch_options_from_system(suites), runner);
  if (!fetched) {
    return Unexpected{std::move(fetched).error()};
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("kernel {} from {}: {} ({:.1f} s)", fetched->kernel.release, fetched->suite,
               fetched->already_cached ? "already cached" : "downloaded", seconds);
  return std::move(fetched->kernel);
}

Outcome kernel_fetch_command(const KernelFetchOptions& options, const HostContext& context) {
  auto fetched = fetch_default_kernel(context, options.suites);
  if (!fetched) {
    spdlog::error("{}", fetched.error().message);
    return Outcome::kInfrastructureError;
  }
  fmt::print("{}\n", fetched->dir.string());
  return Outcome::kPass;
}

Outcome kernel_list_command(const HostContext& context) {
  const kernel::KernelCache cache{context.cache_dir};
  auto kernels = cache.list();
  if (!kernels) {
    spdlog::error("{}", kernels.error().message);
    return Outcome::kInfrastructureError;
  }
  if (kernels->empty()) {
    spdlog::info("no kernels in {}; run `kstep kernel fetch`", cache.kernels_dir().string());
    return Outcome::kPass;
  }
  fmt::print("{}", kernel::format_kernel_table(*kernels));
  return Outcome::kPass;
}

}  // namespace kstep::host
