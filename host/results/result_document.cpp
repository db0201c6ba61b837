#include "host/results/result_document.hpp"

#include <fstream>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "host/results/failure_report.hpp"
#include "host/session/scenario_summary.hpp"

namespace kstep::host {

result::Verdict verdict_of(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::kPass: return result::PASS;
    case Outcome::kScenarioFailure:
    case Outcome::kKernelPanic:
    case Outcome::kGuestHang:
    case Outcome::kBootFailure:
    case Outcome::kSchedulerFailure: return result::FAIL;
    case Outcome::kProtocolError:
    case Outcome::kInfrastructureError:
    case Outcome::kInterrupted: return result::INCONCLUSIVE;
    case Outcome::kUsageError:
    case Outcome::kKernelUnsupported: return result::SKIP;
  }
  return result::INCONCLUSIVE;
}

result::RunResult assemble_result(const ResultInputs& inputs) {
  result::RunResult doc;
  doc.set_schema_version(kResultSchemaVersion);
  *doc.mutable_metadata() = inputs.metadata;
  doc.set_outcome(std::string{to_string(inputs.classification.outcome)});
  doc.set_exit_code(exit_code(inputs.classification.outcome));
  doc.set_reason(inputs.classification.reason);
  doc.set_verdict(verdict_of(inputs.classification.outcome));
  doc.set_run_dir(inputs.run_dir.string());
  doc.set_total_ms(static_cast<std::uint64_t>(inputs.total.count() / 1000));
  if (inputs.scenario == nullptr) {
    return doc;
  }
  const auto& scenario = inputs.scenario->run().scenario();
  const auto& record = inputs.scenario->record();
  for (auto& step : step_results(scenario, record)) {
    *doc.add_steps() = std::move(step);
  }
  if (record.end()) {
    *doc.mutable_details() = record.end()->details();
    *doc.mutable_backdrop() = record.end()->backdrop();
  }
  for (const auto& received : inputs.scenario->scheduler_events()) {
    *doc.add_scheduler_events() = received.event;
  }
  add_map_results(doc, inputs.scenario->maps(), inputs.run_dir, doc.verdict() == result::FAIL,
                  inputs.classification.reason);
  return doc;
}

Result<std::string> to_json(const result::RunResult& result) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  std::string json;
  if (const auto status = google::protobuf::util::MessageToJsonString(result, &json, options); !status.ok()) {
    return fail("cannot render the result as JSON: {}", status.ToString());
  }
  return json;
}

Result<result::RunResult> read_result(const std::filesystem::path& path) {
  const auto file = std::filesystem::is_directory(path) ? path / "result.json" : path;
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    return fail("cannot read {}: no such file (give a run directory or its result.json)", file.string());
  }
  std::stringstream text;
  text << in.rdbuf();
  result::RunResult doc;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a newer kstep may add fields
  if (const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &doc, options);
      !status.ok()) {
    return fail("{}: not a kstep result: {}", file.string(), status.ToString());
  }
  if (doc.schema_version() == 0 || doc.schema_version() > kResultSchemaVersion) {
    return fail("{}: result schema version {} (this kstep reads 1 to {})", file.string(),
                doc.schema_version(), kResultSchemaVersion);
  }
  return doc;
}

}  // namespace kstep::host
