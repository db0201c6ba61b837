// Ops: the imperative stimulus of a step (or of the backdrop), applied in
// order against the ScenarioState. The first op that fails stops the list;
// its error names the op ("op 3 (set_cpuset): ...").
//
// Decisions worth knowing:
//  - move_all_tasks moves the executor's own pids of `from` (its workers and
//    payloads) and then whatever else cgroup.procs still lists (children a
//    payload forked), then hands ownership over as ScenarioState says.
//  - wait_payload waits at most until the scenario's deadline; a payload
//    that exits non-zero or on a signal is a PAYLOAD_FAILED detail, not a
//    step error: the run goes on.
//  - pin_bpf_map is a WARN Log, not an error: no op replaces the scheduler
//    during a scenario yet, so the pin (which keeps a map alive across a
//    scheduler swap) would change nothing observable.
#pragma once

#include <cstdint>
#include <string_view>

#include <google/protobuf/repeated_ptr_field.h>

#include "common/result.hpp"
#include "guest/executor/run_context.hpp"
#include "scenario.pb.h"

namespace kstep::guest {

using Ops = google::protobuf::RepeatedPtrField<scenario::Op>;

// The Op field name of `op`'s kind ("set_cpuset"), "unset" when none.
[[nodiscard]] std::string_view op_name(const scenario::Op& op);

// Bit n set when an op whose Op field number is n is in `ops`.
[[nodiscard]] std::uint64_t op_kind_bits(const Ops& ops);

[[nodiscard]] Result<void> apply_op(RunContext& run, const Phase& phase, const scenario::Op& op);
[[nodiscard]] Result<void> apply_ops(RunContext& run, const Phase& phase, const Ops& ops);

}  // namespace kstep::guest
