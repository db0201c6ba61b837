#include "host/cli/cli_args.hpp"

#include <gtest/gtest.h>

namespace kstep::host {
namespace {

Result<CliArgs> parse(std::initializer_list<const char*> args) {
  std::vector<std::string> list;
  for (const char* arg : args) {
    list.emplace_back(arg);
  }
  return parse_cli(list);
}

TEST(HostCli, RunWithAllOptions) {
  auto cli = parse({"-v",       "run", "--kernel",  "7.3.4", "--kernel-config", "/k/config",
                    "--agent",  "/a",  "--smp",     "4",     "--memory",        "1G",
                    "--append", "a=1", "--append",  "b=2",   "--timeout",       "9",
                    "--accel",  "tcg", "--run-dir", "/r",    "--bisect",        "--console"});
  ASSERT_TRUE(cli) << cli.error().message;
  EXPECT_TRUE(cli->verbose);
  const auto& run = std::get<RunOptions>(cli->command);
  EXPECT_EQ(run.kernel, "7.3.4");
  EXPECT_EQ(run.kernel_config, std::filesystem::path{"/k/config"});
  EXPECT_EQ(run.agent, std::filesystem::path{"/a"});
  EXPECT_EQ(run.smp, 4U);
  EXPECT_EQ(run.memory_mib, 1024U);
  EXPECT_EQ(run.append, "a=1 b=2");
  EXPECT_EQ(run.timeout, std::chrono::seconds{9});
  EXPECT_EQ(run.accel, AccelChoice::kTcg);
  EXPECT_EQ(run.run_dir, std::filesystem::path{"/r"});
  EXPECT_TRUE(run.bisect);
  EXPECT_TRUE(run.console);
}

TEST(HostCli, RunDefaults) {
  auto cli = parse({"run"});
  ASSERT_TRUE(cli);
  const auto& run = std::get<RunOptions>(cli->command);
  EXPECT_FALSE(run.kernel);
  EXPECT_EQ(run.smp, 2U);
  EXPECT_EQ(run.memory_mib, 512U);
  EXPECT_EQ(run.accel, AccelChoice::kAuto);
  EXPECT_FALSE(run.bisect);
}

TEST(HostCli, ScenarioAndTopology) {
  auto cli = parse({"run", "--scenario", "cpuset-split", "--topology", "2,1,2,1,2"});
  ASSERT_TRUE(cli) << cli.error().message;
  const auto& run = std::get<RunOptions>(cli->command);
  EXPECT_EQ(run.scenario, "cpuset-split");
  ASSERT_TRUE(run.topology);
  EXPECT_EQ(run.topology->nodes, 2U);
  EXPECT_EQ(run.smp, 4U);
  auto contradiction = parse({"run", "--smp", "2", "--topology", "1,1,4,1"});
  ASSERT_FALSE(contradiction);
  EXPECT_EQ(contradiction.error().message, "--smp 2 contradicts --topology, which has 4 CPUs");
  auto bad = parse({"run", "--topology", "1,1"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--topology '1,1'"), std::string::npos);
  auto listing = parse({"scenarios"});
  ASSERT_TRUE(listing);
  EXPECT_TRUE(std::holds_alternative<ScenariosOptions>(listing->command));
}

TEST(HostCli, ErrorsNameTheArgument) {
  auto missing = parse({"run", "--smp"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "--smp needs a value");
  auto bad_number = parse({"run", "--smp", "two"});
  ASSERT_FALSE(bad_number);
  EXPECT_NE(bad_number.error().message.find("--smp: 'two'"), std::string::npos);
  auto zero = parse({"run", "--smp", "0"});
  EXPECT_FALSE(zero);
  auto tiny = parse({"run", "--memory", "64M"});
  ASSERT_FALSE(tiny);
  EXPECT_NE(tiny.error().message.find("at least 128M"), std::string::npos);
  auto unknown = parse({"run", "--frobnicate"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("--frobnicate"), std::string::npos);
  auto accel = parse({"run", "--accel", "hvf"});
  ASSERT_FALSE(accel);
  EXPECT_NE(accel.error().message.find("hvf"), std::string::npos);
  EXPECT_FALSE(parse({}));
  EXPECT_FALSE(parse({"launch"}));
}

TEST(HostCli, SchedulerAndItsArguments) {
  auto cli = parse({"run", "--scheduler", "kstep-sched", "--sched-arg", "--mode", "--sched-arg", "local",
                    "--attach-timeout", "5"});
  ASSERT_TRUE(cli) << cli.error().message;
  const auto& run = std::get<RunOptions>(cli->command);
  EXPECT_EQ(run.scheduler, "kstep-sched");
  EXPECT_EQ(run.sched_args, (std::vector<std::string>{"--mode", "local"}));
  EXPECT_EQ(run.attach_timeout, std::chrono::seconds{5});

  auto orphan = parse({"run", "--sched-arg", "x"});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().message, "--sched-arg needs --scheduler");
  auto handshake = parse({"run", "--scheduler", "s", "--scenario", "none"});
  ASSERT_FALSE(handshake);
  EXPECT_NE(handshake.error().message.find("--scheduler needs a scenario"), std::string::npos);
  auto zero = parse({"run", "--scheduler", "s", "--attach-timeout", "0"});
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("--attach-timeout"), std::string::npos);
}

TEST(HostCli, ResultFilesAndReport) {
  auto cli = parse({"run", "--json", "/r/a.json", "--junit", "/r/a.xml"});
  ASSERT_TRUE(cli) << cli.error().message;
  EXPECT_EQ(std::get<RunOptions>(cli->command).json, std::filesystem::path{"/r/a.json"});
  EXPECT_EQ(std::get<RunOptions>(cli->command).junit, std::filesystem::path{"/r/a.xml"});
  auto report = parse({"report", "/runs/latest"});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(std::get<ReportOptions>(report->command).run, std::filesystem::path{"/runs/latest"});
  EXPECT_FALSE(parse({"report"}));
  EXPECT_FALSE(parse({"report", "a", "b"}));
}

TEST(HostCli, KernelSubcommands) {
  auto list = parse({"kernel", "list"});
  ASSERT_TRUE(list);
  EXPECT_TRUE(std::holds_alternative<KernelListOptions>(list->command));
  auto fetch = parse({"kernel", "fetch", "--suite", "sid"});
  ASSERT_TRUE(fetch);
  EXPECT_EQ(std::get<KernelFetchOptions>(fetch->command).suites, std::vector<std::string>{"sid"});
  EXPECT_FALSE(parse({"kernel"}));
  EXPECT_FALSE(parse({"kernel", "build"}));
  EXPECT_FALSE(parse({"kernel", "list", "extra"}));
}

TEST(HostCli, BisectIsSeenEvenInABadCommandLine) {
  EXPECT_TRUE(mentions_bisect({"run", "--bisect", "--smp"}));
  EXPECT_FALSE(mentions_bisect({"run"}));
}

}  // namespace
}  // namespace kstep::host
