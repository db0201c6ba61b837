// Two result documents side by side: `kstep compare A B`.
//
// Pure: two RunResult in, a comparison model out, and that model rendered as
// text. Steps are matched by their number (a name that differs is said, not
// fatal); throughput deltas are B against A in percent; check details are
// matched by (kind, step, cgroup) as multisets, so a detail that happened
// twice in A and once in B shows one "only in A". Results of different
// scenarios can be compared (a kernel or scheduler A/B across scenarios is
// rarely meaningful, so the model carries a warning).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kstep.pb.h"
#include "result.pb.h"

namespace kstep::host {

// One step number as it appears in A and in B (either may lack it).
struct StepComparison {
  std::uint32_t step = 0;
  std::optional<result::StepResult> a;
  std::optional<result::StepResult> b;

  // Iterations per second of a step that completed with a known rate.
  [[nodiscard]] static std::optional<double> rate(const std::optional<result::StepResult>& side);
  // (B - A) / A in percent; nullopt unless both rates are known and A's is > 0.
  [[nodiscard]] std::optional<double> delta_percent() const;
  [[nodiscard]] bool name_differs() const { return a && b && a->name() != b->name(); }
};

// A (kind, step, cgroup) check detail that one side has more often than the
// other; `example` is one such detail of the side that has it.
struct DetailDifference {
  wire::Detail::Kind kind = wire::Detail::KIND_UNSPECIFIED;
  std::uint32_t step = 0;
  std::string cgroup;
  int extra = 0;  // how many more times this side has it
  wire::Detail example;
};

struct KindCount {
  wire::Detail::Kind kind = wire::Detail::KIND_UNSPECIFIED;
  int a = 0;
  int b = 0;
};

struct RunComparison {
  std::vector<std::string> warnings;  // different scenarios, a changed scenario text
  std::vector<StepComparison> steps;  // by step number, ascending
  std::vector<DetailDifference> only_in_a;
  std::vector<DetailDifference> only_in_b;
  std::vector<KindCount> kinds;  // every kind either side has, in enum order
  result::Verdict verdict_a = result::VERDICT_UNSPECIFIED;
  result::Verdict verdict_b = result::VERDICT_UNSPECIFIED;

  [[nodiscard]] bool verdict_changed() const { return verdict_a != verdict_b; }
};

[[nodiscard]] RunComparison compare_results(const result::RunResult& a, const result::RunResult& b);

// The header (both runs: scenario, kernel, scheduler, verdict), warnings, the
// per-step table, the check deltas and the verdict change. `label_a` and
// `label_b` name the inputs (the paths the user gave).
[[nodiscard]] std::string render_comparison(const result::RunResult& a, const result::RunResult& b,
                                            const RunComparison& comparison, const std::string& label_a,
                                            const std::string& label_b);

}  // namespace kstep::host
