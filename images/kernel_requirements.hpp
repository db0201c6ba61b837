// The kernel configuration kstep needs, with the reason for each option.
//
// One table, so the config checker, the documentation and the error a user
// sees all say the same thing. Every requirement means built in (=y): the
// guest boots from kstep's initramfs, which carries no modules and loads none,
// so a feature built as a module is as absent as one switched off.
#pragma once

#include <span>
#include <string_view>

namespace kstep::host::kernel {

enum class RequirementLevel {
  Boot,         // without it no run works: a usage error
  SchedExt,     // without it runs work, but only under the kernel's default scheduler
  Recommended,  // some schedulers need it (cgroup-aware ones)
};

[[nodiscard]] std::string_view to_string(RequirementLevel level) noexcept;

struct KernelRequirement {
  std::string_view option;  // without the CONFIG_ prefix
  RequirementLevel level;
  std::string_view reason;  // one line: what kstep uses it for
};

// In the order they are reported: boot first, then sched_ext, then recommended.
[[nodiscard]] std::span<const KernelRequirement> kernel_requirements() noexcept;

}  // namespace kstep::host::kernel
