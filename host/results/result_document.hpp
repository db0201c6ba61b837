// The result document of a run (proto/result.proto): assembled once at the
// end of `kstep run` from what the session recorded, written as
// result.json in the run directory (and to --json FILE), read back by
// `kstep report`.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "host/session/classify.hpp"
#include "host/session/scenario_driver.hpp"
#include "result.pb.h"

namespace kstep::host {

inline constexpr std::uint32_t kResultSchemaVersion = 1;

struct ResultInputs {
  result::RunMetadata metadata;
  Classification classification;
  // Null for a run without a scenario (a handshake, a setup failure).
  const ScenarioDriver* scenario = nullptr;
  std::filesystem::path run_dir;
  std::chrono::microseconds total{};
};

[[nodiscard]] result::Verdict verdict_of(Outcome outcome) noexcept;

[[nodiscard]] result::RunResult assemble_result(const ResultInputs& inputs);

// Protobuf's JSON mapping, indented, field names in lowerCamelCase.
[[nodiscard]] Result<std::string> to_json(const result::RunResult& result);
// `path` is a result.json or a run directory holding one. Errors name the
// file and what is wrong with it.
[[nodiscard]] Result<result::RunResult> read_result(const std::filesystem::path& path);

}  // namespace kstep::host
