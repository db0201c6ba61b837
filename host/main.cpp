// kstep: the host CLI. Parses the command line, dispatches, and maps the
// outcome to the documented exit code. Nothing escapes main(): an
// unexpected exception is an infrastructure error with a message.
#include <cstdio>
#include <exception>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "host/cli/cli_args.hpp"
#include "host/cli/compare_command.hpp"
#include "host/cli/host_context.hpp"
#include "host/cli/kernel_commands.hpp"
#include "host/cli/report_command.hpp"
#include "host/cli/run_job.hpp"
#include "host/scenario/scenario_source.hpp"
#include "host/session/outcome.hpp"

namespace {

using kstep::host::Outcome;

void setup_logging(bool verbose) {
  auto logger = spdlog::stderr_color_mt("kstep");
  logger->set_pattern("%^[kstep %H:%M:%S.%e %l]%$ %v");
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

Outcome dispatch(const kstep::host::CliArgs& cli) {
  using namespace kstep::host;
  if (std::holds_alternative<HelpOptions>(cli.command)) {
    fmt::print("{}", usage_text());
    return Outcome::kPass;
  }
  if (std::holds_alternative<ScenariosOptions>(cli.command)) {
    fmt::print("{}", describe_canned_list());
    return Outcome::kPass;
  }
  if (std::holds_alternative<VersionOptions>(cli.command)) {
    fmt::print("kstep {}\n", KSTEP_VERSION);
    return Outcome::kPass;
  }
  if (const auto* report = std::get_if<ReportOptions>(&cli.command)) {
    return report_command(*report);
  }
  if (const auto* compare = std::get_if<CompareOptions>(&cli.command)) {
    return compare_command(*compare);
  }
  auto context = host_context_from_environment();
  if (!context) {
    spdlog::error("{}", context.error().message);
    return Outcome::kInfrastructureError;
  }
  if (const auto* run = std::get_if<RunOptions>(&cli.command)) {
    return run_job(*run, *context);
  }
  if (const auto* fetch = std::get_if<KernelFetchOptions>(&cli.command)) {
    return kernel_fetch_command(*fetch, *context);
  }
  return kernel_list_command(*context);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const bool bisect = kstep::host::mentions_bisect(args);
  auto to_exit_code = [bisect](Outcome outcome) {
    return bisect ? kstep::host::bisect_exit_code(outcome) : kstep::host::exit_code(outcome);
  };
  try {
    auto cli = kstep::host::parse_cli(args);
    setup_logging(cli && cli->verbose);
    if (!cli) {
      spdlog::error("{}", cli.error().message);
      fmt::print(stderr, "run `kstep help` for usage\n");
      return to_exit_code(Outcome::kUsageError);
    }
    return to_exit_code(dispatch(*cli));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "kstep: internal error: %s\n", error.what());
    return to_exit_code(Outcome::kInfrastructureError);
  }
}
