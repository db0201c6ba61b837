#include "guest/workers/worker_settings.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/cpu_list.hpp"

namespace kstep::guest::workers {
namespace {

constexpr unsigned kBitsPerWord = 8 * sizeof(unsigned long);

const char* policy_name(int kernel_policy) {
  switch (kernel_policy) {
    case SCHED_OTHER: return "SCHED_OTHER";
    case SCHED_BATCH: return "SCHED_BATCH";
    case SCHED_IDLE: return "SCHED_IDLE";
    case SCHED_FIFO: return "SCHED_FIFO";
    case SCHED_RR: return "SCHED_RR";
    default: return "SCHED_?";
  }
}

const char* mode_name(int mode) {
  switch (mode) {
    case mpol::kDefault: return "MPOL_DEFAULT";
    case mpol::kPreferred: return "MPOL_PREFERRED";
    case mpol::kBind: return "MPOL_BIND";
    case mpol::kInterleave: return "MPOL_INTERLEAVE";
    case mpol::kLocal: return "MPOL_LOCAL";
    case mpol::kPreferredMany: return "MPOL_PREFERRED_MANY";
    case mpol::kWeightedInterleave: return "MPOL_WEIGHTED_INTERLEAVE";
    default: return "MPOL_?";
  }
}

struct PolicyMapping {
  scenario::SchedPolicy policy;
  int kernel_policy;
};

std::optional<PolicyMapping> map_policy(scenario::SchedPolicy policy) {
  switch (policy) {
    case scenario::SCHED_POLICY_UNSPECIFIED:
    case scenario::NORMAL: return PolicyMapping{scenario::NORMAL, SCHED_OTHER};
    case scenario::BATCH: return PolicyMapping{scenario::BATCH, SCHED_BATCH};
    case scenario::IDLE: return PolicyMapping{scenario::IDLE, SCHED_IDLE};
    case scenario::FIFO: return PolicyMapping{scenario::FIFO, SCHED_FIFO};
    case scenario::RR: return PolicyMapping{scenario::RR, SCHED_RR};
    default: return std::nullopt;
  }
}

Result<void> plan_policy(const scenario::Workers& config, SettingsPlan& plan) {
  const auto mapping = map_policy(config.policy());
  if (!mapping) {
    return fail("workers: unknown scheduling policy {}", static_cast<int>(config.policy()));
  }
  plan.policy = mapping->policy;
  plan.kernel_policy = mapping->kernel_policy;
  const bool realtime = plan.policy == scenario::FIFO || plan.policy == scenario::RR;
  const bool takes_nice = plan.policy == scenario::NORMAL || plan.policy == scenario::BATCH;
  if (config.nice() != 0 && !takes_nice) {
    return fail("workers: nice {} does not apply to policy {} (only NORMAL and BATCH)", config.nice(),
                scenario::SchedPolicy_Name(plan.policy));
  }
  if (config.nice() < -20 || config.nice() > 19) {
    return fail("workers: nice {} outside -20..19", config.nice());
  }
  plan.nice = config.nice();
  plan.apply_nice = takes_nice;
  if (!realtime) {
    if (config.rt_priority() != 0) {
      return fail("workers: rt_priority {} needs policy FIFO or RR, not {}", config.rt_priority(),
                  scenario::SchedPolicy_Name(plan.policy));
    }
    return {};
  }
  // 0 means "unset": the lowest real-time priority.
  const std::uint32_t priority = config.rt_priority() == 0 ? 1 : config.rt_priority();
  if (priority > 99) {
    return fail("workers: rt_priority {} outside 1..99", priority);
  }
  plan.rt_priority = static_cast<int>(priority);
  return {};
}

struct ModeMapping {
  int mode;
  bool takes_nodes;
  bool needs_nodes;
};

std::optional<ModeMapping> map_mode(scenario::MemPolicyMode mode) {
  switch (mode) {
    case scenario::MPOL_DEFAULT: return ModeMapping{mpol::kDefault, false, false};
    case scenario::MPOL_LOCAL: return ModeMapping{mpol::kLocal, false, false};
    // Without nodes, PREFERRED means "the local node".
    case scenario::MPOL_PREFERRED: return ModeMapping{mpol::kPreferred, true, false};
    case scenario::MPOL_BIND: return ModeMapping{mpol::kBind, true, true};
    case scenario::MPOL_INTERLEAVE: return ModeMapping{mpol::kInterleave, true, true};
    case scenario::MPOL_PREFERRED_MANY: return ModeMapping{mpol::kPreferredMany, true, true};
    case scenario::MPOL_WEIGHTED_INTERLEAVE: return ModeMapping{mpol::kWeightedInterleave, true, true};
    default: return std::nullopt;
  }
}

Result<void> plan_mempolicy(const scenario::MemPolicy& policy, SettingsPlan& plan) {
  if (policy.mode() == scenario::MPOL_UNSPECIFIED) {
    if (policy.nodes_size() > 0 || policy.static_nodes() || policy.relative_nodes() ||
        policy.numa_balancing()) {
      return fail("workers: mem_policy has nodes or flags but no mode");
    }
    return {};
  }
  const auto mapping = map_mode(policy.mode());
  if (!mapping) {
    return fail("workers: unknown mem_policy mode {}", static_cast<int>(policy.mode()));
  }
  plan.mempolicy_mode = mapping->mode;
  const bool takes_nodes = mapping->takes_nodes;
  const bool needs_nodes = mapping->needs_nodes;
  const char* mode = mode_name(plan.mempolicy_mode);
  if (!takes_nodes && policy.nodes_size() > 0) {
    return fail("workers: mem_policy {} takes no nodes", mode);
  }
  if (needs_nodes && policy.nodes_size() == 0) {
    return fail("workers: mem_policy {} needs at least one node", mode);
  }
  // The kernel rejects this pair with a bare EINVAL; say which it is.
  if (policy.static_nodes() && policy.relative_nodes()) {
    return fail("workers: mem_policy static_nodes and relative_nodes exclude each other");
  }
  for (const std::uint32_t node : policy.nodes()) {
    if (node >= kMaxNodes) {
      return fail("workers: mem_policy node {} is not below {}", node, kMaxNodes);
    }
    plan.nodemask[node / kBitsPerWord] |= 1UL << (node % kBitsPerWord);
  }
  plan.maxnode = policy.nodes_size() > 0 ? kMaxNodes + 1 : 0;
  plan.mempolicy_flags = (policy.static_nodes() ? mpol::kFlagStaticNodes : 0) |
                         (policy.relative_nodes() ? mpol::kFlagRelativeNodes : 0) |
                         (policy.numa_balancing() ? mpol::kFlagNumaBalancing : 0);
  plan.apply_mempolicy = true;
  return {};
}

std::string describe_mempolicy(const SettingsPlan& plan) {
  std::string mode = mode_name(plan.mempolicy_mode);
  if ((plan.mempolicy_flags & mpol::kFlagStaticNodes) != 0) {
    mode += "|MPOL_F_STATIC_NODES";
  }
  if ((plan.mempolicy_flags & mpol::kFlagRelativeNodes) != 0) {
    mode += "|MPOL_F_RELATIVE_NODES";
  }
  if ((plan.mempolicy_flags & mpol::kFlagNumaBalancing) != 0) {
    mode += "|MPOL_F_NUMA_BALANCING";
  }
  std::vector<unsigned> nodes;
  for (unsigned node = 0; node < kMaxNodes; ++node) {
    if ((plan.nodemask[node / kBitsPerWord] >> (node % kBitsPerWord) & 1UL) != 0) {
      nodes.push_back(node);
    }
  }
  return fmt::format("{}, nodes \"{}\"", mode, format_cpu_list(nodes));
}

}  // namespace

Result<SettingsPlan> plan_settings(const scenario::Workers& config) {
  SettingsPlan plan;
  KSTEP_TRY(plan_policy(config, plan));
  KSTEP_TRY(plan_mempolicy(config.mem_policy(), plan));
  return plan;
}

SetupFailure apply_settings(const SettingsPlan& plan) noexcept {
  // Memory policy first: it governs the allocations that follow (the
  // PAGE_TOUCH buffer), and a real-time policy set earlier could only delay
  // the rest of the setup.
  if (plan.apply_mempolicy) {
    const unsigned long* mask = plan.maxnode == 0 ? nullptr : plan.nodemask;
    if (::syscall(SYS_set_mempolicy, plan.mempolicy_mode | plan.mempolicy_flags, mask, plan.maxnode) != 0) {
      return SetupFailure{SetupStep::kMemPolicy, errno};
    }
  }
  struct sched_param param {};
  param.sched_priority = plan.rt_priority;
  if (::sched_setscheduler(0, plan.kernel_policy, &param) != 0) {
    return SetupFailure{SetupStep::kScheduler, errno};
  }
  // Always set, even to 0: a worker must not inherit the agent's nice.
  if (plan.apply_nice && ::setpriority(PRIO_PROCESS, 0, plan.nice) != 0) {
    return SetupFailure{SetupStep::kNice, errno};
  }
  return {};
}

std::string describe_setup_failure(const SettingsPlan& plan, SetupFailure failure) {
  const char* reason = std::strerror(failure.error);
  switch (failure.step) {
    case SetupStep::kScheduler:
      return fmt::format("sched_setscheduler({}, priority {}): {}", policy_name(plan.kernel_policy),
                         plan.rt_priority, reason);
    case SetupStep::kNice: return fmt::format("setpriority(nice {}): {}", plan.nice, reason);
    case SetupStep::kMemPolicy: return fmt::format("set_mempolicy({}): {}", describe_mempolicy(plan), reason);
    default: return fmt::format("setup step {}: {}", static_cast<unsigned>(failure.step), reason);
  }
}

}  // namespace kstep::guest::workers
