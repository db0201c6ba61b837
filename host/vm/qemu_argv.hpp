// QEMU command line: pure functions from a VmSpec to argv.
//
// Everything a VM run depends on is in VmSpec, and build_qemu_argv() has no
// side effects, so every rule below is checked in unit tests without
// starting QEMU. The rules were measured (shared/environment.md):
//   - TCG must be single-threaded (`-accel tcg,thread=single`): multi-threaded
//     TCG oopses the guest when the kernel patches its own text.
//   - `-no-reboot` plus `panic=-1` on the command line turn a guest panic into
//     a QEMU exit; without both a panicked guest spins forever.
//   - vmlinux (ELF) boots through its PVH entry, fastest with qboot as the
//     firmware; it also boots with QEMU's default SeaBIOS (PVH option ROM).
//     A bzImage boots with either firmware.
//   - The serial console goes to QEMU's stdout (`-serial stdio`), which the
//     host reads through a pipe.
//   - The control port is a virtserialport on a unix socket chardev where the
//     HOST listens and QEMU connects as a client: with QEMU as the server
//     and nobody connected, guest writes block.
// The probing helpers (detect_accelerator, find_qboot, find_qemu) touch the
// filesystem but take every path and environment value as a parameter.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "host/vm/vm_topology.hpp"

namespace kstep::host {

enum class Accelerator { Kvm, Tcg };
enum class KernelFormat { Vmlinux, BzImage };

[[nodiscard]] std::string_view to_string(Accelerator accelerator) noexcept;
[[nodiscard]] std::string_view to_string(KernelFormat format) noexcept;

struct VmSpec {
  std::filesystem::path qemu;  // the qemu-system-x86_64 binary
  Accelerator accelerator = Accelerator::Tcg;
  std::filesystem::path kernel;
  KernelFormat kernel_format = KernelFormat::BzImage;
  // Passed as `-bios` when set; firmware_for() picks it. Both formats boot
  // with both qboot and SeaBIOS (measured); the format is not otherwise used
  // by the argv.
  std::optional<std::filesystem::path> firmware;
  std::filesystem::path initrd;
  unsigned smp = 2;           // vCPUs, >= 1
  unsigned memory_mib = 512;  // guest RAM in MiB, >= kMinMemoryMib
  // Only warnings and worse on the serial console (loglevel=5): the boot
  // chatter costs serial-port exits under TCG, while every line the console
  // scanner looks for (panic, Oops, BUG, WARNING, lockups, RCU stalls) is
  // printed at warning level or above.
  bool quiet = true;
  std::string append;                    // the user's --append, verbatim, last
  std::filesystem::path control_socket;  // the host listens here before QEMU starts
  // The CPU/NUMA geometry; when set, its CPU count replaces `smp`.
  std::optional<VmTopology> topology;
};

inline constexpr unsigned kMinMemoryMib = 128;
// chardev id of the control port inside QEMU; appears in QEMU's own errors.
inline constexpr std::string_view kControlChardevId = "kstepctl";

// Checks the spec and says which field is wrong.
[[nodiscard]] Result<void> validate(const VmSpec& spec);

// The kernel command line: `console=ttyS0 panic=-1`, then `loglevel=5`
// unless disabled, then the user's append string (so the user's options win where
// the kernel takes the last occurrence).
[[nodiscard]] std::string kernel_cmdline(const VmSpec& spec);

// The complete argv, argv[0] being spec.qemu. Fails only on an invalid spec.
[[nodiscard]] Result<std::vector<std::string>> build_qemu_argv(const VmSpec& spec);

// The firmware policy: qboot for a vmlinux when it is installed (the fastest
// measured path), QEMU's default otherwise. `qboot` comes from find_qboot().
[[nodiscard]] std::optional<std::filesystem::path> firmware_for(
    KernelFormat format, const std::optional<std::filesystem::path>& qboot);

// What auto-detection chose, and why (logged, so a user who expected KVM
// learns what was missing).
struct AcceleratorDecision {
  Accelerator accelerator = Accelerator::Tcg;
  std::string reason;
};

// Kvm when `dev_kvm` opens read-write, answers KVM_GET_API_VERSION, and the
// host's KVM is backed by hardware virtualization (the kvm_intel or kvm_amd
// module under `sys_module`); Tcg otherwise. The module check matters:
// sandboxes expose /dev/kvm backed by kvm_pvm, which runs only PVM-built
// guest kernels, and a stock kernel dies there with "KVM internal error".
[[nodiscard]] AcceleratorDecision detect_accelerator(const std::filesystem::path& dev_kvm = "/dev/kvm",
                                                     const std::filesystem::path& sys_module = "/sys/module");

// Where Debian puts qboot: qemu-system-data's copy, then the qboot package's.
inline constexpr std::string_view kQbootCandidates[] = {"/usr/share/qemu/qboot.rom",
                                                        "/usr/share/qboot/bios.bin"};

// The first candidate that is a regular file.
[[nodiscard]] std::optional<std::filesystem::path> find_qboot(
    std::span<const std::string_view> candidates = kQbootCandidates);

// Looks `program` up in a PATH-style list (pass getenv("PATH"); null or
// empty means none). Returns the first executable regular file.
[[nodiscard]] std::optional<std::filesystem::path> find_program(std::string_view program,
                                                                const char* path_env);

// qemu-system-x86_64 on `path_env`, or an error naming the Debian package.
[[nodiscard]] Result<std::filesystem::path> find_qemu(const char* path_env);

}  // namespace kstep::host
