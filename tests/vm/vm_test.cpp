// VM tests: the real kstep binary boots the real (cached) sched_ext kernel
// under QEMU. Each test checks an outcome class end to end, and that no QEMU
// outlives kstep.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/vm/vm_fixture.hpp"

namespace kstep::vmtest {
namespace {

using namespace std::chrono_literals;

TEST_F(Vm, BootsSaysHelloAndShutsDownCleanly) {
  const auto result = run({});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("guest: Linux "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("2 CPUs"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("sched_ext disabled"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("pass"), std::string::npos) << result.output;
  // Warnings and worse reach the console by default, the boot chatter not.
  const auto console = file("console.log");
  EXPECT_NE(console.find("reboot: Power down"), std::string::npos) << console;
  EXPECT_EQ(console.find("Linux version"), std::string::npos) << console;
}

TEST_F(Vm, AppendReachesTheKernelCommandLine) {
  const auto result = run({"--scenario", "none", "--append", "loglevel=8"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(file("console.log").find("Linux version"), std::string::npos);
}

TEST_F(Vm, TopologyOptionsReachTheGuest) {
  const auto result = run({"--scenario", "none", "--smp", "3", "--memory", "384M"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("3 CPUs"), std::string::npos) << result.output;
}

TEST_F(Vm, GarbageOnThePortIsAProtocolError) {
  const auto result = run({"--agent", agent("agent-garbage")});
  EXPECT_EQ(result.exit_code, 6) << result.output;
  EXPECT_NE(result.output.find("bad magic at byte offset 0"), std::string::npos) << result.output;
}

TEST_F(Vm, OldProtocolIsReportedAtHello) {
  const auto result = run({"--agent", agent("agent-old-protocol")});
  EXPECT_EQ(result.exit_code, 6) << result.output;
  EXPECT_NE(result.output.find("protocol version mismatch"), std::string::npos) << result.output;
}

TEST_F(Vm, PanickingGuestIsAKernelPanic) {
  const auto result = run({"--agent", agent("agent-panic")});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("Kernel panic - not syncing"), std::string::npos) << result.output;
  EXPECT_NE(file("console.log").find("Kernel panic - not syncing"), std::string::npos);
}

TEST_F(Vm, HungGuestIsKilledAtTheTimeout) {
  const auto result = run({"--agent", agent("agent-hang"), "--timeout", "4"});
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_NE(result.output.find("guest-hang"), std::string::npos) << result.output;
}

TEST_F(Vm, BisectMapsOutcomesToGitBisectCodes) {
  EXPECT_EQ(run({"--bisect", "--scenario", "none"}).exit_code, 0);
  EXPECT_EQ(run({"--bisect", "--agent", agent("agent-panic")}).exit_code, 1);
  EXPECT_EQ(run({"--bisect", "--agent", agent("agent-garbage")}).exit_code, 125);
}

TEST_F(Vm, CtrlCStopsTheVmAndLeavesNothingBehind) {
  const auto result = run({"--agent", agent("agent-hang"), "--timeout", "60"}, 4000ms);
  EXPECT_EQ(result.exit_code, 130) << result.output;
  EXPECT_NE(result.output.find("interrupted"), std::string::npos) << result.output;
}

TEST_F(Vm, MissingKernelIsAUsageError) {
  const auto result = run({"--kernel", "/nonexistent/bzImage"});
  EXPECT_EQ(result.exit_code, 64) << result.output;
  EXPECT_NE(result.output.find("/nonexistent/bzImage"), std::string::npos) << result.output;
}

TEST_F(Vm, KernelMissingRequiredOptionsIsRefusedNamingThem) {
  const auto config = run_dir_ / "bad.config";
  std::ofstream(config) << "CONFIG_VIRTIO_PCI=y\n# CONFIG_VIRTIO_CONSOLE is not set\nCONFIG_DEVTMPFS=m\n";
  const auto result = run({"--kernel-config", config.string()});
  EXPECT_EQ(result.exit_code, 64) << result.output;
  EXPECT_NE(result.output.find("VIRTIO_CONSOLE"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("DEVTMPFS"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace kstep::vmtest
