#include "host/scenario/canned_scenarios.hpp"

#include <algorithm>
#include <array>

namespace kstep::host {
namespace {

// The raw string delimiter is txt, not pb: clang-format reflows pb raw
// strings as protobuf and mangles them.

constexpr std::string_view kSteady = R"txt(
name: "steady"
description: "Spinning workers on every CPU for two steps: the baseline any scheduler must pass."
duration_s: 3
backdrop {
  cgroups {
    name: "base"
    workers { cpu_pct: 100 work: SPIN }
  }
}
steps { name: "warm-up" hold { fraction: 0.5 } }
steps { name: "steady" hold { fraction: 0.5 } }
checks { starvation: true max_gap_ms: 2000 }
)txt";

constexpr std::string_view kCpusetSplit = R"txt(
name: "cpuset-split"
description: "Two cgroups on disjoint halves of the CPUs, then on overlapping halves."
duration_s: 3
steps {
  name: "disjoint"
  setup {
    name: "left"
    cpuset { partition { index: 0 count: 2 } }
    workers { workers: 2 }
  }
  setup {
    name: "right"
    cpuset { partition { index: 1 count: 2 } }
    workers { workers: 2 }
  }
  hold { fraction: 0.5 }
}
steps {
  name: "overlapping"
  setup {
    name: "left"
    cpuset { overlapping { index: 0 count: 2 overlap: 0.5 } }
    workers { workers: 2 }
  }
  setup {
    name: "right"
    cpuset { overlapping { index: 1 count: 2 overlap: 0.5 } }
    workers { workers: 2 }
  }
  hold { fraction: 0.5 }
}
checks { starvation: true isolation: true }
)txt";

constexpr std::string_view kCpusetSwap = R"txt(
name: "cpuset-swap"
description: "Two cgroups on disjoint halves swap their cpusets mid-scenario, then swap back."
duration_s: 3
backdrop {
  cgroups {
    name: "a"
    cpuset { partition { index: 0 count: 2 } }
    workers { workers: 2 }
  }
  cgroups {
    name: "b"
    cpuset { partition { index: 1 count: 2 } }
    workers { workers: 2 }
  }
}
steps { name: "before" hold { fraction: 0.34 } }
steps {
  name: "swapped"
  ops { swap_cpusets { a: "a" b: "b" } }
  hold { fraction: 0.33 }
}
steps {
  name: "restored"
  ops { swap_cpusets { a: "a" b: "b" } }
  hold { fraction: 0.33 }
}
# Isolation holds a worker to every cpuset it had, so a swap is not a breach.
checks { starvation: true isolation: true }
)txt";

constexpr std::string_view kFreezeThaw = R"txt(
name: "freeze-thaw"
description: "A cgroup frozen for one step and thawed in the next, beside one that keeps running."
duration_s: 3
backdrop {
  cgroups { name: "runner" workers { workers: 2 } }
  cgroups { name: "paused" workers { workers: 2 } }
}
steps { name: "running" hold { fraction: 0.3 } }
steps {
  name: "frozen"
  ops { freeze_cgroup: "paused" }
  hold { fraction: 0.4 }
}
steps {
  name: "thawed"
  ops { unfreeze_cgroup: "paused" }
  hold { fraction: 0.3 }
}
# Starvation counts a worker's whole life: the frozen ones ran before and
# after. No gap check: a frozen step is a gap by design.
checks { starvation: true }
)txt";

constexpr std::string_view kTaskMoves = R"txt(
name: "task-moves"
description: "MoveAllTasks from a step cgroup into the backdrop, between backdrop and between step cgroups."
duration_s: 3
backdrop {
  cgroups { name: "pool" workers { workers: 2 } }
  ops { add_cgroup: "parking" }
}
steps {
  name: "join"
  ops { add_cgroup_def { name: "burst" workers { workers: 2 } } }
  # Step workers moved into a backdrop cgroup stay until the scenario ends.
  ops { move_all_tasks { from: "burst" to: "pool" } }
  hold { fraction: 0.34 }
}
steps {
  name: "park"
  ops { move_all_tasks { from: "pool" to: "parking" } }
  hold { fraction: 0.33 }
}
steps {
  name: "return"
  ops { move_all_tasks { from: "parking" to: "pool" } }
  ops { add_cgroup_def { name: "left" workers { workers: 1 } } }
  ops { add_cgroup: "right" }
  ops { move_all_tasks { from: "left" to: "right" } }
  hold { fraction: 0.33 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kNested = R"txt(
name: "nested"
description: "Child cgroups of different cpu.weight under one parent, beside a sibling of the parent."
duration_s: 3
backdrop {
  # The parent holds no workers: cgroup v2 keeps processes out of inner
  # nodes that distribute a controller.
  cgroups { name: "parent" cpu_weight: 100 }
  cgroups {
    name: "parent/heavy"
    cpu_weight: 300
    workers { workers: 2 }
  }
  cgroups {
    name: "parent/light"
    cpu_weight: 100
    workers { workers: 2 }
  }
  cgroups {
    name: "other"
    cpu_weight: 100
    workers { workers: 1 }
  }
}
steps { name: "siblings" hold { fraction: 0.5 } }
steps {
  name: "newcomer"
  setup {
    name: "parent/burst"
    cpu_weight: 300
    workers { workers: 1 }
  }
  hold { fraction: 0.5 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kLoopChurn = R"txt(
name: "loop-churn"
description: "Every 0.2 s: swap two cpusets, add a cgroup, move a worker through it, remove it."
duration_s: 3
backdrop {
  cgroups {
    name: "a"
    cpuset { partition { index: 0 count: 2 } }
    workers { workers: 2 }
  }
  cgroups {
    name: "b"
    cpuset { partition { index: 1 count: 2 } }
    workers { workers: 1 }
  }
}
steps { name: "settle" hold { fraction: 0.3 } }
steps {
  name: "churn"
  # A loop step sets up once, then applies its ops every interval.
  setup { name: "hopper" workers { workers: 1 } }
  ops { swap_cpusets { a: "a" b: "b" } }
  ops { add_cgroup: "transit" }
  ops { move_all_tasks { from: "hopper" to: "transit" } }
  ops { move_all_tasks { from: "transit" to: "hopper" } }
  ops { remove_cgroup: "transit" }
  hold { loop { interval_s: 0.2 } }
}
# Isolation holds a worker to every cpuset it had: swaps are fine.
checks { starvation: true isolation: true }
)txt";

constexpr std::string_view kMixedWork = R"txt(
name: "mixed-work"
description: "Every work type side by side: spin, yield, futex ping-pong, mixed, page touching, fork/exit."
duration_s: 4
steps {
  name: "cpu"
  setup { name: "spin" workers { workers: 1 work: SPIN } }
  setup { name: "yield" workers { workers: 1 work: YIELD } }
  setup { name: "pingpong" workers { workers: 2 work: FUTEX_PINGPONG } }
  setup { name: "mixed" workers { workers: 1 work: MIXED } }
  hold { fraction: 0.5 }
}
steps {
  name: "memory-and-fork"
  setup { name: "spin" workers { workers: 1 work: SPIN } }
  setup {
    name: "pages"
    workers { workers: 1 work: PAGE_TOUCH page_touch_bytes: 4194304 }
  }
  setup { name: "forks" workers { workers: 1 work: FORK_EXIT } }
  setup { name: "pingpong" workers { workers: 2 work: FUTEX_PINGPONG } }
  hold { fraction: 0.5 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kCpuMax = R"txt(
name: "cpu-max"
description: "A cpu.max throttled cgroup next to an unthrottled one."
duration_s: 3
steps {
  name: "percent"
  setup {
    name: "throttled"
    cpu_max { quota_pct: 30 }
    workers { workers: 2 }
  }
  setup { name: "free" workers { workers: 2 } }
  hold { fraction: 0.5 }
}
steps {
  name: "quota"
  setup {
    name: "throttled"
    cpu_max { quota { quota_us: 20000 period_us: 50000 } }
    workers { workers: 1 }
  }
  setup { name: "free" workers { workers: 1 } }
  hold { fraction: 0.5 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kAffinity = R"txt(
name: "affinity"
description: "SetAffinity narrows a cgroup's workers to half of the CPUs, then widens them again."
duration_s: 3
backdrop {
  cgroups { name: "pinned" workers { workers: 2 } }
  cgroups { name: "free" workers { workers: 1 } }
}
steps { name: "all-cpus" hold { fraction: 0.3 } }
steps {
  name: "narrow"
  ops { set_affinity { cgroup: "pinned" cpus { partition { index: 0 count: 2 } } } }
  hold { fraction: 0.4 }
}
steps {
  name: "wide"
  ops { set_affinity { cgroup: "pinned" cpus { range { from: 0 to: 1 } } } }
  hold { fraction: 0.3 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kPolicies = R"txt(
name: "policies"
description: "Workers of different nice values, then NORMAL against SCHED_BATCH."
duration_s: 3
steps {
  name: "nice"
  setup { name: "normal" workers { workers: 1 } }
  setup { name: "niced" workers { workers: 1 nice: 5 } }
  setup { name: "boosted" workers { workers: 1 nice: -5 } }
  hold { fraction: 0.5 }
}
steps {
  name: "batch"
  setup { name: "normal" workers { workers: 1 } }
  setup { name: "batch" workers { workers: 2 policy: BATCH } }
  hold { fraction: 0.5 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kSpawnStop = R"txt(
name: "spawn-stop"
description: "StopCgroup and Spawn on a backdrop cgroup, and a cgroup added by an op for one step."
duration_s: 3
backdrop {
  cgroups { name: "base" workers { workers: 1 } }
  cgroups { name: "pool" workers { workers: 2 } }
}
steps { name: "running" hold { fraction: 0.34 } }
steps {
  name: "respawn"
  ops { stop_cgroup: "pool" }
  ops { spawn { cgroup: "pool" workers { workers: 1 work: YIELD } } }
  ops { capture_cgroup_procs: "pool" }
  hold { fraction: 0.33 }
}
steps {
  name: "extra"
  ops { add_cgroup_def { name: "extra" workers { workers: 1 } } }
  hold { fraction: 0.33 }
}
checks { starvation: true }
)txt";

constexpr std::string_view kMemPolicy = R"txt(
name: "mem-policy"
description: "Page-touching workers under MPOL_BIND, MPOL_PREFERRED and MPOL_LOCAL on NUMA node 0."
duration_s: 3
steps {
  name: "policies"
  setup {
    name: "bound"
    cpuset { numa_node: 0 }
    workers {
      workers: 1
      work: PAGE_TOUCH
      page_touch_bytes: 4194304
      mem_policy { mode: MPOL_BIND nodes: 0 }
    }
  }
  setup {
    name: "preferred"
    cpuset { numa_node: 0 }
    workers {
      workers: 1
      work: PAGE_TOUCH
      page_touch_bytes: 4194304
      mem_policy { mode: MPOL_PREFERRED nodes: 0 }
    }
  }
  setup {
    name: "local"
    workers {
      workers: 1
      work: PAGE_TOUCH
      page_touch_bytes: 4194304
      mem_policy { mode: MPOL_LOCAL }
    }
  }
  hold { fraction: 1 }
}
checks { starvation: true isolation: true }
)txt";

constexpr std::array kCanned{
    CannedScenario{"steady", "spinning workers on every CPU, two steps", kSteady, 1},
    CannedScenario{"cpuset-split", "two cgroups on disjoint, then overlapping CPU partitions", kCpusetSplit,
                   2},
    CannedScenario{"cpuset-swap", "two cgroups swap their cpusets mid-scenario and back", kCpusetSwap, 2},
    CannedScenario{"freeze-thaw", "a cgroup frozen for a step, thawed in the next", kFreezeThaw, 1},
    CannedScenario{"task-moves", "MoveAllTasks from step to backdrop, backdrop to backdrop, step to step",
                   kTaskMoves, 1},
    CannedScenario{"nested", "parent/child cgroups with different cpu.weight", kNested, 1},
    CannedScenario{"loop-churn", "a loop hold swapping cpusets, adding, filling and removing a cgroup",
                   kLoopChurn, 2},
    CannedScenario{"mixed-work", "every work type: spin, yield, futex, mixed, page touch, fork/exit",
                   kMixedWork, 1},
    CannedScenario{"cpu-max", "a cpu.max throttled cgroup beside an unthrottled one", kCpuMax, 1},
    CannedScenario{"affinity", "SetAffinity narrows, then widens a cgroup's workers", kAffinity, 2},
    CannedScenario{"policies", "nice values, then NORMAL against SCHED_BATCH", kPolicies, 1},
    CannedScenario{"spawn-stop", "StopCgroup and Spawn in a backdrop cgroup, AddCgroupDef for a step",
                   kSpawnStop, 1},
    CannedScenario{"mem-policy", "page touching under MPOL_BIND, MPOL_PREFERRED and MPOL_LOCAL", kMemPolicy,
                   1},
};

}  // namespace

std::span<const CannedScenario> canned_scenarios() {
  return kCanned;
}

const CannedScenario* find_canned(std::string_view name) {
  const auto it = std::find_if(kCanned.begin(), kCanned.end(),
                               [&](const CannedScenario& canned) { return canned.name == name; });
  return it == kCanned.end() ? nullptr : &*it;
}

}  // namespace kstep::host
