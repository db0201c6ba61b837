#include "host/scenario/scenario_validator.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/cpuset_spec.hpp"
#include "host/scenario/cgroup_checks.hpp"
#include "host/scenario/op_checks.hpp"
#include "host/scenario/scenario_names.hpp"
#include "host/scenario/validation_context.hpp"

namespace kstep::host {
namespace {

// Longer than any VM test should run; also keeps seconds * 1e6 well inside
// the integer microseconds the guest converts durations to.
constexpr double kMaxSeconds = 24.0 * 3600.0;
// A loop re-applies its ops this often at most: shorter intervals only
// measure how fast the guest can make syscalls.
constexpr double kMinLoopInterval = 0.001;

bool positive_seconds(double value) {
  return std::isfinite(value) && value > 0.0 && value <= kMaxSeconds;
}

std::vector<unsigned> online_cpus(const wire::Topology& topology) {
  std::vector<unsigned> cpus;
  for (const auto& placement : topology.cpus()) {
    cpus.push_back(placement.cpu());
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

void check_header(const ValidationContext& ctx) {
  const auto& scenario = *ctx.scenario;
  Diagnostics& diag = *ctx.diag;
  if (!positive_seconds(scenario.duration_s())) {
    diag.add("duration_s", "duration_s must be above 0 and at most {} seconds, got {}", kMaxSeconds,
             scenario.duration_s());
  }
  if (scenario.steps_size() == 0) {
    diag.add("steps", "a scenario needs at least one step");
  }
  const auto& checks = scenario.checks();
  if (!(std::isfinite(checks.max_gap_ms()) && checks.max_gap_ms() >= 0.0)) {
    diag.add("checks.max_gap_ms", "max_gap_ms must be 0 (off) or a positive number of milliseconds, got {}",
             checks.max_gap_ms());
  }
  if (!(checks.max_spread() >= 0.0 && checks.max_spread() <= 1.0)) {
    diag.add("checks.max_spread", "max_spread must be within 0..1 (0: off), got {}", checks.max_spread());
  }
  // The map and field resolve only against the running scheduler's
  // catalog, on the host during the run; what can be checked now is.
  for (int i = 0; i < scenario.bpf_writes_size(); ++i) {
    const auto& write = scenario.bpf_writes(i);
    const std::string at = fmt::format("bpf_writes[{}]", i);
    if (write.map().empty()) {
      diag.add(at + ".map", "names no map (\"bss\" is the scheduler's .bss)");
    }
    if (write.field().empty()) {
      diag.add(at + ".field", "names no field (a global variable of the map)");
    }
    if (write.value().empty()) {
      diag.add(at + ".value", "has no value");
    }
  }
}

void check_payload_decls(const ValidationContext& ctx) {
  std::map<std::string, std::string, std::less<>> first;  // name -> path of its first declaration
  for (int i = 0; i < ctx.scenario->payloads_size(); ++i) {
    const auto& decl = ctx.scenario->payloads(i);
    const std::string path = fmt::format("payloads[{}]", i);
    if (decl.name().empty()) {
      ctx.diag->add(path + ".name", "a payload needs a name");
    } else if (const auto [it, fresh] = first.emplace(decl.name(), path); !fresh) {
      ctx.diag->add(path + ".name", "payload '{}' is declared twice: {} declares it first", decl.name(),
                    it->second);
    }
    if (!scenario::PayloadKind_IsValid(decl.kind())) {
      ctx.diag->add(path + ".kind", "unknown payload kind {}", static_cast<int>(decl.kind()));
    }
    for (int f = 0; f < decl.allowed_flags_size(); ++f) {
      const std::string& flag = decl.allowed_flags(f);
      if (flag.size() < 2 || flag.front() != '-' || flag.find('=') != std::string::npos) {
        ctx.diag->add(fmt::format("{}.allowed_flags[{}]", path, f),
                      "'{}' is not a flag: allowed_flags are like \"--cpu\" or \"-t\", without a value",
                      flag);
      }
    }
  }
}

void check_backdrop(const ValidationContext& ctx, ScenarioNames& names) {
  const auto& backdrop = ctx.scenario->backdrop();
  for (int i = 0; i < backdrop.cgroups_size(); ++i) {
    check_cgroup_def(ctx, names, Scope::backdrop, backdrop.cgroups(i),
                     fmt::format("backdrop.cgroups[{}]", i));
  }
  check_ops(ctx, names, Scope::backdrop, backdrop.ops(), "backdrop.ops");
}

// The hold's own values. Returns the seconds it holds (a loop: until the
// end), or nullopt when they are invalid.
std::optional<double> check_hold(const ValidationContext& ctx, const scenario::Step& step,
                                 const std::string& path) {
  Diagnostics& diag = *ctx.diag;
  const auto& hold = step.hold();
  switch (hold.kind_case()) {
    case scenario::Hold::kFraction:
      if (!(hold.fraction() > 0.0 && hold.fraction() <= 1.0)) {
        diag.add(path + ".fraction", "a hold fraction must be above 0 and at most 1, got {}",
                 hold.fraction());
        return std::nullopt;
      }
      return hold.fraction() * ctx.scenario->duration_s();
    case scenario::Hold::kSeconds:
      if (!positive_seconds(hold.seconds())) {
        diag.add(path + ".seconds", "hold seconds must be above 0 and at most {}, got {}", kMaxSeconds,
                 hold.seconds());
        return std::nullopt;
      }
      return hold.seconds();
    case scenario::Hold::kLoop:
      if (!(std::isfinite(hold.loop().interval_s()) && hold.loop().interval_s() >= kMinLoopInterval &&
            hold.loop().interval_s() <= kMaxSeconds)) {
        diag.add(path + ".loop.interval_s",
                 "a loop interval_s must be at least {} and at most {} seconds, got {}", kMinLoopInterval,
                 kMaxSeconds, hold.loop().interval_s());
      }
      if (step.ops_size() == 0) {
        diag.add(path + ".loop",
                 "a loop hold re-applies the step's ops every interval, and this step has none");
      }
      return ctx.scenario->duration_s();
    case scenario::Hold::KIND_NOT_SET: break;
  }
  diag.add(path, "a step needs a hold: fraction, seconds or loop");
  return std::nullopt;
}

// A loop applies its ops again and again: what the first round leaves
// behind (a cgroup added and not removed, a payload started and not
// waited for) must not break the second. Errors of the second round that
// the first did not have are reported with a note.
void check_loop_ops(const ValidationContext& ctx, ScenarioNames& names, const scenario::Step& step,
                    const std::string& path) {
  check_ops(ctx, names, Scope::step, step.ops(), path + ".ops");
  Diagnostics again = ctx.diag->fresh();
  ValidationContext second = ctx;
  second.diag = &again;
  check_ops(second, names, Scope::step, step.ops(), path + ".ops");
  ctx.diag->merge_new(again, " (when the loop applies the ops a second time)");
}

class StepWalk {
 public:
  StepWalk(const ValidationContext& ctx, ScenarioNames& names) : ctx_(ctx), names_(names) {}

  void check(int index) {
    const auto& step = ctx_.scenario->steps(index);
    const std::string path = fmt::format("steps[{}]", index);
    check_start(index, path);
    const auto held = check_hold(ctx_, step, path + ".hold");
    // The executor's order: a loop sets up once, then applies its ops every
    // interval; any other step applies its ops first (they may create the
    // parents its setup nests in), then its setup.
    if (step.hold().has_loop()) {
      check_setup(step, path);
      check_loop_ops(ctx_, names_, step, path);
      loop_at_ = path;
    } else {
      check_ops(ctx_, names_, Scope::step, step.ops(), path + ".ops");
      check_setup(step, path);
    }
    names_.end_step(path);
    if (held && elapsed_) {
      *elapsed_ += *held;
    } else {
      elapsed_.reset();  // an invalid hold: later start times are unknown
    }
  }

 private:
  void check_setup(const scenario::Step& step, const std::string& path) {
    for (int i = 0; i < step.setup_size(); ++i) {
      check_cgroup_def(ctx_, names_, Scope::step, step.setup(i), fmt::format("{}.setup[{}]", path, i));
    }
  }

  // Holds are clamped to what is left of duration_s: a step that starts
  // with nothing left would not hold at all.
  void check_start(int index, const std::string& path) {
    if (!loop_at_.empty()) {
      ctx_.diag->add(path, "never runs: the loop hold of {} lasts until the scenario ends", loop_at_);
      return;
    }
    const double duration = ctx_.scenario->duration_s();
    if (index > 0 && elapsed_ && positive_seconds(duration) && *elapsed_ >= duration * (1.0 - 1e-9)) {
      ctx_.diag->add(path, "never holds: the steps before it use up all of duration_s ({} s)", duration);
    }
  }

  const ValidationContext& ctx_;
  ScenarioNames& names_;
  std::optional<double> elapsed_ = 0.0;  // seconds the steps so far hold
  std::string loop_at_;                  // the loop step seen so far, if any
};

}  // namespace

void Diagnostics::add_message(std::string field, std::string message) {
  const int line = loaded_->line_of(field);
  errors_.push_back(ScenarioError{loaded_->origin, line, std::move(field), std::move(message)});
}

void Diagnostics::merge_new(const Diagnostics& other, std::string_view note) {
  for (const auto& error : other.errors_) {
    const bool known = std::any_of(errors_.begin(), errors_.end(), [&](const ScenarioError& mine) {
      return mine.field == error.field && mine.message == error.message;
    });
    if (!known) {
      errors_.push_back(error);
      errors_.back().message += note;
    }
  }
}

const scenario::PayloadDecl* ValidationContext::find_payload(std::string_view name) const {
  const auto& payloads = scenario->payloads();
  const auto it = std::find_if(payloads.begin(), payloads.end(),
                               [&](const scenario::PayloadDecl& d) { return d.name() == name; });
  return it == payloads.end() ? nullptr : &*it;
}

std::string join_or(const std::vector<std::string>& items, std::string_view none) {
  return items.empty() ? std::string{none} : fmt::format("{}", fmt::join(items, ", "));
}

std::string ScenarioError::describe() const {
  std::string where = origin;
  if (line > 0) {
    where += fmt::format(":{}", line);
  }
  if (field.empty()) {
    return fmt::format("{}: {}", where, message);
  }
  return fmt::format("{}: {}: {}", where, field, message);
}

std::string describe_errors(const std::vector<ScenarioError>& errors) {
  std::vector<std::string> lines;
  lines.reserve(errors.size());
  for (const auto& error : errors) {
    lines.push_back(error.describe());
  }
  return fmt::format("{}", fmt::join(lines, "\n"));
}

std::vector<ScenarioError> validate_scenario(const LoadedScenario& loaded, const wire::Topology& topology) {
  Diagnostics diag(loaded);
  ValidationContext ctx;
  ctx.scenario = &loaded.scenario;
  ctx.topology = &topology;
  ctx.diag = &diag;
  ctx.online_cpus = online_cpus(topology);
  ctx.numa_nodes = numa_nodes_of(ctx.online_cpus, topology);

  check_header(ctx);
  check_payload_decls(ctx);
  ScenarioNames names(ctx.online_cpus, ctx.numa_nodes);
  check_backdrop(ctx, names);
  StepWalk walk(ctx, names);
  for (int i = 0; i < loaded.scenario.steps_size(); ++i) {
    walk.check(i);
  }
  return std::move(diag).take();
}

}  // namespace kstep::host
