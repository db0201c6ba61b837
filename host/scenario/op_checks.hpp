// Checks of ops, in order, against the cgroups and payload runs live at each
// one. Internal to the scenario validator.
#pragma once

#include <string>

#include "host/scenario/scenario_names.hpp"
#include "host/scenario/validation_context.hpp"
#include "scenario.pb.h"

namespace kstep::host {

// `prefix` is the ops field's path ("steps[1].ops"); op i is prefix[i].
void check_ops(const ValidationContext& ctx, ScenarioNames& names, Scope scope,
               const google::protobuf::RepeatedPtrField<scenario::Op>& ops, const std::string& prefix);

}  // namespace kstep::host
