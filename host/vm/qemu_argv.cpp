#include "host/vm/qemu_argv.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/protocol.hpp"
#include "common/unique_fd.hpp"

namespace kstep::host {

namespace {

// x86's COMMAND_LINE_SIZE, including the terminating NUL. The kernel
// truncates longer command lines silently.
constexpr std::size_t kMaxCmdline = 2048;

// QemuOpts values (here: -chardev) end at a comma; a literal comma is doubled.
std::string escape_qemu_opt(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    out += c;
    if (c == ',') {
      out += ',';
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(Accelerator accelerator) noexcept {
  return accelerator == Accelerator::Kvm ? "kvm" : "tcg";
}

std::string_view to_string(KernelFormat format) noexcept {
  return format == KernelFormat::Vmlinux ? "vmlinux" : "bzImage";
}

Result<void> validate(const VmSpec& spec) {
  if (spec.qemu.empty()) {
    return fail("VM spec: the QEMU binary path is empty");
  }
  if (spec.kernel.empty()) {
    return fail("VM spec: the kernel image path is empty");
  }
  if (spec.initrd.empty()) {
    return fail("VM spec: the initramfs path is empty");
  }
  if (spec.firmware && spec.firmware->empty()) {
    return fail("VM spec: the firmware path is set but empty");
  }
  if (spec.control_socket.empty()) {
    return fail("VM spec: the control socket path is empty");
  }
  if (spec.control_socket.native().size() >= sizeof(sockaddr_un::sun_path)) {
    return fail(
        "VM spec: the control socket path {} is {} bytes; a unix socket path must be under {} bytes "
        "(use a shorter TMPDIR)",
        spec.control_socket.string(), spec.control_socket.native().size(), sizeof(sockaddr_un::sun_path));
  }
  if (spec.topology && spec.topology->nodes > 1 && spec.memory_mib / spec.topology->nodes < 64) {
    return fail("VM spec: {} MiB split over {} NUMA nodes leaves under 64 MiB per node", spec.memory_mib,
                spec.topology->nodes);
  }
  if (spec.smp < 1) {
    return fail("VM spec: smp must be at least 1, got {}", spec.smp);
  }
  if (spec.memory_mib < kMinMemoryMib) {
    return fail("VM spec: memory must be at least {} MiB, got {} MiB", kMinMemoryMib, spec.memory_mib);
  }
  if (const auto cmdline = kernel_cmdline(spec); cmdline.size() >= kMaxCmdline) {
    return fail("VM spec: the kernel command line is {} bytes; the kernel keeps only {}", cmdline.size(),
                kMaxCmdline - 1);
  }
  return {};
}

std::string kernel_cmdline(const VmSpec& spec) {
  std::string cmdline = "console=ttyS0 panic=-1";
  if (spec.quiet) {
    cmdline += " loglevel=5";
  }
  if (!spec.append.empty()) {
    cmdline += ' ';
    cmdline += spec.append;
  }
  return cmdline;
}

Result<std::vector<std::string>> build_qemu_argv(const VmSpec& spec) {
  KSTEP_TRY(validate(spec));
  std::vector<std::string> argv{spec.qemu.string()};
  const auto add = [&argv](std::initializer_list<std::string> args) {
    argv.insert(argv.end(), args.begin(), args.end());
  };

  if (spec.accelerator == Accelerator::Kvm) {
    add({"-accel", "kvm", "-cpu", "host"});
  } else {
    add({"-accel", "tcg,thread=single"});
  }
  add({"-M", "pc"});
  if (spec.firmware) {
    add({"-bios", spec.firmware->string()});
  }
  add({"-kernel", spec.kernel.string(), "-initrd", spec.initrd.string(), "-append", kernel_cmdline(spec)});
  if (spec.topology) {
    const auto geometry = qemu_topology_args(*spec.topology, spec.memory_mib);
    argv.insert(argv.end(), geometry.begin(), geometry.end());
  } else {
    add({"-smp", std::to_string(spec.smp)});
  }
  add({"-m", fmt::format("{}M", spec.memory_mib)});
  add({"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"});
  add({"-chardev",
       fmt::format("socket,id={},path={}", kControlChardevId, escape_qemu_opt(spec.control_socket.string())),
       "-device", "virtio-serial-pci", "-device",
       fmt::format("virtserialport,chardev={},name={}", kControlChardevId, kControlPortName)});
  return argv;
}

std::optional<std::filesystem::path> firmware_for(KernelFormat format,
                                                  const std::optional<std::filesystem::path>& qboot) {
  return format == KernelFormat::Vmlinux ? qboot : std::nullopt;
}

AcceleratorDecision detect_accelerator(const std::filesystem::path& dev_kvm,
                                       const std::filesystem::path& sys_module) {
  const UniqueFd fd{::open(dev_kvm.c_str(), O_RDWR | O_CLOEXEC)};
  if (!fd) {
    return {Accelerator::Tcg, fmt::format("{} does not open read-write", dev_kvm.string())};
  }
  // Anything that is not the KVM device (a regular file, another character
  // device) fails this ioctl; KVM answers with its stable API version.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg)
  if (::ioctl(fd.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    return {Accelerator::Tcg, fmt::format("{} is not a KVM device", dev_kvm.string())};
  }
  for (const char* vendor : {"kvm_intel", "kvm_amd"}) {
    std::error_code ec;
    if (std::filesystem::is_directory(sys_module / vendor, ec)) {
      return {Accelerator::Kvm, fmt::format("{} is usable ({})", dev_kvm.string(), vendor)};
    }
  }
  return {Accelerator::Tcg,
          fmt::format(
              "{} is not backed by kvm_intel or kvm_amd (e.g. kvm_pvm), which stock kernels cannot run on",
              dev_kvm.string())};
}

std::optional<std::filesystem::path> find_qboot(std::span<const std::string_view> candidates) {
  for (const auto candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) {
      return std::filesystem::path{candidate};
    }
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> find_program(std::string_view program, const char* path_env) {
  if (program.empty()) {
    return std::nullopt;
  }
  const auto usable = [](const std::filesystem::path& candidate) {
    struct stat st {};
    return ::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(candidate.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string_view::npos) {
    std::filesystem::path candidate{program};
    return usable(candidate) ? std::optional{candidate} : std::nullopt;
  }
  std::string_view rest = path_env != nullptr ? path_env : "";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const auto dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    // POSIX: an empty PATH element means the current directory. kstep does
    // not honour that; a VM binary is never picked up from the cwd by accident.
    if (dir.empty()) {
      continue;
    }
    auto candidate = std::filesystem::path{dir} / program;
    if (usable(candidate)) {
      return candidate;
    }
  }
  return std::nullopt;
}

Result<std::filesystem::path> find_qemu(const char* path_env) {
  constexpr std::string_view kQemu = "qemu-system-x86_64";
  if (auto found = find_program(kQemu, path_env)) {
    return *std::move(found);
  }
  return fail("{} was not found on PATH ({}); install the Debian package qemu-system-x86", kQemu,
              path_env != nullptr && *path_env != '\0' ? path_env : "PATH is empty");
}

}  // namespace kstep::host
