#include "host/cli/run_documents.hpp"

#include <unistd.h>

#include <array>
#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>
#include <spdlog/spdlog.h>

#include "common/sha256.hpp"
#include "host/results/failure_report.hpp"
#include "host/results/junit_report.hpp"
#include "host/results/result_document.hpp"
#include "host/session/run_directory.hpp"

namespace kstep::host {
namespace {

std::string rfc3339_utc(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  const auto length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string{text.data(), length};
}

std::string file_hash(const std::filesystem::path& path) {
  auto hash = sha256_file_hex(path);
  if (!hash) {
    spdlog::warn("{}", hash.error().message);
    return {};
  }
  return *hash;
}

void write_one(const std::filesystem::path& path, const Result<std::string>& text) {
  if (!text) {
    spdlog::warn("{}", text.error().message);
    return;
  }
  if (auto written = write_file_atomically(path, *text); !written) {
    spdlog::warn("{}", written.error().message);
  }
}

}  // namespace

result::RunMetadata start_metadata(std::chrono::system_clock::time_point started) {
  result::RunMetadata metadata;
  metadata.set_kstep_version(KSTEP_VERSION);
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) == 0) {
    metadata.set_host(host.data());
  }
  metadata.set_started_at(rfc3339_utc(started));
  return metadata;
}

void add_plan(result::RunMetadata& metadata, const ScenarioPlan& plan) {
  if (!plan.run) {
    return;
  }
  const auto& scenario = plan.run->scenario();
  metadata.set_scenario(scenario.name());
  std::string text;
  google::protobuf::TextFormat::PrintToString(scenario, &text);
  metadata.set_scenario_sha256(sha256_hex(text));
  if (plan.run->has_scheduler() && plan.scheduler_binary) {
    metadata.set_scheduler(plan.run->scheduler().name());
    metadata.set_scheduler_sha256(file_hash(*plan.scheduler_binary));
    *metadata.mutable_scheduler_args() = plan.run->scheduler().args();
  }
}

void add_kernel(result::RunMetadata& metadata, const RunKernel& kernel) {
  metadata.set_kernel_release(kernel.release);
  metadata.set_kernel_image(kernel.image.string());
  if (kernel.config) {
    metadata.set_kernel_config_sha256(file_hash(*kernel.config));
  }
}

void write_documents(const RunOptions& options, const result::RunResult& result,
                     const std::optional<std::filesystem::path>& run_dir) {
  const auto json = to_json(result);
  if (run_dir) {
    write_one(*run_dir / "result.json", json);
    if (result.has_failure_dump()) {
      write_one(*run_dir / "failure-dump.txt", render_failure_dump(result.failure_dump()));
    }
  }
  if (options.json) {
    write_one(*options.json, json);
  }
  if (options.junit) {
    write_one(*options.junit, render_junit(result));
  }
}

}  // namespace kstep::host
