#include "images/kernel_requirements.hpp"

#include <array>

namespace kstep::host::kernel {
namespace {

using enum RequirementLevel;

constexpr std::array kRequirements{
    // The guest side of kstep: console, control channel, initramfs, the
    // filesystems kstep-init mounts.
    KernelRequirement{"VIRTIO_PCI", Boot,
                      "the virtio-serial-pci device that carries kstep's control channel"},
    KernelRequirement{"VIRTIO_CONSOLE", Boot, "the virtio-serial port the agent talks to kstep through"},
    KernelRequirement{"SERIAL_8250_CONSOLE", Boot,
                      "the ttyS0 console kstep watches for boot progress, panics and oopses"},
    KernelRequirement{"DEVTMPFS", Boot, "/dev for the agent (there is no udev in the guest)"},
    KernelRequirement{"BLK_DEV_INITRD", Boot, "the agent and the scheduler reach the guest in an initramfs"},
    KernelRequirement{"PROC_FS", Boot, "the agent reads processes and kernel state from /proc"},
    KernelRequirement{
        "SYSFS", Boot,
        "the agent finds its port under /sys/class/virtio-ports and reads /sys/kernel/sched_ext"},
    KernelRequirement{"TMPFS", Boot, "scratch filesystems the agent mounts (/tmp, /run)"},
    // Scenarios put their workers in cgroups with these controllers.
    KernelRequirement{"CGROUPS", Boot, "scenario workers run in cgroups (cgroup2 at /sys/fs/cgroup)"},
    KernelRequirement{"CPUSETS", Boot, "the cpuset controller: cpuset.cpus of scenario cgroups"},
    KernelRequirement{"CGROUP_SCHED", Boot, "the cpu controller of scenario cgroups"},
    KernelRequirement{"FAIR_GROUP_SCHED", Boot, "cpu.weight of scenario cgroups"},
    KernelRequirement{"CFS_BANDWIDTH", Boot, "cpu.max bandwidth limits of scenario cgroups"},
    KernelRequirement{"MEMCG", Boot, "the memory controller of scenario cgroups"},
    KernelRequirement{"CGROUP_PIDS", Boot, "the pids controller of scenario cgroups"},
    KernelRequirement{"CGROUP_FREEZER", Boot, "cgroup.freeze, to pause and resume scenario cgroups"},
    // sched_ext and what loading a BPF scheduler needs.
    KernelRequirement{"SCHED_CLASS_EXT", SchedExt, "sched_ext itself: BPF schedulers attach through it"},
    KernelRequirement{"BPF_SYSCALL", SchedExt,
                      "the bpf() syscall that loads the scheduler's programs and maps"},
    KernelRequirement{"BPF_JIT", SchedExt, "sched_ext runs only JIT-compiled BPF"},
    KernelRequirement{"DEBUG_INFO_BTF", SchedExt,
                      "kernel BTF (/sys/kernel/btf/vmlinux) for struct_ops and CO-RE relocations"},
    KernelRequirement{"EXT_GROUP_SCHED", Recommended,
                      "cgroup callbacks (ops.cgroup_*) that cgroup-aware schedulers use"},
};

}  // namespace

std::string_view to_string(RequirementLevel level) noexcept {
  switch (level) {
    case Boot: return "boot";
    case SchedExt: return "sched_ext";
    case Recommended: return "recommended";
  }
  return "?";
}

std::span<const KernelRequirement> kernel_requirements() noexcept {
  return kRequirements;
}

}  // namespace kstep::host::kernel
