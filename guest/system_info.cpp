#include "guest/system_info.hpp"

#include <sys/utsname.h>
#include <time.h>

#include <system_error>

#include "guest/text_file.hpp"

namespace kstep::guest {

namespace fs = std::filesystem;

Result<std::uint64_t> read_memory_bytes(const fs::path& proc_root) {
  const fs::path path = proc_root / "meminfo";
  auto text = read_text_file(path);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  // "MemTotal:         503424 kB"
  constexpr std::string_view kKey = "MemTotal:";
  std::string_view rest{*text};
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
    if (line.substr(0, kKey.size()) != kKey) {
      continue;
    }
    std::string_view value = trim(line.substr(kKey.size()));
    constexpr std::string_view kUnit = "kB";
    if (value.size() < kUnit.size() || value.substr(value.size() - kUnit.size()) != kUnit) {
      return fail("{}: MemTotal '{}' is not in kB", path.string(), value);
    }
    auto kib = parse_unsigned(trim(value.substr(0, value.size() - kUnit.size())));
    if (!kib) {
      return Unexpected{kib.error().context(fmt::format("{}: MemTotal", path.string()))};
    }
    return *kib * 1024;
  }
  return fail("{}: no MemTotal line", path.string());
}

Result<wire::SchedExtState> read_sched_ext(const fs::path& sys_root) {
  const fs::path dir = sys_root / "kernel" / "sched_ext";
  wire::SchedExtState state;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    state.set_supported(false);
    return state;
  }
  state.set_supported(true);
  auto text = read_trimmed(dir / "state");
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  state.set_state(std::move(*text));
  // root/ops exists only while a scheduler is attached on some kernels and
  // holds an empty line on others; either way no ops means "".
  if (fs::exists(dir / "root" / "ops", ec)) {
    auto ops = read_trimmed(dir / "root" / "ops");
    if (!ops) {
      return Unexpected{std::move(ops).error()};
    }
    state.set_ops(std::move(*ops));
  }
  return state;
}

Result<std::vector<std::string>> read_cgroup_controllers(const fs::path& cgroup_root) {
  const fs::path path = cgroup_root / "cgroup.controllers";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return std::vector<std::string>{};
  }
  auto text = read_text_file(path);
  if (!text) {
    return Unexpected{std::move(text).error()};
  }
  std::vector<std::string> controllers;
  std::string_view rest{*text};
  while (!(rest = trim(rest)).empty()) {
    const auto space = rest.find_first_of(" \t\n");
    controllers.emplace_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
  }
  return controllers;
}

std::string kernel_release() {
  struct utsname names {};
  if (::uname(&names) != 0) {
    return "unknown";
  }
  return names.release;
}

std::uint64_t boot_time_us() noexcept {
  struct timespec now {};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
}

}  // namespace kstep::guest
