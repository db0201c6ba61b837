#include "guest/hello.hpp"

#include "common/protocol.hpp"
#include "guest/system_info.hpp"
#include "guest/topology.hpp"

#ifndef KSTEP_AGENT_VERSION
#error "KSTEP_AGENT_VERSION must be defined by the build (guest/meson.build)"
#endif

namespace kstep::guest {

std::string_view agent_version() noexcept {
  return KSTEP_AGENT_VERSION;
}

Result<wire::Hello> build_hello(const SystemRoots& roots, std::string kernel_release,
                                std::uint64_t uptime_us) {
  auto topology = read_topology(roots.sys);
  if (!topology) {
    return Unexpected{topology.error().context("reading CPU topology")};
  }
  auto memory = read_memory_bytes(roots.proc);
  if (!memory) {
    return Unexpected{memory.error().context("reading memory size")};
  }
  auto sched_ext = read_sched_ext(roots.sys);
  if (!sched_ext) {
    return Unexpected{sched_ext.error().context("reading sched_ext state")};
  }
  auto controllers = read_cgroup_controllers(roots.cgroup);
  if (!controllers) {
    return Unexpected{controllers.error().context("reading cgroup controllers")};
  }

  wire::Hello hello;
  hello.set_protocol_version(kProtocolVersion);
  hello.set_agent_version(std::string{agent_version()});
  hello.set_kernel_release(std::move(kernel_release));
  hello.set_cpu_count(topology->threads());
  *hello.mutable_topology() = std::move(*topology);
  hello.set_memory_bytes(*memory);
  *hello.mutable_sched_ext() = std::move(*sched_ext);
  for (auto& controller : *controllers) {
    hello.add_cgroup_controllers(std::move(controller));
  }
  hello.set_uptime_us(uptime_us);
  return hello;
}

}  // namespace kstep::guest
